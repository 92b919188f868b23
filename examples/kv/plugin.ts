/**
 * A KV plugin in TypeScript. Like go-plugin's example plugins it keeps each
 * key in a file `kv_<key>` in its working directory and says who wrote it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { serve } from '../../src/plugin/index.js';
import { handshake, kvPlugin, PLUGIN_NAME } from './shared.js';

await serve({
  handshake,
  plugins: {
    [PLUGIN_NAME]: kvPlugin({
      get: (key) => readFile(`kv_${key}`),
      put: (key, value) => writeFile(`kv_${key}`, `${Buffer.from(value).toString()}\n\nWritten from plugin-ts`),
    }),
  },
});
