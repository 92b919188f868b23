import { it } from 'node:test';
import assert from 'node:assert/strict';
import { diagnose } from './diagnose.js';

const exited = { code: 1, signal: null };

it('a missing module: in the sandbox, says what a Node plugin may read and what to do', () => {
  const stderrTail = ["Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'left-pad' imported from /srv/plugins/p/main.js"];
  const sandboxed = diagnose({ plugin: 'p', command: '/srv/plugins/p/main.js', exit: exited, stderrTail, sandboxed: true });
  assert.match(sandboxed, /the plugin could not load the module left-pad: in its sandbox a Node plugin reads its own directory and hst's own files, not the application's node_modules; bundle it \(hst build\), or install its dependencies beside its plugin\.yaml/);
  const plain = diagnose({ plugin: 'p', command: '/srv/plugins/p/main.js', exit: exited, stderrTail });
  assert.match(plain, /the plugin could not load the module left-pad; install its dependencies, or bundle it \(hst build\)/);
  assert.doesNotMatch(diagnose({ plugin: 'p', command: 'x', exit: exited, stderrTail: ['boom'] }), /could not load/);
});

it('an exit other than 126/127 is not blamed on the kind of file the command is', () => {
  const text = diagnose({ plugin: 'p', command: '/etc/hostname', exit: { code: 3, signal: null }, stderrTail: [] });
  assert.doesNotMatch(text, /not executable|chmod/);
  assert.match(text, /exited with code 3 before completing the handshake/);
});

it("a Python plugin without hst's SDK: says how to install it from this package", () => {
  const stderrTail = ['Traceback (most recent call last):', "ModuleNotFoundError: No module named 'hst_plugin'"];
  const text = diagnose({ plugin: 'p', command: '/srv/plugins/p/main.py', exit: exited, stderrTail });
  assert.match(text, /the plugin could not import hst_plugin: install hst's Python SDK for the python3 that runs plugins: pip install \/.*\/sdk\/python\n/);
  assert.doesNotMatch(diagnose({ plugin: 'p', command: 'x', exit: exited, stderrTail: ["ModuleNotFoundError: No module named 'yaml'"] }), /hst's Python SDK/);
});
