/** `hst inspect` through the real command line. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inTempDir, repo } from '../support/peers.js';
import { formatInspectReport, inspectPlugin } from '../../src/cli/inspect.js';

const hst = (...args: string[]) => spawnSync(join(repo, 'hst'), args, { encoding: 'utf8' });

it('shows the manifest, the effective capabilities under the operator policy, and the sandbox layers', () =>
  inTempDir(async (dir) => {
    const plugin = join(dir, 'lister');
    mkdirSync(plugin);
    writeFileSync(
      join(plugin, 'plugin.yaml'),
      [
        'name: lister',
        'version: 1.2.3',
        'description: lists files',
        'runtime: node',
        'command: main.js',
        'handshake:',
        '  magic_cookie_key: BASIC_PLUGIN',
        '  magic_cookie_value: hello',
        'capabilities: ["fs.read:src/**", "kv", "net:api.example.com:443"]',
        'commands:',
        '  - name: list',
        '    help: list a directory',
        'provides: [acme.files.v1.Lister]',
        'exports:',
        '  - { name: count, type: function, params: [{ name: dir, type: string }, { name: deep, type: bool, default: false }], returns: int }',
        '  - { name: paths, type: object, methods: [{ name: join, params: [{ name: parts, type: list }] }, normalize] }',
        '',
      ].join('\n'),
    );
    writeFileSync(join(plugin, 'main.js'), '');
    writeFileSync(join(dir, 'policy.yaml'), 'plugins:\n  lister:\n    allow: ["fs.read:src/**", "kv"]\n');
    const res = hst('inspect', plugin, '--policy', join(dir, 'policy.yaml'), '--json');
    assert.equal(res.status, 0, res.stderr);
    const report = JSON.parse(res.stdout);
    assert.equal(report.manifest.name, 'lister');
    assert.deepEqual(report.capabilities.declared, ['fs.read:src/**', 'kv', 'net:api.example.com:443']);
    assert.deepEqual(report.capabilities.effective, ['fs.read:src/**', 'kv'], 'the operator allow list did not narrow the grants');
    assert.equal(report.signature.status, 'not checked');
    assert.ok(report.sandbox.available.includes('empty environment'));
    assert.deepEqual(report.files, { via: 'openat' }, 'the host would reach workspace files through /proc: is dist/native/hst-fs.node built?');
    assert.deepEqual(report.connection, { reads: 'into place' }, 'the host would read its native transport as a stream: is dist/native/hst-fs.node built?');
    const human = hst('inspect', plugin);
    assert.match(human.stdout, /^lister 1\.2\.3 \(node\)/);
    assert.match(human.stdout, /effective +fs\.read:src\/\*\*, kv, net:api\.example\.com:443/);
    assert.match(human.stdout, /list +list a directory/);
    assert.match(human.stdout, /^ {2}files +workspace names opened with openat \(hst-fs addon\)$/m);
    assert.match(human.stdout, /^ {2}connection +native transport read into place \(socket pair from the hst-fs addon\)$/m);
    assert.match(human.stdout, /provides +acme\.files\.v1\.Lister/);
    assert.match(human.stdout, /exports +as plugin:lister\n +count\(dir: string, deep\?: bool = false\) -> int\n +paths\.join\(parts: list\)\n +paths\.normalize\(\.\.\.\)$/m);

    const missing = hst('inspect', dir);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no plugin\.yaml in /);
  }));

it('says when the host would take the slow way to workspace files and to the native transport, and why', () =>
  inTempDir(async (dir) => {
    writeFileSync(join(dir, 'plugin.yaml'), 'name: slow\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake: { magic_cookie_key: K, magic_cookie_value: v }\n');
    writeFileSync(join(dir, 'main.js'), '');
    const report = await inspectPlugin({ pluginDir: dir });
    const why = 'hst-fs.node was not built';
    const human = formatInspectReport({ ...report, files: { via: 'proc', problem: why }, connection: { reads: 'as a stream', problem: why } });
    assert.match(human, new RegExp(`^ {2}files +workspace names opened through /proc/self/fd, slower: ${why}$`, 'm'));
    assert.match(human, new RegExp(`^ {2}connection +native transport read as a stream, slower: ${why}$`, 'm'));
    assert.doesNotMatch(formatInspectReport({ ...report, connection: undefined }), /connection/, 'a plugin not run by Node has no native transport');
  }));
