/** `hst new` through the real command line: a Python plugin that `hst run` calls at once. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { inTempDir, pythonPeer, repo } from '../support/peers.js';

const py = pythonPeer();
const hst = (...args: string[]) => spawnSync(join(repo, 'hst'), args, { encoding: 'utf8' });

it('hst new makes a plugin that hst run calls immediately', { skip: 'skip' in py ? py.skip : false }, () =>
  inTempDir(async (dir) => {
    const made = hst('new', 'greeter', '--lang', 'python', '--dir', join(dir, 'plugins'));
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /created the Python plugin greeter/);
    const run = hst('--plugin-dir', join(dir, 'plugins'), '--data-dir', join(dir, 'data'), 'run', 'greeter', 'hello', 'name=Ada');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello, Ada\n');
    const again = hst('new', 'greeter', '--lang', 'python', '--dir', join(dir, 'plugins'));
    assert.equal(again.status, 2);
    assert.match(again.stderr, /exists/);
    const bad = hst('new', 'Bad_Name', '--lang', 'ts', '--dir', join(dir, 'plugins'));
    assert.equal(bad.status, 2);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  }));

it('hst new --list shows each template and what it needs; without --lang it says where to look', () => {
  const list = hst('new', '--list');
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['ts', 'go', 'python']);
  assert.match(list.stdout, /^python +Python: .*pip install -r sdk\/python\/requirements\.txt$/m);
  const noLang = hst('new', 'x');
  assert.equal(noLang.status, 1);
  assert.match(noLang.stderr, /required option '--lang <lang>' not specified \(hst new --list shows the templates\)/);
});
