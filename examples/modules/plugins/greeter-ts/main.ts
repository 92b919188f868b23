/**
 * greeter-ts: a plugin as a JavaScript module. The application imports it
 * (`import greeter from 'plugin:greeter-ts'`) and calls its exports as if
 * they were local, async functions; values cross as JSON.
 */
import { serve } from 'hst/plugin';

const LANGUAGE = 'TypeScript';

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  exports: {
    greet: (name: string) => `hello, ${name}, from ${LANGUAGE}`,
    phrases: {
      hello: (name: string) => ({ text: `hello, ${name}`, language: LANGUAGE }),
      goodbye: (name: string) => {
        if (!name) throw new Error('goodbye to whom? give a name');
        return { text: `goodbye, ${name}`, language: LANGUAGE };
      },
      languages: () => [LANGUAGE],
    },
  },
});
