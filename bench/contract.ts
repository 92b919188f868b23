/**
 * The benchmark's plugin contract, shared by its TypeScript host and plugin.
 * The Go host and plugin (interop/go/cmd/bench-host, bench-plugin) and the
 * Python plugin (bench/python/bench_plugin.py) use the same handshake and
 * plugin name; a mismatch fails the handshake, so it cannot go unnoticed.
 */
import type { GrpcPlugin, HandshakeConfig, Client } from '../src/plugin/index.js';
import { BenchDefinition } from './gen/hst/bench/v1/bench.js';

export const handshake: HandshakeConfig = {
  protocolVersion: 1,
  magicCookieKey: 'HST_BENCH_PLUGIN',
  magicCookieValue: 'b3f1c2d0-bench',
};

export const PLUGIN_NAME = 'bench';

export type BenchClient = Client<typeof BenchDefinition>;

/** Host side: dispense gives the typed Bench client itself, as the Go host's GRPCClient does. */
export function benchClientPlugin(): GrpcPlugin<BenchClient> {
  return { client: (connection) => connection.client(BenchDefinition) };
}
