/**
 * The scripted demo end to end, through the built `./hst`: every section
 * runs and passes, and nothing it started is left running. In CI the Go and
 * Python plugins must take part; elsewhere they may be shown as unavailable.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pluginProcesses } from '../../src/cli/plugin-processes.js';
import { repo } from '../support/peers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-demo-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const SECTIONS = [
  '== Preparing',
  "== 1. Every plugin's commands",
  '== 2. Several plugins calling the shared host services at once',
  '== 3. A refused operation and its audit record',
  '== 4. A plugin killed with SIGKILL and restarted',
  '== 5. A host service the application adds, called from three languages',
  '== 6. Plugins imported as JavaScript modules',
  '== 7. Shutdown',
];

/** The demo's data directory is made under TMPDIR: here, so what it leaves behind is ours to see. */
function demo(...args: string[]) {
  return spawnSync(join(repo, 'hst'), args, { encoding: 'utf8', env: { ...process.env, TMPDIR: scratch }, timeout: 120_000 });
}

/** Plugin processes of the demo's that outlived it: the demo's data directory is under `scratch`. */
function leftovers(pluginsDir: string) {
  return pluginProcesses([pluginsDir], scratch);
}

it('hst --no-tui runs every section of the demo, passes, and leaves nothing running', () => {
  const res = demo('--no-tui');
  assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
  const out = res.stdout;
  let at = 0;
  for (const section of SECTIONS) {
    const found = out.indexOf(`\n${section}\n`, at);
    assert.ok(found > at, `section "${section}" missing or out of order:\n${out}`);
    at = found;
  }
  assert.doesNotMatch(out, /FAIL/);
  assert.match(out, /every step passed\n$/);
  assert.doesNotMatch(out, /\u001b\[/, 'no colours when stdout is not a terminal');

  // 1: each plugin's commands, or its reason for not running.
  for (const [plugin, commands] of Object.entries({
    filelister: ['list', 'save', 'head', 'cat'],
    colorlister: ['list', 'tree', 'stats', 'tempdemo', 'scan'],
    hostdemo: ['all', 'env', 'system', 'temp', 'processes', 'kv', 'events', 'http', 'log'],
    golister: ['list', 'save'],
    pylelister: ['list', 'save'],
  })) {
    const block = new RegExp(`\\n   ${plugin} 0\\.1\\.0 \\(.*pid \\d+.*\\)\\n((?:   ok .*\\n)+)`).exec(out);
    const unavailable = new RegExp(`\\n   ${plugin}  unavailable: .+`).test(out);
    if (unavailable && !process.env.CI && (plugin === 'golister' || plugin === 'pylelister')) continue;
    assert.ok(block, `${plugin} did not run its commands${unavailable ? ' (unavailable; in CI Go and Python must be installed)' : ''}:\n${out}`);
    assert.deepEqual(
      [...(block[1] as string).matchAll(/^ {3}ok {4}(\S+)/gm)].map((m) => m[1]),
      commands,
    );
  }
  assert.match(out, /ok +http .*operations: 1, failed=0/, 'hostdemo fetched from the demo host');

  // 2: the concurrent calls, each shown as it finished, and the summary.
  const calls = [...out.matchAll(/^ {3}\+ *\d+ ms {2}(\w+) +(\w+) #(\d+) +ok /gm)];
  const plugins = new Set(calls.map((m) => m[1]));
  assert.ok(plugins.size >= 3, `calls from ${[...plugins].join(', ')}`);
  const order = calls.map((m) => m[1]);
  const interleaved = [...plugins].some((p) => order.slice(order.indexOf(p), order.lastIndexOf(p)).some((q) => q !== p));
  assert.ok(interleaved, `the calls of different plugins interleave: ${order.join(' ')}`);
  const summary = /(\d+) calls in \d+ ms, 0 errors, p50 [\d.]+ ms, p99 [\d.]+ ms; every call audited/.exec(out);
  assert.ok(summary, out);
  assert.equal(Number(summary[1]), calls.length);

  // 3: the refusal and its audit record.
  assert.match(out, /exit code 1: PERMISSION_DENIED: .*Filesystem\/WriteFile stolen\.txt: denied by default deny/);
  const record = /^ {3}(\{"time".*"decision":"deny".*\})$/m.exec(out);
  assert.ok(record, out);
  const audited = JSON.parse(record[1] as string) as Record<string, unknown>;
  assert.deepEqual([audited.plugin, audited.op, audited.capability, audited.resource, audited.rule], ['filelister', 'Filesystem/WriteFile', 'fs.write', 'stolen.txt', 'default deny']);

  // 4: a new process after the kill, and a command that works on it.
  const restart = /restarted: pid (\d+) -> (\d+) \(restarts: 1\)/.exec(out);
  assert.ok(restart, out);
  assert.notEqual(restart[1], restart[2]);
  assert.match(out, /ok +filelister list works again: path=\., entries: \d+/);

  // 5: the application's Notes service from each language: a write, a read of another's note, one refusal.
  for (const lang of ['ts', 'go', 'py']) {
    const unavailable = new RegExp(`\\n   notes-${lang}  unavailable: .+`).test(out);
    if (unavailable && !process.env.CI && lang !== 'ts') continue;
    assert.match(out, new RegExp(`ok {4}notes-${lang} +put shared/notes-${lang}/todo -> revision=1`), out);
    assert.match(out, new RegExp(`ok {4}notes-${lang} +get shared/notes-\\w+/todo -> .*writtenBy=notes-(?!${lang})`), out);
  }
  assert.match(out, /ok {4}notes-\w+ +put shared\/notes-\w+\/todo refused: .*denied by default deny; audited \(notes\.write shared\/notes-\w+\/todo: default deny\)/);

  // 6: the greeter imported as a module from each language: its function, a method, and a failure as an exception.
  for (const [lang, language] of [['ts', 'TypeScript'], ['go', 'Go'], ['py', 'Python']]) {
    const unavailable = new RegExp(`\\n   greeter-${lang}  unavailable: .+`).test(out);
    if (unavailable && !process.env.CI && lang !== 'ts') continue;
    assert.match(out, new RegExp(`ok {4}import \\.\\.\\. from 'plugin:greeter-${lang}' .*greet\\('Ada'\\) -> "hello, Ada, from ${language}"; .*phrases\\.goodbye\\(''\\) threw: plugin:greeter-${lang} phrases\\.goodbye: goodbye to whom\\? give a name`), out);
  }

  // 7: nothing left behind: no plugin process, and the demo's data directory is gone after a pass.
  assert.match(out, /ok +none of the \d+ plugin processes started is left/);
  assert.deepEqual(leftovers(join(repo, 'plugins')), []);
  assert.deepEqual(leftovers(join(repo, 'examples', 'notes', 'plugins')), []);
  assert.deepEqual(leftovers(join(repo, 'examples', 'modules', 'plugins')), []);
  assert.deepEqual(readdirSync(scratch).filter((d) => d.startsWith('hst-demo-')), [], 'the scratch data directory was removed');
});

it('hst with stdout not a terminal says so and runs the demo', () => {
  const res = demo();
  assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
  assert.equal(res.stderr, 'stdout is not a terminal: running the scripted demo\n');
  assert.match(res.stdout, /^hst demo: /);
  assert.match(res.stdout, /every step passed\n$/);
  assert.deepEqual(leftovers(join(repo, 'plugins')), []);
});
