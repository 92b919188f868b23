/**
 * A host killed while its plugin is still starting: before the plugin has
 * loaded, while it loads, around its handshake. Whenever it happens, the
 * plugin (TypeScript on serve(), Python on the SDK) must not outlive it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { until } from '../support/assertions.js';
import { alive, dist, nodePlugin, pythonPeer, repo } from '../support/peers.js';

/** Starts one plugin with PluginClient (no sandbox, so no watchdog but the plugin's own) and prints its pid as soon as it has one. */
const HOST = `
const { PluginClient } = await import(process.argv[1]);
const [path, ...args] = JSON.parse(process.argv[2]);
const client = new PluginClient({ handshake: { protocolVersion: 1, magicCookieKey: 'BASIC_PLUGIN', magicCookieValue: 'hello' }, plugins: {}, command: { path, args } });
client.start().catch(() => {});
const poll = setInterval(() => {
  if (client.pid === undefined) return;
  clearInterval(poll);
  console.log(client.pid);
}, 1);
setInterval(() => {}, 60_000);
`;

/** Starts a host for `command`, kills it with SIGKILL `delayMs` after its plugin exists, and returns the plugin's pid. */
async function killHostWhileStarting(command: string[], delayMs: number): Promise<number> {
  const host = spawn(process.execPath, ['--input-type=module', '-e', HOST, join(dist, 'src', 'index.js'), JSON.stringify(command)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(host.stdout.setEncoding('utf8'), 'data')) as [string];
  const pid = Number(line.trim());
  assert.ok(pid > 0, `the host printed ${JSON.stringify(line)}`);
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  host.kill('SIGKILL');
  await once(host, 'exit');
  return pid;
}

/** Tries `tries` host kills, `batch` at a time, at delays spread over the start; returns the plugins that outlived their host. */
async function orphans(command: string[], tries: number, spreadMs: number, batch = 10): Promise<number[]> {
  const left: number[] = [];
  for (let first = 0; first < tries; first += batch) {
    const pids = await Promise.all(
      Array.from({ length: Math.min(batch, tries - first) }, (_, i) => killHostWhileStarting(command, Math.round(((first + i) / tries) * spreadMs))),
    );
    // A plugin looks for its host twice a second: give it that, and a loaded machine's slack.
    const gone = async (pid: number) => {
      await until(() => !alive(pid), `plugin ${pid} is gone`, 10_000).catch(() => left.push(pid));
    };
    await Promise.all(pids.map(gone));
  }
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return left;
}

describe('a plugin never outlives a host killed while it starts', () => {
  it('TypeScript: 50 host kills from spawn to past the handshake leave no plugin behind', { timeout: 170_000 }, async () => {
    const plugin = nodePlugin('kv-plugin');
    assert.deepEqual(await orphans([plugin.path, ...plugin.args], 50, 600), []);
  });

  const python = pythonPeer();
  it('Python: 20 host kills leave no plugin behind', { skip: 'skip' in python ? python.skip : false, timeout: 170_000 }, async () => {
    const exe = 'python' in python ? python.python : 'python3';
    assert.deepEqual(await orphans([exe, join(repo, 'interop', 'python', 'kv_plugin.py')], 20, 2_000), []);
  });
});
