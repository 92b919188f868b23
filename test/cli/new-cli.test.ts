/** `hst new` through the real command line: a plugin that `hst run` calls once `hst build` bundled it, and one that says what it lacks. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { inTempDir, pythonPeer, repo } from '../support/peers.js';

const py = pythonPeer();
const hst = (...args: string[]) => spawnSync(join(repo, 'hst'), args, { encoding: 'utf8' });

it('hst new makes a TypeScript plugin that hst build bundles (no npm install needed) and hst run calls', () =>
  inTempDir(async (dir) => {
    const made = hst('new', 'greeter', '--lang', 'ts', '--dir', join(dir, 'plugins'));
    assert.equal(made.status, 0, made.stderr);
    assert.match(made.stdout, /created the TypeScript plugin greeter/);
    const built = hst('build', join(dir, 'plugins', 'greeter'));
    assert.equal(built.status, 0, built.stderr);
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

it("a Python plugin run before its SDK is installed says how to install it", { skip: 'skip' in py ? py.skip : false }, () =>
  inTempDir(async (dir) => {
    const python = 'python' in py ? py.python : 'python3';
    const installed = spawnSync(python, ['-c', 'import hst_plugin']).status === 0;
    assert.equal(hst('new', 'snake', '--lang', 'python', '--dir', join(dir, 'plugins')).status, 0);
    const run = hst('--plugin-dir', join(dir, 'plugins'), '--data-dir', join(dir, 'data'), 'run', 'snake', 'hello');
    if (installed) {
      // This machine's python has the SDK already (pip install sdk/python): the plugin simply runs.
      assert.equal(run.stdout, 'hello, world\n', run.stderr);
    } else {
      assert.equal(run.status, 1);
      assert.match(run.stderr, /the plugin could not import hst_plugin: install hst's Python SDK for the python3 that runs plugins: pip install \/.*\/sdk\/python\n/);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    }
  }));

it('hst new --list shows each template and what it needs; without --lang it says where to look', () => {
  const list = hst('new', '--list');
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]), ['ts', 'go', 'python']);
  assert.match(list.stdout, /^python +Python: on hst's Python SDK \(hst_plugin\), pip-installed from this package; needs python3$/m);
  const noLang = hst('new', 'x');
  assert.equal(noLang.status, 1);
  assert.match(noLang.stderr, /required option '--lang <lang>' not specified \(hst new --list shows the templates\)/);
});
