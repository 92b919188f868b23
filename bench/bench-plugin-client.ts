/**
 * The TypeScript host's side of one bench plugin: hst's PluginClient, the
 * way an application starts a plugin, with the typed Bench client dispensed.
 */
import { PluginClient } from '../src/index.js';
import { benchClientPlugin, handshake, PLUGIN_NAME, type BenchClient } from './contract.js';
import type { PluginTarget } from './job.js';

export interface BenchPlugin {
  client: PluginClient;
  bench: BenchClient;
}

/** Fifty plugins starting at once on two cores take a while each. */
const START_TIMEOUT_MS = 60_000;

export async function startBenchPlugin(target: PluginTarget): Promise<BenchPlugin> {
  const [path, ...args] = target.command;
  if (!path) throw new Error('plugin target has an empty command');
  const client = new PluginClient({
    handshake,
    plugins: { [PLUGIN_NAME]: benchClientPlugin() },
    command: { path, args },
    autoMTLS: target.autoMTLS,
    // Our stdin carries the job; the plugin has no use for it.
    stdin: 'ignore',
    startTimeoutMs: START_TIMEOUT_MS,
  });
  try {
    return { client, bench: await client.dispense<BenchClient>(PLUGIN_NAME) };
  } catch (err) {
    await client.kill();
    throw err;
  }
}
