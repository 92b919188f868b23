/**
 * One line per plugin: serve host services to it on a broker id of its own
 * and tell it which id through hst.plugin.v1.HostConnection/Establish.
 * Everything it held is released when it exits or the connection is closed.
 */
import { HostConnectionDefinition } from '../gen/hst/plugin/v1/host_connection.js';
import type { PluginClient } from '../host/plugin-client.js';
import { Code, RpcError } from '../rpc/status.js';
import type { Caller, ExecSandboxProfile } from './caller.js';
import type { HostServices } from './host-services.js';

export interface HostServicesConnection {
  caller: Caller;
  /** Stops serving this plugin and releases what it held. Idempotent. */
  close(): Promise<void>;
}

export interface EstablishOptions {
  /** Host directory the plugin's paths resolve in. */
  workspace: string;
  /** Defaults to the client's name. */
  owner?: string;
  timeoutMs?: number;
  /** For a sandboxed plugin: run the programs it starts through Processes in this sandbox (see ExecSandboxProfile). */
  sandbox?: ExecSandboxProfile;
  /** A connection to the plugin's listener failed TLS: it could not prove to be the plugin (AutoMTLS only). */
  onRefusedConnection?: (reason: string) => void;
}

/**
 * Connects `plugin` to `hostServices`. Resolves undefined when the plugin does
 * not implement HostConnection (it simply gets no host services).
 */
export async function establishHostServices(
  plugin: PluginClient,
  hostServices: HostServices,
  options: EstablishOptions,
): Promise<HostServicesConnection | undefined> {
  const connection = await plugin.connect();
  const caller = hostServices.connect({ owner: options.owner ?? plugin.name, workspace: options.workspace });
  caller.setExecSandbox(options.sandbox);
  const broker = plugin.broker;
  const id = broker.nextId();
  // A listener of its own: whatever arrives on it is this plugin, whatever it claims.
  const server = await broker.acceptAndServe(id, (registrar) => hostServices.register(registrar, caller), {
    ...(options.onRefusedConnection ? { onRefusedConnection: options.onRefusedConnection } : {}),
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      plugin.off('exit', onExit);
      server.close();
      await hostServices.disconnect(caller);
    })());
  const onExit = () => void close();
  plugin.once('exit', onExit);

  try {
    await connection.client(HostConnectionDefinition).establish({ brokerId: id, clientId: caller.clientId }, { deadline: options.timeoutMs ?? 10_000 });
  } catch (err) {
    await close();
    if (err instanceof RpcError && err.code === Code.UNIMPLEMENTED) return undefined;
    throw err;
  }
  return { caller, close };
}
