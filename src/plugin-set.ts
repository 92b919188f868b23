/**
 * How a plugin contract is described, as in go-plugin: one object knows
 * both halves, the services a plugin registers and the client a host gets
 * from dispense, so host and plugin share one definition.
 */
import type { ClientConnection, ServiceRegistrar } from './rpc/definition.js';
import type { GrpcBroker } from './protocol/broker.js';

export interface GrpcPlugin<TClient = unknown> {
  /** Plugin side: register this plugin's services. */
  server?(registrar: ServiceRegistrar, broker: GrpcBroker): void | Promise<void>;
  /** Host side: what dispense returns, built on the plugin connection. */
  client?(connection: ClientConnection, broker: GrpcBroker): TClient;
}

export type PluginSet = Record<string, GrpcPlugin<any>>;

/** The handshake both sides must agree on before anything else. */
export interface HandshakeConfig {
  /** App protocol version of `plugins` (go-plugin's ProtocolVersion). */
  protocolVersion?: number;
  magicCookieKey: string;
  magicCookieValue: string;
}

/** Merges go-plugin's two ways of naming plugin sets into version -> set. */
export function versionedSets(
  handshake: HandshakeConfig,
  plugins: PluginSet | undefined,
  versioned: Record<number, PluginSet> | undefined,
): Map<number, PluginSet> {
  const sets = new Map<number, PluginSet>();
  for (const [v, set] of Object.entries(versioned ?? {})) sets.set(Number(v), set);
  // Neither given: the handshake's version with no plugins of go-plugin's kind (commands, host services, modules still work).
  if (plugins || !versioned) sets.set(handshake.protocolVersion ?? 1, plugins ?? {});
  return sets;
}
