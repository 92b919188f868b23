/**
 * Host services over a real connection, without a plugin process: what each
 * domain's tests call through. The connection is the transport under test
 * (native by default, gRPC with HST_TRANSPORT=grpc).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '../../src/log.js';
import type { Client, ClientConnection, ServiceDefinition, ServiceRegistrar } from '../../src/rpc/definition.js';
import { openSession, sessionChannels } from '../../src/rpc/native/transport.js';
import { http2Transport } from '../../src/rpc/http2/transport.js';
import { listenUnix } from '../../src/protocol/listener.js';
import { HostServices, type HostServicesOptions } from '../../src/host-services/host-services.js';
import type { Caller } from '../../src/host-services/caller.js';
import type { CallRecord } from '../../src/host-services/dispatch.js';
import { connectedSockets, transportUnderTest } from './peers.js';

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
      const { connection, close } = await (transportUnderTest === 'native' ? nativeLink : grpcLink)(dir, (r) => hostServices.register(r, caller));
      let gone = false;
      const side: PluginSide = {
        caller,
        client: (definition) => connection.client(definition),
        async disconnect() {
          if (gone) return;
          gone = true;
          close();
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

interface Link {
  connection: ClientConnection;
  close(): void;
}

/** The plugin's connection to a listener of its own, as on go-plugin's gRPC. */
async function grpcLink(dir: string, register: (r: ServiceRegistrar) => void): Promise<Link> {
  const server = http2Transport.createServer();
  register(server);
  const listener = await listenUnix(dir);
  server.serve(listener.server);
  const connection = http2Transport.connect(listener.address);
  return {
    connection,
    close() {
      connection.close();
      server.forceShutdown();
      listener.close();
    },
  };
}

/** A broker channel of a native session of its own, as an hst plugin reaches host services. */
async function nativeLink(dir: string, register: (r: ServiceRegistrar) => void): Promise<Link> {
  const [hostEnd, pluginEnd] = await connectedSockets(dir);
  const host = openSession(hostEnd, 'host', 'plugin');
  const plugin = openSession(pluginEnd, 'plugin', 'host');
  sessionChannels(host).serve(1, register);
  return {
    connection: sessionChannels(plugin).connect(1),
    close() {
      plugin.close();
      host.close();
    },
  };
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
