/** kv-ts: state kept between calls, in the plugin's memory; a restart empties it. */
import { serve } from 'hst/plugin';

const entries = new Map<string, unknown>();

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  exports: {
    store: {
      set: (key: string, value: unknown) => {
        entries.set(key, value);
      },
      get: (key: string, fallback: unknown = null) => (entries.has(key) ? entries.get(key) : fallback),
      delete: (key: string) => entries.delete(key),
      keys: () => [...entries.keys()].sort(),
      size: () => entries.size,
    },
  },
});
