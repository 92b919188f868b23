/** Checks shared by the interop tests, whichever language the peer is in. */
import assert from 'node:assert/strict';
import type { PluginClient } from '../../src/index.js';
import type { MemoryLogger } from '../../src/log.js';
import { PLUGIN_NAME as COUNTER, type Counter } from '../../examples/bidirectional/shared.js';
import { PLUGIN_NAME as KV_NAME, type KV } from '../../examples/kv/shared.js';
import { alive } from './peers.js';

/** Two Puts and a Get: the plugin must ask our AddHelper, through the broker, for each sum. */
export async function checkCounterCallsBack(client: PluginClient): Promise<void> {
  const counter = await client.dispense<Counter>(COUNTER);
  const calls: number[][] = [];
  const helper = { sum: async (a: number, b: number) => (calls.push([a, b]), a + b) };
  await counter.put('n', 5, helper);
  await counter.put('n', 37, helper);
  assert.equal(await counter.get('n'), 42);
  assert.deepEqual(calls, [
    [0, 5],
    [5, 37],
  ]);
}

/** A Put and a Get through go-plugin's KV contract; the value says which plugin wrote it, and TLS is on exactly when asked. */
export async function checkKvRoundTrip(client: PluginClient, writtenBy: string, autoMTLS: boolean): Promise<void> {
  const kv = await client.dispense<KV>(KV_NAME);
  await kv.put('a', Buffer.from('from ts'));
  assert.equal(Buffer.from(await kv.get('a')).toString(), `from ts\n\nWritten from ${writtenBy}`);
  assert.equal(!!client.handshake?.certificate, autoMTLS);
  await client.ping();
}

/** kill() must end the plugin through Shutdown, within go-plugin's 2 s, leaving nothing behind. */
export async function killCleanly(client: PluginClient, logger: MemoryLogger): Promise<void> {
  const pid = client.pid as number;
  await client.kill();
  assert.equal(logger.find('plugin failed to exit gracefully'), undefined, 'Shutdown did not make the plugin exit within 2 s');
  assert.equal(alive(pid), false);
}
