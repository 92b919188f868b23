/**
 * A KV host, used like go-plugin's example host:
 *   KV_PLUGIN="<shell command>" examples/kv/host put KEY VALUE
 *   KV_PLUGIN="<shell command>" examples/kv/host get KEY
 * Without KV_PLUGIN it runs the TypeScript plugin beside it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginClient } from '../../src/host/index.js';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from './shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const shellCommand = process.env.KV_PLUGIN ?? join(here, '..', '..', '..', 'examples', 'kv', 'plugin');
const [op, key, value] = process.argv.slice(2);
if (!((op === 'get' && key && value === undefined) || (op === 'put' && key && value !== undefined))) {
  process.stderr.write('usage: host get KEY | host put KEY VALUE   (KV_PLUGIN="<command>" picks the plugin)\n');
  process.exit(2);
}

const client = new PluginClient({
  name: 'kv',
  handshake,
  plugins: { [PLUGIN_NAME]: kvPlugin() },
  command: { path: 'sh', args: ['-c', shellCommand] },
  autoMTLS: process.env.KV_AUTO_MTLS === '1',
});
try {
  const kv = await client.dispense<KV>(PLUGIN_NAME);
  if (op === 'get') process.stdout.write(`${Buffer.from(await kv.get(key)).toString()}\n`);
  else await kv.put(key, Buffer.from(value as string));
} catch (err) {
  process.stderr.write(`Error: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await client.kill();
}
