/**
 * A Counter plugin in TypeScript. It never adds by itself: every Put asks
 * the host's AddHelper, reached through the broker. Values persist in
 * `kv_<key>` files in the same JSON shape as go-plugin's example.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { serve } from '../../src/plugin/index.js';
import { counterPlugin, handshake, PLUGIN_NAME } from './shared.js';

async function load(key: string): Promise<number> {
  try {
    return Number(JSON.parse(await readFile(`kv_${key}`, 'utf8')).Value) || 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

await serve({
  handshake,
  plugins: {
    [PLUGIN_NAME]: counterPlugin({
      get: load,
      put: async (key, value, helper) => {
        const sum = await helper.sum(await load(key), value);
        await writeFile(`kv_${key}`, JSON.stringify({ Value: sum }));
      },
    }),
  },
});
