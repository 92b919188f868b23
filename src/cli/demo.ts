/**
 * The demo `hst` runs for now: the two classic go-plugin examples end to end,
 * with our TypeScript plugins, and with the Go and Python plugins where those
 * toolchains are installed (and a clear note where they are not).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginClient } from '../host/plugin-client.js';
import { MemoryLogger } from '../log.js';
import type { PluginCommand } from '../host/plugin-client.js';
import { handshake, kvPlugin, PLUGIN_NAME as KV_NAME, type KV } from '../../examples/kv/shared.js';
import { counterPlugin, PLUGIN_NAME as COUNTER_NAME, type Counter } from '../../examples/bidirectional/shared.js';
import { repoRoot } from './paths.js';

type Print = (line: string) => void;

interface DemoPlugin {
  label: string;
  kv?: PluginCommand;
  counter?: PluginCommand;
  missing?: string;
}

function goPlugins(print: Print): DemoPlugin {
  const label = 'Go (go-plugin)';
  if (spawnSync('go', ['version']).status !== 0) return { label, missing: 'Go is not installed; install Go to run the Go plugins' };
  print('building the Go plugins (interop/go/build.sh)…');
  const built = spawnSync('bash', [join(repoRoot, 'interop', 'go', 'build.sh')], { encoding: 'utf8' });
  if (built.status !== 0) return { label, missing: `the Go build failed:\n${built.stderr}` };
  const bin = join(repoRoot, 'interop', 'go', 'bin');
  return { label, kv: { path: join(bin, 'kv-plugin') }, counter: { path: join(bin, 'counter-plugin') } };
}

function pythonPlugins(): DemoPlugin {
  const label = 'Python (grpcio)';
  const check = spawnSync('python3', ['-c', 'import grpc, grpc_health, cryptography']);
  if (check.error) return { label, missing: 'python3 is not installed' };
  if (check.status !== 0) return { label, missing: 'Python packages are missing: pip install -r sdk/python/requirements.txt' };
  return { label, kv: { path: 'python3', args: [join(repoRoot, 'interop', 'python', 'kv_plugin.py')] } };
}

export async function runDemo(print: Print = (l) => process.stdout.write(`${l}\n`)): Promise<boolean> {
  const work = mkdtempSync(join(tmpdir(), 'hst-demo-'));
  const ts: DemoPlugin = {
    label: 'TypeScript (hst)',
    kv: { path: process.execPath, args: [join(repoRoot, 'dist', 'examples', 'kv', 'plugin.js')] },
    counter: { path: process.execPath, args: [join(repoRoot, 'dist', 'examples', 'bidirectional', 'plugin.js')] },
  };
  let ok = true;
  try {
    for (const plugin of [ts, goPlugins(print), pythonPlugins()]) {
      print(`\n== ${plugin.label}`);
      if (plugin.missing) {
        print(`   skipped: ${plugin.missing}`);
        continue;
      }
      for (const autoMTLS of [false, true]) {
        const tag = autoMTLS ? 'AutoMTLS' : 'plain';
        if (plugin.kv) ok = (await step(print, `KV (${tag})`, () => kvDemo({ ...plugin.kv!, cwd: work }, autoMTLS))) && ok;
        if (plugin.counter) ok = (await step(print, `Counter via broker (${tag})`, () => counterDemo({ ...plugin.counter!, cwd: work }, autoMTLS))) && ok;
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  print(ok ? '\nall demos passed' : '\nsome demos failed');
  return ok;
}

async function step(print: Print, title: string, fn: () => Promise<string>): Promise<boolean> {
  const started = performance.now();
  try {
    const detail = await fn();
    print(`   ok    ${title.padEnd(28)} ${detail}  (${Math.round(performance.now() - started)} ms)`);
    return true;
  } catch (err) {
    print(`   FAIL  ${title}: ${(err as Error).message}`);
    return false;
  }
}

async function kvDemo(command: PluginCommand, autoMTLS: boolean): Promise<string> {
  const client = new PluginClient({ name: 'kv', handshake, plugins: { [KV_NAME]: kvPlugin() }, command, autoMTLS, logger: new MemoryLogger(), stdin: 'ignore' });
  try {
    const kv = await client.dispense<KV>(KV_NAME);
    await kv.put('greeting', Buffer.from('hello'));
    const value = Buffer.from(await kv.get('greeting')).toString();
    return `get greeting -> ${JSON.stringify(value)}`;
  } finally {
    await client.kill();
  }
}

async function counterDemo(command: PluginCommand, autoMTLS: boolean): Promise<string> {
  const client = new PluginClient({ name: 'counter', handshake, plugins: { [COUNTER_NAME]: counterPlugin() }, command, autoMTLS, logger: new MemoryLogger(), stdin: 'ignore' });
  try {
    const counter = await client.dispense<Counter>(COUNTER_NAME);
    let calls = 0;
    const helper = { sum: async (a: number, b: number) => (calls++, a + b) };
    const key = `demo-${autoMTLS ? 'tls' : 'plain'}-${Date.now()}`;
    await counter.put(key, 5, helper);
    await counter.put(key, 37, helper);
    return `5 + 37 -> ${await counter.get(key)} (${calls} callbacks to the host)`;
  } finally {
    await client.kill();
  }
}
