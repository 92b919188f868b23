/**
 * The TUI end to end: the real `./hst` in a real terminal (tmux, on a
 * private server, 120x40), driven by keys and read back from the screen.
 * The menu comes up with the plugins running, a filelister command streams
 * its output, the concurrency demo ends with its summary, q exits 0 and no
 * plugin process is left. tmux is required in CI and skipped without it
 * elsewhere; in CI the Go and Python plugins must be running too.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pluginProcesses } from '../../src/cli/plugin-processes.js';
import { eventually } from '../support/assertions.js';
import { repo } from '../support/peers.js';

const inCI = !!process.env.CI;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && inCI) throw new Error('tmux is not installed; the TUI end-to-end test must run in CI (.ci/run installs it)');

const scratch = mkdtempSync(join(tmpdir(), 'hst-tui-e2e-'));
const dataDir = join(scratch, 'data');
const exitFile = join(scratch, 'exit');
/** A private tmux server, its socket in the scratch directory so it goes with it. */
const socket = join(scratch, 'tmux.sock');
after(async () => {
  if (hasTmux) {
    // A test that failed half way leaves hst running: Ctrl-C shuts it down as a user would.
    if (!existsSync(exitFile)) {
      press('C-c');
      await eventually(() => existsSync(exitFile), 20_000, 100);
    }
    tmux('kill-server');
  }
  await eventually(() => pluginProcesses([join(repo, 'plugins')], dataDir).length === 0, 10_000, 100);
  rmSync(scratch, { recursive: true, force: true });
});

function tmux(...args: string[]) {
  return spawnSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });
}

/** The screen as text; with `colours`, with its SGR codes. */
function screen(colours = false): string {
  return tmux('capture-pane', '-p', ...(colours ? ['-e'] : []), '-t', 'tui').stdout ?? '';
}

function press(...keys: string[]): void {
  tmux('send-keys', '-t', 'tui', ...keys);
}

async function shows(pattern: RegExp, what: string, ms = 20_000): Promise<string> {
  if (!(await eventually(() => pattern.test(screen()), ms, 100))) assert.fail(`${what}: the screen never showed ${pattern}:\n${screen()}`);
  return screen();
}

/** The header line: where the TUI is. */
async function at(crumbs: string): Promise<void> {
  await shows(new RegExp(`^ hst › ${crumbs} +\\?`, 'm'), `at ${crumbs}`);
}

it('runs in a terminal: the menu, a command, the concurrency demo, q; nothing left running', { skip: hasTmux ? false : 'tmux is not installed' }, async () => {
  const command = `cd ${repo} && ./hst --data-dir ${dataDir}; echo "exit=$?" > ${exitFile}`;
  const started = tmux('new-session', '-d', '-s', 'tui', '-x', '120', '-y', '40', command);
  assert.equal(started.status, 0, started.stderr);

  // Start-up builds the plugins first (Go takes a while on a cold cache), then the menu.
  const menu = await shows(/Run Concurrency Demo/, 'the main menu', 150_000);
  await shows(/File Lister +TypeScript +● running +pid \d+/, 'filelister running', 30_000);
  for (const row of [/Color Lister +TypeScript/, /Host Demo +TypeScript/, /Go Lister +Go/, /Python Lister +Python/]) assert.match(menu, row);
  if (inCI) await shows(/Go Lister +Go +● running[\s\S]*Python Lister +Python +● running/, 'in CI the Go and Python plugins run');
  assert.match(screen(true), /\u001b\[32m(?:\u001b\[\d+m)*● running/, 'running is green');
  assert.match(menu, /● \d running {2}✖ 0 failed {2}↻ 0 restarting {2}restarts 0 +log .*hst\.log/);

  // filelister cat: the plugin screen, the form with the sample path, the streamed output.
  press('j', 'Enter');
  await at('Main menu › File Lister');
  press('G', 'Enter');
  await at('Main menu › File Lister › cat');
  await shows(/path\* +\[notes\.txt +\]/, 'the form starts with the sample path');
  press('Enter');
  await at('Main menu › File Lister › cat › run');
  await shows(/Plugins see this workspace only through the host\.\n.*Every call is checked against plugin\.yaml/, 'the file, streamed');
  await shows(/✔ exit 0/, 'the command succeeded');

  // The concurrency demo, from the menu: every running plugin at once, then the summary.
  for (const crumbs of ['Main menu › File Lister › cat', 'Main menu › File Lister', 'Main menu']) {
    press('Escape');
    await at(crumbs);
  }
  press('G', 'k', 'k', 'k', 'k', 'Enter');
  await at('Main menu › Concurrency Demo');
  const done = await shows(/✔ \d+ calls in \d+ ms, 0 errors, p50 [\d.]+ ms, p99 [\d.]+ ms; every call audited/, 'the concurrency summary', 60_000);
  const lanes = [...done.matchAll(/^ (\w+) +(list|kv) +█+ 8\/8/gm)].map((m) => m[1]);
  assert.ok(lanes.length >= (inCI ? 5 : 3), `lanes: ${lanes.join(', ')}\n${done}`);
  assert.equal(Number(/✔ (\d+) calls in/.exec(done)?.[1]), lanes.length * 8, done);
  assert.doesNotMatch(screen(), /"level":|"msg":/, 'no log line on the screen');

  // q from the menu shuts down and exits 0; nothing of it is left.
  press('Escape');
  await at('Main menu');
  press('q');
  assert.ok(await eventually(() => existsSync(exitFile), 30_000, 100), `hst did not exit:\n${screen()}`);
  assert.equal(readFileSync(exitFile, 'utf8').trim(), 'exit=0');
  assert.deepEqual(pluginProcesses([join(repo, 'plugins')], dataDir), []);
  assert.ok(existsSync(join(dataDir, 'logs', 'hst.log')), 'the log went to its file');
});
