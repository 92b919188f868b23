/**
 * The benchmark's TypeScript plugin: Bench served through hst's serve(),
 * written the way a plugin author writes one (importing the package index).
 */
import { serve } from '../src/plugin/index.js';
import { handshake, PLUGIN_NAME } from './contract.js';
import { drive } from './drive.js';
import { BenchDefinition } from './gen/hst/bench/v1/bench.js';

/** Set once serve() has answered, which it does before any call can arrive (it resolves right after printing the handshake). */
let tls = false;

const serving = await serve({
  handshake,
  plugins: {
    [PLUGIN_NAME]: {
      server(registrar) {
        registrar.addService(BenchDefinition, {
          echo: ({ payload }) => ({ payload }),
          info: () => ({ language: 'typescript', runtime: `node ${process.version}`, pid: process.pid, tls }),
          drive: (request) => drive(request),
        });
      },
    },
  },
});

// Our handshake carries a certificate exactly when serve() set up AutoMTLS and serves over TLS (this plugin
// configures no TLS of its own). On hst's native transport it carries none, even with the host's certificate
// in our environment: the socket pair has no TLS.
tls = (serving.handshakeLine.split('|')[5] ?? '') !== '';
