/**
 * The plugin side of go-plugin's protocol: check the cookie, negotiate the
 * app version, listen, print the handshake line, then serve the plugin's
 * services next to health, controller, stdio and broker until the host
 * says Shutdown.
 */
import { writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { HealthDefinition } from '../gen/grpc/health/v1/health.js';
import { GRPCBrokerDefinition, type ConnInfo } from '../gen/plugin/grpc_broker.js';
import { GRPCControllerDefinition } from '../gen/plugin/grpc_controller.js';
import { GRPCStdioDefinition } from '../gen/plugin/grpc_stdio.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import { NativeServer } from '../rpc/native/server.js';
import { openSession, sessionChannels } from '../rpc/native/transport.js';
import type { TlsMaterial, Transport, TransportServer } from '../rpc/transport.js';
import type { Logger } from '../log.js';
import { GrpcBroker, type BrokerOptions } from '../protocol/broker.js';
import {
  CORE_PROTOCOL_VERSION,
  COOKIE_MISMATCH_MESSAGE,
  ENV_CLIENT_CERT,
  ENV_HOST_PID,
  ENV_HST_HOST,
  ENV_MULTIPLEX_GRPC,
  ENV_NATIVE_FD,
  ENV_PROTOCOL_VERSIONS,
  MISCONFIGURED_COOKIE_MESSAGE,
  NATIVE_NETWORK,
  NATIVE_PROTOCOL,
} from '../protocol/constants.js';
import { formatHandshake, negotiateVersion, parseGoBool, type HandshakeAddress } from '../protocol/handshake.js';
import { createHclogLogger } from '../protocol/hclog.js';
import { HealthService } from '../protocol/health.js';
import { listen, type Listener } from '../protocol/listener.js';
import type { Multiplexer } from '../protocol/multiplexer.js';
import { StdioCapture } from '../protocol/stdio.js';
import { closeHostConnection, registerHostConnection } from './host-connection.js';
import { registerCommands, type CommandSet } from './commands.js';
import { registerModule, type ModuleExports } from './module-exports.js';
import { registerHttp, type HttpHandlers } from './http-handlers.js';
import { tierUpSooner } from './tier-up.js';
import { versionedSets, type HandshakeConfig, type PluginSet } from '../plugin-set.js';

export interface ServeConfig {
  handshake: HandshakeConfig;
  /** The plugins served at `handshake.protocolVersion`. */
  plugins?: PluginSet;
  /** Plugin sets by app protocol version; the highest the host offers wins. */
  versionedPlugins?: Record<number, PluginSet>;
  /** hclog JSON on stderr by default, which go-plugin hosts understand. */
  logger?: Logger;
  /**
   * `unix` (default) or `tcp`. Setting this, `tls` or `transport` declines an
   * hst host's native transport: the plugin then speaks gRPC as configured.
   */
  network?: 'unix' | 'tcp';
  /** Manual TLS instead of AutoMTLS; `ca` must be the host's certificate. */
  tls?: () => TlsMaterial | Promise<TlsMaterial>;
  transport?: Transport;
  /** Called after Shutdown, before the process exits; bounded to one second. */
  onShutdown?: () => void | Promise<void>;
  /** The commands this plugin offers (`hst run <plugin> <command>`), by manifest name. */
  commands?: CommandSet;
  /** What it exports as a JavaScript module (manifest `exports:`): functions, and objects of functions. */
  exports?: ModuleExports;
  /** Its HTTP routes and dashboard widgets (manifest `routes:` and `widgets:`), by handler name. */
  http?: HttpHandlers;
  /** Keep running when the process that started us dies (default: exit, so nothing is left behind). */
  outliveHost?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ServingPlugin {
  appVersion: number;
  handshakeLine: string;
  broker: GrpcBroker;
  logger: Logger;
  /** Resolves when the plugin has been told to shut down. */
  done: Promise<void>;
}

const SHUTDOWN_HOOK_LIMIT_MS = 1_000;
/**
 * The process that started us, read as this module loads: a host killed
 * before the handshake leaves us reparented, and a later look would take the
 * new parent for the host. An hst host also names itself (ENV_HOST_PID), for
 * a host gone before even this.
 */
const PARENT = process.ppid;
const HOST_PID = Number(process.env[ENV_HOST_PID]) || undefined;
const PARENT_POLL_MS = 500;

function hostGone(): boolean {
  if (process.ppid !== PARENT) return true;
  if (HOST_PID === undefined) return false;
  try {
    process.kill(HOST_PID, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export async function serve(config: ServeConfig): Promise<ServingPlugin> {
  const env = config.env ?? process.env;
  const { magicCookieKey: key, magicCookieValue: value } = config.handshake;
  if (!key || !value) die(MISCONFIGURED_COOKIE_MESSAGE);
  if (env[key] !== value) die(COOKIE_MISMATCH_MESSAGE);

  // A plugin never outlives its host: before the handshake it just leaves, after it, it shuts down.
  let onOrphaned: () => void = () => process.exit(1);
  if (!config.outliveHost) {
    if (hostGone()) process.exit(1);
    watchParent(() => onOrphaned());
  }

  const logger = config.logger ?? createHclogLogger({ name: 'plugin' });
  // A plugin with only commands (or only host-service use) still speaks its handshake version.
  const sets = versionedSets(config.handshake, config.plugins, config.versionedPlugins);
  const appVersion = negotiateVersion([...sets.keys()], env[ENV_PROTOCOL_VERSIONS]);
  const plugins = sets.get(appVersion) ?? {};

  // The host's offer of hst's own transport is taken unless this plugin chose how it is reached (network, TLS, transport).
  const nativeFd = config.transport || config.network || config.tls ? undefined : offeredNativeFd(env);
  const wire = nativeFd === undefined ? await grpcWire(config, env, logger) : nativeWire(nativeFd, env);
  const server = wire.server;
  const outbound = new AsyncQueue<ConnInfo>();
  const broker = new GrpcBroker({ send: (info) => outbound.push(info), ...wire.broker, logger: logger.child({ name: 'broker' }) });
  let brokerStreamOpen = false;
  server.addService(GRPCBrokerDefinition, {
    startStream: (requests, ctx) => {
      if (brokerStreamOpen) throw new Error('broker stream already open');
      brokerStreamOpen = true;
      void (async () => {
        try {
          for await (const info of requests) broker.receive(info);
        } catch (err) {
          if (!ctx.signal.aborted) logger.debug({ err: String(err) }, 'broker stream ended');
        }
      })();
      return outbound;
    },
  });

  const health = new HealthService();
  server.addService(HealthDefinition, health.implementation());
  const stdio = new StdioCapture();
  server.addService(GRPCStdioDefinition, stdio.implementation());

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let shuttingDown = false;
  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    resolveDone();
    // Let the Shutdown reply leave before the connections are dropped.
    setImmediate(async () => {
      const hook = Promise.resolve(config.onShutdown?.()).catch((err) => logger.error({ err: String(err) }, 'shutdown hook failed'));
      await Promise.race([hook, new Promise((r) => setTimeout(r, SHUTDOWN_HOOK_LIMIT_MS))]);
      closeHostConnection();
      broker.close();
      outbound.end();
      wire.close();
      stdio.stop();
      process.exit(0);
    });
  };
  server.addService(GRPCControllerDefinition, { shutdown: () => (shutdown(), {}) });

  registerHostConnection(server, broker);
  if (config.commands) registerCommands(server, config.commands);
  if (config.exports) registerModule(server, config.exports);
  if (config.http) registerHttp(server, config.http);
  for (const [name, plugin] of Object.entries(plugins)) {
    if (!plugin.server) throw new Error(`serve: plugin ${JSON.stringify(name)} has no server implementation`);
    await plugin.server(server, broker);
  }
  wire.start();
  // The host is gone when its one connection is (native session, multiplexed): nobody is left to send Shutdown.
  wire.onLost?.(() => shutdown());

  // The 7th field only for a host that asked: an older host would read it as part of the certificate.
  const multiplex = env[ENV_MULTIPLEX_GRPC] !== undefined ? wire.multiplexed === true : undefined;
  const handshakeLine = formatHandshake({
    coreVersion: CORE_PROTOCOL_VERSION,
    appVersion,
    address: wire.address,
    protocol: wire.protocol,
    ...(wire.certificate ? { certificate: wire.certificate } : {}),
    ...(multiplex !== undefined && wire.protocol === 'grpc' ? { multiplex } : {}),
  });
  logger.debug({ network: wire.address.network, address: wire.address.address }, 'plugin address');
  // The host owns Ctrl-C from the handshake on and will tell us to stop through the controller. Set
  // before the line goes out: a host that reads it may signal at once, before this process runs on.
  process.on('SIGINT', () => {});
  writeSync(1, handshakeLine + '\n');

  // A host that went away leaves closed pipes behind; writes to them must not crash us.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  stdio.start();
  onOrphaned = shutdown;
  tierUpSooner();

  return { appVersion, handshakeLine, broker, logger, done };
}

/** go-plugin's plugin waits this long for the host's one multiplexed connection. */
const MUX_CONNECT_WAIT_MS = 5_000;

/** How this plugin is reached: go-plugin's gRPC on a listener, or hst's native session on the inherited socket pair. */
interface Wire {
  server: TransportServer;
  broker: Pick<BrokerOptions, 'transport' | 'serverOptions' | 'tls' | 'listen' | 'channels' | 'mux'>;
  /** Broker multiplexing is on: the host asked, and this wire does it. */
  multiplexed?: boolean;
  address: HandshakeAddress;
  protocol: string;
  certificate?: string;
  /** Begins serving, just before the handshake line is printed. */
  start(): void;
  close(): void;
  onLost?(listener: () => void): void;
}

async function grpcWire(config: ServeConfig, env: NodeJS.ProcessEnv, logger: Logger): Promise<Wire> {
  let tls: TlsMaterial | undefined;
  let certificate: string | undefined;
  const hostCert = env[ENV_CLIENT_CERT];
  if (hostCert) {
    logger.debug({}, 'configuring server automatic mTLS');
    // Only AutoMTLS needs a certificate.
    const { certificateToHandshakeField, generateCertificate } = await import('../protocol/mtls.js');
    const own = await generateCertificate();
    tls = { cert: own.cert, key: own.key, ca: hostCert, serverName: 'localhost' };
    certificate = certificateToHandshakeField(own.cert);
  } else if (config.tls) {
    tls = await config.tls();
  }
  // A plugin on the native session never needs gRPC's code.
  const transport = config.transport ?? (await import('../rpc/http2/transport.js')).http2Transport;
  const listenOptions = { network: config.network ?? 'unix', env } as const;
  const listener = await listen(listenOptions);
  // A host that is not hst (go-plugin's) keeps reading while it writes: our servers may let it send more at once.
  const serverOptions = { widenConnectionWindow: env[ENV_HST_HOST] === undefined };
  const server = transport.createServer({ ...serverOptions, ...(tls ? { tls } : {}) });
  // Only a host that asked gets multiplexing, and only then is its code loaded.
  const asked = parseGoBool(env[ENV_MULTIPLEX_GRPC] ?? '') === true && server.accept !== undefined;
  const mux = asked ? new (await import('../protocol/multiplexer.js')).Multiplexer() : undefined;
  const lost: Array<() => void> = [];
  return {
    server,
    broker: { transport, serverOptions, ...(tls ? { tls } : {}), listen: () => listen(listenOptions), ...(mux ? { mux } : {}) },
    address: listener.address,
    protocol: 'grpc',
    ...(certificate ? { certificate } : {}),
    ...(mux ? { multiplexed: true } : {}),
    start: () => (mux ? serveMultiplexed(mux, server, listener, logger, () => lost.forEach((fn) => fn())) : server.serve(listener.server)),
    close: () => {
      mux?.close();
      server.forceShutdown();
      listener.close();
    },
    onLost: (listener) => lost.push(listener),
  };
}

/**
 * go-plugin's plugin side of multiplexing: the host's first connection is
 * the only one, with yamux over it; streams nobody knocked for reach the
 * plugin's own server. A host that does not connect within go-plugin's 5 s,
 * or whose connection ends, leaves the plugin nothing to serve.
 */
function serveMultiplexed(mux: Multiplexer, server: TransportServer, listener: Listener, logger: Logger, lost: () => void): void {
  const accept = (server.accept as NonNullable<TransportServer['accept']>).bind(server);
  const timer = setTimeout(() => {
    logger.error({}, `the host did not connect within ${MUX_CONNECT_WAIT_MS / 1000} s; nothing to serve`);
    lost();
  }, MUX_CONNECT_WAIT_MS);
  listener.server.once('connection', (socket: Socket) => {
    clearTimeout(timer);
    // One connection carries everything; nobody else gets in.
    listener.close();
    mux.attach(socket, 'plugin');
    mux.onClose(lost);
    mux.serveMain({ accept });
  });
}

/**
 * The host's socket pair is already connected and only the two processes
 * hold it: no listener, no certificate, and broker ids are its channels.
 */
function nativeWire(fd: number, env: NodeJS.ProcessEnv): Wire {
  // Programs this plugin starts inherit its environment; the offer was for this process alone.
  delete env[ENV_NATIVE_FD];
  delete process.env[ENV_NATIVE_FD];
  const session = openSession(fd, 'plugin', 'host');
  const server = new NativeServer();
  return {
    server,
    broker: { channels: sessionChannels(session) },
    address: { network: NATIVE_NETWORK, address: String(fd) },
    protocol: NATIVE_PROTOCOL,
    start: () => server.onShutdown(session.accept(0, server.acceptor())),
    close: () => session.close(),
    onLost: (listener) => session.onClose(listener),
  };
}

/** The fd the host offered for the native transport, if it did and it is one. */
function offeredNativeFd(env: NodeJS.ProcessEnv): number | undefined {
  const value = env[ENV_NATIVE_FD];
  if (!value || !/^\d+$/.test(value)) return undefined;
  const fd = Number(value);
  return fd > 2 ? fd : undefined;
}

function die(message: string): never {
  writeSync(2, message);
  process.exit(1);
}

/** Calls `orphaned` once the process that started us is gone. */
function watchParent(orphaned: () => void): void {
  const timer = setInterval(() => {
    if (!hostGone()) return;
    clearInterval(timer);
    orphaned();
  }, PARENT_POLL_MS);
  timer.unref();
}
