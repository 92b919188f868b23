/**
 * The benchmark's TypeScript plugin: Bench served through hst's serve(),
 * written the way a plugin author writes one (importing the package index).
 */
import { serve } from '../src/index.js';
import { ENV_CLIENT_CERT } from '../src/protocol/constants.js';
import { handshake, PLUGIN_NAME } from './contract.js';
import { drive } from './drive.js';
import { BenchDefinition } from './gen/hst/bench/v1/bench.js';

await serve({
  handshake,
  plugins: {
    [PLUGIN_NAME]: {
      server(registrar) {
        registrar.addService(BenchDefinition, {
          echo: ({ payload }) => ({ payload }),
          // serve() listens with TLS exactly when the host sent its certificate, so then every call arrived over TLS.
          info: () => ({ language: 'typescript', runtime: `node ${process.version}`, pid: process.pid, tls: !!process.env[ENV_CLIENT_CERT] }),
          drive: (request) => drive(request),
        });
      },
    },
  },
});
