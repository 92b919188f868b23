/**
 * The TUI's controller over the real example plugins (the TypeScript ones
 * are built by `npm run build`; Go and Python take part when built), with
 * nothing drawn: start-up, commands, capabilities, a crash, reset, shutdown.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '../../log.js';
import type { PluginStatus } from '../../manager/plugin-info.js';
import { eventually } from '../../../test/support/assertions.js';
import { repo } from '../../../test/support/peers.js';
import { failureText } from '../command-outcome.js';
import { pluginProcesses } from '../plugin-processes.js';
import { HostController } from './controller.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-tui-controller-'));
const dataDir = join(scratch, 'data');
const pluginDirs = [join(repo, 'plugins')];
const controller = new HostController({ pluginDirs, build: false, dataDir, logger: new MemoryLogger(), color: false });
/** Every status filelister was seen in, in order. */
const seen: PluginStatus[] = [];
controller.subscribe(() => {
  const status = controller.state().plugins.find((p) => p.name === 'filelister')?.status;
  if (status && status !== seen.at(-1)) seen.push(status);
});

before(() => controller.startUp());
after(async () => {
  await controller.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

const status = (name: string) => controller.state().plugins.find((p) => p.name === name)?.status;

describe('the TUI controller', () => {
  it('starts every plugin in a workspace seeded with the demo files', () => {
    const state = controller.state();
    assert.equal(state.phase, 'ready');
    assert.equal(status('filelister'), 'running');
    assert.equal(status('hostdemo'), 'running');
    assert.ok(state.progress.some((line) => line.startsWith(`a scratch workspace every plugin shares: ${join(dataDir, 'workspace')} (5 files)`)), state.progress.join('\n'));
    assert.ok(existsSync(join(dataDir, 'workspace', 'notes.txt')));
  });

  it("runs a command, handing over its output as it comes, with the demo's sample arguments", async () => {
    const output: string[] = [];
    const outcome = await controller.runCommand('filelister', 'cat', controller.sampleArgs('filelister', 'cat'), (event) => 'output' in event && output.push(event.output));
    assert.ok(outcome.ok, failureText(outcome));
    assert.match(output.join(''), /Plugins see this workspace only through the host/);
    assert.match(controller.sampleArgs('hostdemo', 'http').url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const http = await controller.runCommand('hostdemo', 'http', controller.sampleArgs('hostdemo', 'http'), () => undefined);
    assert.ok(http.ok, `the local page is fetched under the net grant the host made: ${failureText(http)}`);
  });

  it('revokes and grants capabilities, and the next call is decided by what is in effect', async () => {
    const row = (capability: string) => controller.capabilities('filelister').find((r) => r.capability === capability);
    assert.deepEqual(row('fs.read:**'), { capability: 'fs.read:**', declared: true, effective: true });
    controller.revoke('filelister', 'fs.read:**');
    assert.deepEqual(row('fs.read:**'), { capability: 'fs.read:**', declared: true, effective: false });
    assert.equal(controller.tryableCommands('filelister', 'fs.read:**')[0], 'list');
    const refused = await controller.runCommand('filelister', 'list', {}, () => undefined);
    assert.equal(refused.ok, false);
    assert.match(failureText(refused), /PERMISSION_DENIED: .*Filesystem\/ReadDir/);

    controller.grant('filelister', 'fs.read:**');
    assert.equal(row('fs.read:**')?.effective, true);
    const allowed = await controller.runCommand('filelister', 'list', {}, () => undefined);
    assert.ok(allowed.ok, failureText(allowed));

    controller.grant('filelister', 'net:127.0.0.1:9');
    assert.deepEqual(row('net:127.0.0.1:9'), { capability: 'net:127.0.0.1:9', declared: false, effective: true });
    assert.throws(() => controller.grant('filelister', 'teleport:*'), /"teleport:\*" is not a capability; expected one of fs\.read/);
  });

  it('offers to try the commands that use a capability first, and only commands it can run without arguments', () => {
    assert.equal(controller.tryableCommands('hostdemo', 'kv')[0], 'kv');
    assert.equal(controller.tryableCommands('hostdemo', 'process.spawn')[0], 'processes');
    assert.equal(controller.tryableCommands('hostdemo', 'net:127.0.0.1:80')[0], 'http');
    // filelister's head needs a path; the demo has a sample one, so it can be tried too.
    assert.deepEqual(controller.tryableCommands('filelister').toSorted(), ['cat', 'head', 'list', 'save']);
  });

  it('shows a killed plugin restarting, then running again, and keeps the error', async () => {
    seen.length = 0;
    controller.kill('filelister');
    assert.ok(await eventually(() => seen.includes('restarting') && status('filelister') === 'running', 10_000), `seen: ${seen.join(' -> ')}`);
    assert.deepEqual(seen.slice(seen.indexOf('restarting')), ['restarting', 'running']);
    assert.match(controller.state().lastError ?? '', /^filelister: the plugin process was killed by SIGKILL/);
    assert.equal(controller.state().plugins.find((p) => p.name === 'filelister')?.restarts, 1);
  });

  it('resets: a fresh workspace, no KV data, grants undone, every plugin started again', async () => {
    const kv = await controller.runCommand('hostdemo', 'kv', {}, () => undefined);
    assert.ok(kv.ok, failureText(kv));
    assert.ok(existsSync(join(dataDir, 'kv.sqlite')));
    writeFileSync(join(dataDir, 'workspace', 'mine.txt'), 'not a demo file');
    controller.revoke('filelister', 'fs.read:**');

    await controller.reset();
    const state = controller.state();
    assert.equal(state.phase, 'ready');
    assert.equal(state.lastError, undefined);
    assert.equal(status('filelister'), 'running');
    assert.equal(existsSync(join(dataDir, 'workspace', 'mine.txt')), false);
    assert.ok(existsSync(join(dataDir, 'workspace', 'README.md')));
    assert.equal(existsSync(join(dataDir, 'kv.sqlite')), false);
    assert.equal(controller.capabilities('filelister').find((r) => r.capability === 'fs.read:**')?.effective, true);
    assert.equal(state.plugins.find((p) => p.name === 'filelister')?.restarts, 0);
  });

  it('shuts down leaving no plugin process, and says so', async () => {
    const pids = controller.state().plugins.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
    assert.ok(pids.length >= 3);
    assert.equal(await controller.shutdown(), true);
    assert.equal(controller.state().phase, 'stopped');
    assert.deepEqual(pluginProcesses(pluginDirs, dataDir), []);
    assert.equal(await controller.shutdown(), true, 'a second shutdown is the first one');
    assert.throws(() => controller.capabilities('filelister'), /the host is stopped/);
  });
});
