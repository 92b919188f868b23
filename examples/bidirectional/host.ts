/**
 * A Counter host, used like go-plugin's bidirectional example:
 *   COUNTER_PLUGIN="<shell command>" examples/bidirectional/host put KEY N
 *   COUNTER_PLUGIN="<shell command>" examples/bidirectional/host get KEY
 * The host does the additions the plugin asks for over the broker.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginClient } from '../../src/host/index.js';
import { counterPlugin, handshake, PLUGIN_NAME, type Counter } from './shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const shellCommand = process.env.COUNTER_PLUGIN ?? join(here, '..', '..', '..', 'examples', 'bidirectional', 'plugin');
const [op, key, value] = process.argv.slice(2);
const valid = (op === 'get' && key && value === undefined) || (op === 'put' && key && /^-?\d+$/.test(value ?? ''));
if (!valid) {
  process.stderr.write('usage: host get KEY | host put KEY N   (COUNTER_PLUGIN="<command>" picks the plugin)\n');
  process.exit(2);
}

const client = new PluginClient({
  name: 'counter',
  handshake,
  plugins: { [PLUGIN_NAME]: counterPlugin() },
  command: { path: 'sh', args: ['-c', shellCommand] },
  autoMTLS: process.env.COUNTER_AUTO_MTLS === '1',
});
try {
  const counter = await client.dispense<Counter>(PLUGIN_NAME);
  if (op === 'get') process.stdout.write(`${await counter.get(key)}\n`);
  else await counter.put(key, Number(value), { sum: async (a, b) => a + b });
} catch (err) {
  process.stderr.write(`Error: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await client.kill();
}
