/**
 * Host services over real gRPC on a unix socket, without a plugin process:
 * what each domain's tests call through.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '../../src/log.js';
import type { Client, ServiceDefinition } from '../../src/rpc/definition.js';
import { GrpcJsConnection } from '../../src/rpc/grpc-js/client.js';
import { GrpcJsServer } from '../../src/rpc/grpc-js/server.js';
import { listenUnix } from '../../src/protocol/listener.js';
import { HostServices, type HostServicesOptions } from '../../src/host-services/host-services.js';
import type { Caller } from '../../src/host-services/caller.js';
import type { CallRecord } from '../../src/host-services/dispatch.js';

export interface Harness {
  hostServices: HostServices;
  /** Host path of the plugin's workspace. */
  workspace: string;
  dir: string;
  logger: MemoryLogger;
  records: CallRecord[];
  /** Connects one more plugin identity (its own listener), returning its clients. */
  plugin(owner: string, workspace?: string): Promise<PluginSide>;
  close(): Promise<void>;
}

export interface PluginSide {
  caller: Caller;
  client<D extends ServiceDefinition>(definition: D): Client<D>;
  /** Drops the connection and releases the caller, as a plugin exit does. */
  disconnect(): Promise<void>;
}

export async function hostHarness(options: Partial<HostServicesOptions> & Pick<HostServicesOptions, 'modules'>): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'hst-host-'));
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace);
  const logger = new MemoryLogger();
  const hostServices = new HostServices({ dataDir: join(dir, 'data'), tempDir: join(dir, 'temp'), logger, ...options });
  const records: CallRecord[] = [];
  hostServices.on('call', (r) => records.push(r));
  const sides: PluginSide[] = [];
  const harness: Harness = {
    hostServices,
    workspace,
    dir,
    logger,
    records,
    async plugin(owner, ws = workspace) {
      const caller = hostServices.connect({ owner, workspace: ws });
      const server = new GrpcJsServer();
      hostServices.register(server, caller);
      const listener = await listenUnix(dir);
      server.serve(listener.server);
      const connection = new GrpcJsConnection(listener.address);
      let gone = false;
      const side: PluginSide = {
        caller,
        client: (definition) => connection.client(definition),
        async disconnect() {
          if (gone) return;
          gone = true;
          connection.close();
          server.forceShutdown();
          listener.close();
          await hostServices.disconnect(caller);
        },
      };
      sides.push(side);
      return side;
    },
    async close() {
      for (const s of sides) await s.disconnect();
      await hostServices.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Runs `fn` on a fresh harness and closes it however `fn` ends: each test its own host. */
export async function withHarness<T>(options: Parameters<typeof hostHarness>[0], fn: (h: Harness) => Promise<T>): Promise<T> {
  const h = await hostHarness(options);
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}
