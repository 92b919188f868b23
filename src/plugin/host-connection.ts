/**
 * The plugin side of host services. serve() registers HostConnection for
 * every plugin, so authors implement nothing: when the host calls Establish,
 * we dial the broker id it names, and `hostConnection()` resolves to that
 * one connection for the life of the plugin (no reconnects, no leaks).
 */
import { HostConnectionDefinition } from '../gen/hst/plugin/v1/host_connection.js';
import type { GrpcBroker } from '../protocol/broker.js';
import type { ClientConnection, ServiceRegistrar } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';

export interface EstablishedHost {
  connection: ClientConnection;
  /** The host's id for this plugin instance. */
  clientId: string;
}

let resolveEstablished!: (host: EstablishedHost) => void;
const established = new Promise<EstablishedHost>((resolve) => (resolveEstablished = resolve));
let current: EstablishedHost | undefined;

/** Adds HostConnection to a plugin's server; serve() does this for you. */
export function registerHostConnection(registrar: ServiceRegistrar, broker: GrpcBroker): void {
  registrar.addService(HostConnectionDefinition, {
    establish: async ({ brokerId, clientId }) => {
      if (current) throw new RpcError(Code.ALREADY_EXISTS, 'host services are already established for this plugin');
      const connection = await broker.dial(brokerId);
      current = { connection, clientId };
      resolveEstablished(current);
      return {};
    },
  });
}

/**
 * The connection to the host's services, once the host has established it.
 * Rejects after `timeoutMs` when the host never does (a host without host services).
 */
export function hostConnection(timeoutMs = 10_000): Promise<EstablishedHost> {
  if (current) return Promise.resolve(current);
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    established,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RpcError(Code.UNAVAILABLE, `the host did not establish host services within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Closes the host connection at shutdown. */
export function closeHostConnection(): void {
  current?.connection.close();
}
