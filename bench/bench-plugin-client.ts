/**
 * The TypeScript host's side of one bench plugin: hst's PluginClient, the
 * way an application starts a plugin, with the typed Bench client dispensed.
 * Every start is held to the transport its side measures.
 */
import { PluginClient } from '../src/host/index.js';
import { ENV_TRANSPORT } from '../src/protocol/constants.js';
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
    ...(target.native !== undefined ? { native: target.native } : {}),
    // Our stdin carries the job; the plugin has no use for it.
    stdin: 'ignore',
    startTimeoutMs: START_TIMEOUT_MS,
  });
  try {
    const bench = await client.dispense<BenchClient>(PLUGIN_NAME);
    checkProtocol(target, client.handshake?.protocol);
    return { client, bench };
  } catch (err) {
    await client.kill();
    throw err;
  }
}

/** A plugin on the other transport would have its figures filed under the wrong side: refuse it. */
function checkProtocol(target: PluginTarget, protocol: string | undefined): void {
  if (protocol === target.protocol) return;
  const override = process.env[ENV_TRANSPORT] ? ` (${ENV_TRANSPORT}=${process.env[ENV_TRANSPORT]} is set)` : '';
  throw new Error(`${target.command.join(' ')} came up on protocol ${protocol ?? '(none)'}, but this side measures ${target.protocol}${override}`);
}
