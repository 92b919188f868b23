/**
 * The host side of go-plugin's protocol: start (or reattach to) a plugin
 * process, read its handshake, connect, keep the broker and stdio streams
 * open, hand out typed clients, and take the process down again.
 */
import { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { HealthCheckResponse_ServingStatus, HealthDefinition } from '../gen/grpc/health/v1/health.js';
import { GRPCBrokerDefinition, type ConnInfo } from '../gen/plugin/grpc_broker.js';
import { GRPCControllerDefinition } from '../gen/plugin/grpc_controller.js';
import { GRPCStdioDefinition } from '../gen/plugin/grpc_stdio.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import type { ClientConnection } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { NativeConnection } from '../rpc/native/client.js';
import { socketPair } from '../rpc/native/socket-pair.js';
import { nativeByDefault, openSession, sessionChannels } from '../rpc/native/transport.js';
import type { Address, Channels, TlsMaterial, Transport } from '../rpc/transport.js';
import { defaultLogger, type Logger } from '../log.js';
import { GrpcBroker } from '../protocol/broker.js';
import type { Multiplexer } from '../protocol/multiplexer.js';
import {
  DEFAULT_MAX_PORT,
  DEFAULT_MIN_PORT,
  DEFAULT_START_TIMEOUT_MS,
  ENV_CLIENT_CERT,
  ENV_MULTIPLEX_GRPC,
  ENV_HOST_PID,
  ENV_HST_HOST,
  ENV_MAX_PORT,
  ENV_MIN_PORT,
  ENV_NATIVE_FD,
  ENV_PROTOCOL_VERSIONS,
  ENV_UNIX_SOCKET_DIR,
  ENV_UNIX_SOCKET_GROUP,
  GRACEFUL_EXIT_WAIT_MS,
  HEALTH_SERVICE,
  MAX_LINE_BYTES,
  NATIVE_NETWORK,
  NATIVE_PROTOCOL,
} from '../protocol/constants.js';
import { HandshakeError, parseHandshake, type HandshakeInfo } from '../protocol/handshake.js';
import { StderrLogRouter } from '../protocol/hclog.js';
import { listen } from '../protocol/listener.js';
import { consumeStdio } from '../protocol/stdio.js';
import { versionedSets, type HandshakeConfig, type PluginSet } from '../plugin-set.js';
import { readLines } from '../util/lines.js';
import { Ring } from '../util/ring.js';
import { terminalSafe } from '../util/terminal-text.js';
import { within } from '../util/within.js';
import { diagnose, type StartFacts } from './diagnose.js';
import { composeEnv } from './env.js';
import { manage } from './managed.js';
import { processAlive, processStartTime, ReattachedProcess, type ExitInfo, type PluginProcess } from './plugin-process.js';
import { processRunner } from './runners/process-runner.js';
import type { Runner, RunningPlugin } from './runners/runner.js';
import { openVerified, type SecureConfig, type VerifiedExecutable } from './secure-exec.js';
import { planSandbox, type SandboxLayer, type SandboxPlan, type SandboxResources, type SandboxRuntime } from '../security/sandbox.js';

export interface PluginCommand {
  path: string;
  args?: string[];
  /** The command's own variables; the host's environment is laid over them. */
  env?: Record<string, string>;
  cwd?: string;
}

/** Run the plugin inside the OS sandbox (src/security/sandbox.ts); `command.path` is its entry. */
export interface PluginSandboxOptions {
  runtime: SandboxRuntime;
  /** Read-only inside; must contain `command.path`. */
  pluginDir: string;
  /** Mounted at pluginDir instead of it (a verified copy); see SandboxRequest.pluginDirSource. */
  pluginDirSource?: string;
  readOnlyPaths?: string[];
  /** The plugin's private writable directory and cwd. */
  workDir: string;
  /** node or python executable; see SandboxRequest.interpreter. */
  interpreter?: string;
  resources?: SandboxResources;
  /** Refuse to start without these layers. */
  require?: SandboxLayer[];
}

/** Everything needed to reconnect to a running plugin from another host process. */
export interface ReattachConfig {
  protocol: 'grpc';
  protocolVersion: number;
  addr: Address;
  pid: number;
  /** The process start time, so a reused pid is not mistaken for the plugin. */
  startTime?: string;
  /** In test mode kill() leaves the process alone, as go-plugin's ReattachConfig.Test. */
  test?: boolean;
  /** The connection's TLS material when it used (Auto)MTLS; go-plugin cannot reattach those. */
  tls?: TlsMaterial;
}

export interface PluginClientOptions {
  /** For logs and errors; defaults to the command's file name. */
  name?: string;
  handshake: HandshakeConfig;
  plugins?: PluginSet;
  versionedPlugins?: Record<number, PluginSet>;
  command?: PluginCommand;
  reattach?: ReattachConfig;
  /** Verify the executable's digest; the verified open file is what runs. */
  secureConfig?: SecureConfig;
  /** Default `['grpc']`; hst does not speak net/rpc. */
  allowedProtocols?: string[];
  autoMTLS?: boolean;
  /** Manual TLS: the host's own certificate and key, and the plugin's certificate as `ca`. */
  tls?: TlsMaterial;
  skipHostEnv?: boolean;
  startTimeoutMs?: number;
  minPort?: number;
  maxPort?: number;
  /** Put the plugin's sockets in a fresh directory under `dir`, owned by `group`. */
  unixSocket?: { dir?: string; group?: string };
  /** Sandbox the plugin process; implies an empty host environment and a socket directory. */
  sandbox?: PluginSandboxOptions;
  /**
   * Where the plugin runs: a local child process by default; a container
   * (containerRunner) or any Runner of the application's. Not with `sandbox`,
   * which is the local runner's own isolation.
   */
  runner?: Runner;
  /** go-plugin hands the host's stdin to the plugin; a TUI host wants 'ignore'. */
  stdin?: 'inherit' | 'ignore';
  /** Raw copy of the plugin's stderr lines. */
  stderr?: Writable;
  /** Where the plugin's GRPCStdio output goes. */
  syncStdout?: Writable;
  syncStderr?: Writable;
  logger?: Logger;
  /** Kill this plugin when the host exits or gets SIGINT/SIGTERM (default true). */
  managed?: boolean;
  /** go-plugin's gRPC transport: used for plugins that answer gRPC; gRPC on node:http2 by default. */
  transport?: Transport;
  /**
   * Ask for go-plugin's broker multiplexing (GRPCBrokerMultiplex): one
   * connection to the plugin, carrying the main and every broker connection
   * as yamux streams, so the plugin needs no socket of the host's (a plugin
   * in a container with one socket mounted). A plugin that cannot do it
   * fails the start, as with go-plugin.
   */
  multiplex?: boolean;
  /**
   * Offer hst's native transport (src/rpc/native/): a socket pair only the
   * two processes hold, far faster than gRPC. An hst plugin takes it; any
   * other ignores the offer and speaks gRPC as always. Default: offered to a
   * command run by Node, unless HST_TRANSPORT=grpc is set.
   */
  native?: boolean;
}

/** Node runs it: the hst SDK may be serving there, so the native transport is worth offering. */
function runByNode(command: PluginCommand): boolean {
  const name = basename(command.path);
  return command.path === process.execPath || name === 'node' || /\.[cm]?js$/.test(name);
}

function describeAddress(info: HandshakeInfo): string {
  return info.address.network === NATIVE_NETWORK ? `the socket pair (its fd ${info.address.address})` : `${info.address.network}:${info.address.address}`;
}

/** Why a plugin did not start; its text quotes the plugin's output, so control bytes are written out (terminalSafe). */
export class PluginStartError extends Error {
  override readonly name = 'PluginStartError';
  readonly diagnosis: string;
  constructor(message: string, diagnosis: string, cause?: unknown) {
    super(terminalSafe(diagnosis ? `${message}\n${diagnosis}` : message), { cause });
    this.diagnosis = terminalSafe(diagnosis);
  }
}

const STDERR_TAIL_LINES = 20;
/** How long a failed call waits to learn whether the plugin died under it. */
const EXIT_GRACE_MS = 250;

export interface SandboxReport {
  layers: SandboxLayer[];
  inactive: Array<{ layer: SandboxLayer; reason: string }>;
}

export class PluginClient extends EventEmitter<{ exit: [ExitInfo]; started: [HandshakeInfo]; sandbox: [SandboxReport] }> {
  readonly name: string;
  private readonly logger: Logger;
  private readonly stderrTail = new Ring<string>(STDERR_TAIL_LINES);
  private readonly streams = new AbortController();
  private starting: Promise<HandshakeInfo> | undefined;
  private killing: Promise<void> | undefined;
  private proc: PluginProcess | undefined;
  private connection: ClientConnection | undefined;
  /** The one yamux connection, when broker multiplexing was negotiated. */
  private mux: Multiplexer | undefined;
  /** The connection being dialled, not yet up: closed with the rest when the start fails. */
  private dialling: ClientConnection | undefined;
  private brokerInstance: GrpcBroker | undefined;
  private handshakeInfo: HandshakeInfo | undefined;
  private plugins: PluginSet = {};
  private tls: TlsMaterial | undefined;
  private socketDir: string | undefined;
  private verified: VerifiedExecutable | undefined;
  private sandbox: SandboxPlan | undefined;
  private unmanage: (() => void) | undefined;
  /** The host's end of the socket pair offered to the plugin (a bare fd where hst made the pair), until it answers. */
  private nativeEnd: Socket | number | undefined;

  constructor(private readonly options: PluginClientOptions) {
    super();
    if (!!options.command === !!options.reattach) {
      throw new Error('PluginClient: exactly one of command or reattach must be set');
    }
    if (options.reattach && options.secureConfig) {
      throw new Error('PluginClient: only one of reattach or secureConfig can be set');
    }
    this.name = options.name ?? options.command?.path.split('/').pop() ?? `pid ${options.reattach?.pid}`;
    this.logger = (options.logger ?? defaultLogger()).child({ plugin: this.name });
  }

  /** Starts the plugin and connects; repeated calls share the first start. */
  start(): Promise<HandshakeInfo> {
    this.starting ??= (this.options.reattach ? this.attach(this.options.reattach) : this.launch()).catch(async (err) => {
      await this.kill();
      throw err;
    });
    return this.starting;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get negotiatedVersion(): number | undefined {
    return this.handshakeInfo?.appVersion;
  }

  get handshake(): HandshakeInfo | undefined {
    return this.handshakeInfo;
  }

  get broker(): GrpcBroker {
    if (!this.brokerInstance) throw new Error(`plugin ${JSON.stringify(this.name)} is not started`);
    return this.brokerInstance;
  }

  /** Resolves when the plugin process is gone. */
  get exited(): Promise<ExitInfo> {
    if (!this.proc) return this.start().then(() => (this.proc as PluginProcess).exited);
    return this.proc.exited;
  }

  hasExited(): boolean {
    return this.proc?.exitInfo !== undefined;
  }

  /** The plugin's last stderr lines, for diagnosis. */
  lastStderr(): string[] {
    return this.stderrTail.toArray();
  }

  /** Starts if needed, then builds the named plugin's client on the connection. */
  async dispense<T = unknown>(name: string): Promise<T> {
    await this.start();
    const plugin = this.plugins[name];
    if (!plugin) {
      throw new Error(`unknown plugin type: ${name} (plugin ${JSON.stringify(this.name)} offers ${Object.keys(this.plugins).join(', ') || 'none'} at version ${this.negotiatedVersion})`);
    }
    if (!plugin.client) throw new Error(`plugin type ${name} has no client implementation`);
    return plugin.client(this.connection as ClientConnection, this.broker) as T;
  }

  /** The raw connection, for services outside the plugin set. */
  async connect(): Promise<ClientConnection> {
    await this.start();
    return this.connection as ClientConnection;
  }

  /** Health check of the "plugin" service, as go-plugin's Ping. */
  async ping(timeoutMs = 5_000): Promise<void> {
    const conn = await this.connect();
    const res = await conn.client(HealthDefinition).check({ service: HEALTH_SERVICE }, { deadline: timeoutMs });
    if (res.status !== HealthCheckResponse_ServingStatus.SERVING) {
      throw new RpcError(Code.UNAVAILABLE, `plugin ${JSON.stringify(this.name)} is not serving (health ${HealthCheckResponse_ServingStatus[res.status]})`);
    }
  }

  reattachConfig(): ReattachConfig {
    if (!this.handshakeInfo || !this.proc) throw new Error(`plugin ${JSON.stringify(this.name)} is not started`);
    const address = this.handshakeInfo.address;
    if (!this.runsLocally || this.proc.pid === undefined) {
      throw new Error(`plugin ${JSON.stringify(this.name)} was started by the ${this.options.runner?.name} runner; only a local process can be reattached to`);
    }
    if (address.network === NATIVE_NETWORK) {
      throw new Error(
        `plugin ${JSON.stringify(this.name)} runs on hst's native transport, a socket pair no other process can reattach to; start it with native: false (or HST_TRANSPORT=grpc) to reattach`,
      );
    }
    const startTime = processStartTime(this.proc.pid);
    return {
      protocol: 'grpc',
      protocolVersion: this.handshakeInfo.appVersion,
      addr: address,
      pid: this.proc.pid,
      ...(startTime ? { startTime } : {}),
      ...(this.tls ? { tls: this.tls } : {}),
    };
  }

  /**
   * Asks the plugin to shut down, waits two seconds for it to exit, then
   * kills its process group. Safe to call any number of times.
   */
  kill(): Promise<void> {
    this.killing ??= this.shutdown();
    return this.killing;
  }

  /** Leaves the plugin running (for reattach elsewhere) and drops our side. */
  detach(): void {
    this.unmanage?.();
    this.closeConnection();
  }

  /** SIGKILL right now, synchronously: for process exit handlers. */
  killNow(): void {
    if (!this.options.reattach?.test) this.proc?.kill();
  }

  private async shutdown(): Promise<void> {
    const proc = this.proc;
    const conn = this.connection;
    this.brokerInstance?.close();
    if (conn && proc && !proc.exitInfo) {
      try {
        await conn.client(GRPCControllerDefinition).shutdown({}, { deadline: GRACEFUL_EXIT_WAIT_MS });
      } catch {
        // The plugin may close the connection before answering; the exit wait decides.
      }
    }
    this.closeConnection();
    if (proc && !this.options.reattach?.test) {
      // Without a connection nobody asked it to stop: waiting would only delay the kill.
      const graceful = conn ? (await within(proc.exited, GRACEFUL_EXIT_WAIT_MS)) !== undefined : !!proc.exitInfo;
      if (!graceful && conn) this.logger.warn({ pid: proc.pid }, 'plugin failed to exit gracefully');
      // Also reaps anything the plugin left running in its process group.
      proc.kill();
      if (!(proc instanceof ReattachedProcess)) await proc.exited;
    }
    this.cleanup();
  }

  /** The plugin is a child process of ours (the default runner), not somewhere a runner put it. */
  private get runsLocally(): boolean {
    return (this.options.runner ?? processRunner) === processRunner;
  }

  /** How an address the plugin announced is dialled from here: checked by the sandbox, translated by the runner. */
  private get toHost(): ((address: Address) => Address) | undefined {
    const plan = this.sandbox;
    if (plan) return (address) => plan.translateAddress(address);
    const proc = this.proc as Partial<RunningPlugin> | undefined;
    return proc?.pluginToHost?.bind(proc);
  }

  private dropNativeEnd(): void {
    const end = this.nativeEnd;
    this.nativeEnd = undefined;
    if (typeof end === 'number') closeSync(end);
    else end?.destroy();
  }

  private closeConnection(): void {
    this.streams.abort();
    this.dropNativeEnd();
    this.dialling?.close();
    this.connection?.close();
    this.mux?.close();
  }

  private cleanup(): void {
    this.unmanage?.();
    this.verified?.release();
    this.sandbox?.cleanup();
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
  }

  private async launch(): Promise<HandshakeInfo> {
    const opts = this.options;
    const command = opts.command as PluginCommand;
    const sets = versionedSets(opts.handshake, opts.plugins, opts.versionedPlugins);
    const versions = [...sets.keys()].sort((a, b) => b - a);

    const protocolEnv: Record<string, string> = {
      [opts.handshake.magicCookieKey]: opts.handshake.magicCookieValue,
      [ENV_MIN_PORT]: String(opts.minPort ?? DEFAULT_MIN_PORT),
      [ENV_MAX_PORT]: String(opts.maxPort ?? DEFAULT_MAX_PORT),
      [ENV_PROTOCOL_VERSIONS]: versions.join(','),
    };
    let hostCert: { cert: string; key: string } | undefined;
    const mtls = opts.autoMTLS ? await import('../protocol/mtls.js') : undefined;
    if (mtls) {
      hostCert = await mtls.generateCertificate();
      protocolEnv[ENV_CLIENT_CERT] = hostCert.cert;
    }
    if (opts.runner && opts.sandbox) {
      throw new PluginStartError(`plugin ${JSON.stringify(this.name)}: sandbox and runner cannot both be set; the ${opts.runner.name} runner decides where and how the plugin runs`, '');
    }
    // A sandboxed plugin can only reach the host through a socket directory bound into its sandbox; a runner places it where the plugin can.
    if (opts.unixSocket || opts.sandbox || opts.runner) {
      this.socketDir = mkdtempSync(join(opts.unixSocket?.dir ?? tmpdir(), 'plugin-dir'));
      protocolEnv[ENV_UNIX_SOCKET_DIR] = this.socketDir;
      if (opts.unixSocket?.group) protocolEnv[ENV_UNIX_SOCKET_GROUP] = opts.unixSocket.group;
    }
    if (opts.multiplex) protocolEnv[ENV_MULTIPLEX_GRPC] = 'true';
    protocolEnv[ENV_HST_HOST] = 'node';
    // Inside the sandbox's pid namespace the host is out of sight, and the sandbox's watchdog does this job; elsewhere the runner's.
    if (!opts.sandbox && this.runsLocally) protocolEnv[ENV_HOST_PID] = String(process.pid);
    // A sandboxed plugin never sees the host's environment.
    const env = composeEnv(command.env, opts.skipHostEnv || opts.sandbox ? undefined : process.env, protocolEnv);

    let execPath = command.path;
    if (opts.secureConfig) {
      this.verified = await openVerified(command.path, opts.secureConfig, env.PATH);
      execPath = this.verified.execPath;
    }

    const facts: StartFacts = {
      plugin: this.name,
      command: command.path,
      stderrTail: [],
      cookie: { key: opts.handshake.magicCookieKey, value: opts.handshake.magicCookieValue },
      ...(opts.sandbox ? { sandboxed: true } : {}),
    };
    if (opts.sandbox) {
      this.sandbox = await planSandbox({
        ...opts.sandbox,
        entry: command.path,
        args: command.args ?? [],
        socketDir: this.socketDir as string,
        env,
        ...(this.verified && opts.sandbox.runtime === 'binary' ? { executableFd: this.verified.fd } : {}),
      });
      this.logger.info({ layers: this.sandbox.layers, inactive: this.sandbox.inactive }, 'plugin sandbox');
      // For the audit log and `hst inspect`: which layers this plugin actually runs under.
      this.emit('sandbox', { layers: this.sandbox.layers, inactive: this.sandbox.inactive });
    }
    const plan = this.sandbox;
    const runner = opts.runner ?? processRunner;
    const native = opts.native ?? (nativeByDefault() && runByNode(command) && runner.passesDescriptors === true);
    if (native && !runner.passesDescriptors) {
      throw new PluginStartError(`plugin ${JSON.stringify(this.name)}: the ${runner.name} runner cannot pass the native transport's socket pair; start it with native: false`, '');
    }
    // The offer: one more descriptor after the sandbox's own, a unix socket pair: made here where the addon
    // can, else by libuv for a stdio 'pipe'.
    const pair = native ? socketPair() : undefined;
    const extraStdio = [...(plan?.stdio ?? []), ...(native ? [pair ? pair[1] : ('pipe' as const)] : [])];
    const nativeFd = 3 + (plan?.stdio.length ?? 0);
    const childEnv = native ? { ...(plan ? plan.env : env), [ENV_NATIVE_FD]: String(nativeFd) } : plan ? plan.env : env;
    const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    // One budget for the whole start, handshake and connection together.
    const deadline = Date.now() + timeoutMs;
    let runnerSays: string | undefined;
    const fail = (message: string, cause?: unknown): never => {
      facts.stderrTail = this.stderrTail.toArray();
      if (this.proc?.exitInfo) facts.exit = this.proc.exitInfo;
      throw new PluginStartError(message, [diagnose(facts), runnerSays].filter(Boolean).join('\n'), cause);
    };
    let proc: RunningPlugin;
    try {
      proc = await runner.start({
        name: this.name,
        file: plan ? plan.command : execPath,
        args: plan ? plan.args : (command.args ?? []),
        ...(plan ? { cwd: plan.cwd } : { argv0: command.path, ...(command.cwd ? { cwd: command.cwd } : {}) }),
        env: childEnv,
        pluginEnv: { ...command.env, ...protocolEnv },
        ...(this.socketDir ? { socketDir: this.socketDir } : {}),
        stdin: opts.stdin ?? 'inherit',
        ...(extraStdio.length ? { extraStdio } : {}),
        logger: this.logger,
      });
    } catch (err) {
      facts.spawnError = err as NodeJS.ErrnoException;
      if (pair) closeSync(pair[0]);
      return fail(`plugin ${JSON.stringify(this.name)} could not be started${opts.runner ? ` by the ${runner.name} runner` : ''}: ${(err as Error).message}`, err);
    } finally {
      // The plugin has its own copy now: this one would keep the pair open after the plugin died.
      if (pair) closeSync(pair[1]);
    }
    if (native) this.nativeEnd = pair ? pair[0] : (proc.extraStreams?.[nativeFd - 3] as Socket);
    this.proc = proc;
    void proc.exited.then((info) => this.onExit(info));
    this.unmanage = opts.managed === false ? undefined : manage(this);

    const router = new StderrLogRouter(this.logger);
    void readLines(proc.stderr, MAX_LINE_BYTES, (line, partial) => {
      opts.stderr?.write(partial ? line : `${line}\n`);
      this.stderrTail.push(line);
      if (partial) this.logger.debug({}, line);
      else router.line(line);
    });

    let firstLine: ((line: string) => void) | undefined;
    const lineArrived = new Promise<string>((resolve) => (firstLine = resolve));
    void readLines(proc.stdout, MAX_LINE_BYTES, (line) => {
      if (firstLine) {
        firstLine(line);
        firstLine = undefined;
      } else {
        this.logger.debug({ stdout: line }, 'plugin wrote to stdout after the handshake');
      }
    });

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      lineArrived.then((line) => ({ kind: 'line' as const, line })),
      proc.exited.then(() => ({ kind: 'exited' as const })),
      new Promise<{ kind: 'timeout' }>((r) => (timer = setTimeout(() => r({ kind: 'timeout' }), Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    // What the runner knows (a container engine's own error) goes with every failure from here on.
    if (outcome.kind !== 'line' && proc.diagnose) runnerSays = await proc.diagnose().catch(() => undefined);

    if (outcome.kind === 'timeout') {
      facts.timedOut = true;
      facts.startTimeoutMs = timeoutMs;
      fail('timeout while waiting for plugin to start');
    }
    if (outcome.kind === 'exited') {
      await proc.exited;
      fail('plugin exited before we could connect');
    }
    const line = (outcome as { line: string }).line;
    facts.stdoutLine = line;

    let info: HandshakeInfo;
    try {
      info = parseHandshake(line, {
        versions,
        ...(opts.multiplex ? { multiplex: true } : {}),
        allowedProtocols: [...(opts.allowedProtocols ?? ['grpc']), ...(native ? [NATIVE_PROTOCOL] : [])],
      });
    } catch (err) {
      // Give a dying plugin a moment, so the diagnosis can say how it ended.
      await within(proc.exited, EXIT_GRACE_MS);
      if (err instanceof HandshakeError && err.kind === 'unrecognized' && line.trim() === '' && proc.exitInfo) {
        fail(`${err.message}\nFailed to read any lines from plugin's stdout`);
      }
      return fail((err as Error).message, err);
    }
    const onPair = info.address.network === NATIVE_NETWORK;
    // A plugin that declined the offer does not need our end of the pair.
    if (!onPair) this.dropNativeEnd();
    const toHost = this.toHost;
    if (toHost && info.address.network !== NATIVE_NETWORK) {
      try {
        info = { ...info, address: toHost(info.address) };
      } catch (err) {
        fail((err as Error).message, err);
      }
    }
    if (info.protocol === 'netrpc') {
      fail(`plugin ${JSON.stringify(this.name)} speaks go-plugin's netrpc protocol, which hst does not implement; serve it with gRPC (plugin.DefaultGRPCServer in Go)`);
    }
    this.plugins = sets.get(info.appVersion) ?? {};

    if (info.certificate && !onPair) {
      if (!hostCert && !opts.tls) fail('the plugin sent a TLS certificate, but this host has neither AutoMTLS nor TLS configured');
      if (hostCert && mtls) {
        try {
          this.tls = { ...hostCert, ca: mtls.handshakeFieldToCertificate(info.certificate), serverName: 'localhost' };
        } catch (err) {
          fail(`error parsing server cert: ${(err as Error).message}`, err);
        }
      }
    } else if (hostCert && !onPair) {
      fail(`plugin ${JSON.stringify(this.name)} ignored PLUGIN_CLIENT_CERT: AutoMTLS is on but its handshake carries no certificate`);
    }
    this.tls ??= opts.tls;
    if (info.multiplex && !opts.multiplex) {
      fail(
        `plugin ${JSON.stringify(this.name)} answered that it multiplexes its broker connections, which this host did not ask for; it would not understand the host's connection`,
      );
    }
    // A plugin that dies now fails the start at once, with how it ended, rather than when the dial gives up.
    const opened = this.open(info, Math.max(0, deadline - Date.now())).then(
      () => undefined,
      (err: Error) => err,
    );
    const connected = await Promise.race([opened, proc.exited.then(() => 'exited' as const)]);
    if (connected === 'exited') return fail(`plugin exited before we could connect to ${describeAddress(info)}`);
    if (connected) fail(`error connecting to plugin at ${describeAddress(info)}: ${connected.message}`, connected);
    return info;
  }

  private async attach(config: ReattachConfig): Promise<HandshakeInfo> {
    if (config.protocol !== 'grpc') {
      throw new PluginStartError(`plugin ${JSON.stringify(this.name)}: reattach protocol ${JSON.stringify(config.protocol)} is not supported; hst speaks grpc`, '');
    }
    if (!processAlive(config.pid, config.startTime)) {
      throw new PluginStartError(`plugin ${JSON.stringify(this.name)}: reattachment process not found (pid ${config.pid})`, '');
    }
    const sets = versionedSets(this.options.handshake, this.options.plugins, this.options.versionedPlugins);
    this.plugins = sets.get(config.protocolVersion) ?? {};
    this.proc = new ReattachedProcess(config.pid, config.startTime);
    void this.proc.exited.then((info) => this.onExit(info));
    this.unmanage = this.options.managed === false || config.test ? undefined : manage(this);
    this.tls = config.tls;
    const info: HandshakeInfo = { coreVersion: 1, appVersion: config.protocolVersion, address: config.addr, protocol: 'grpc' };
    await this.open(info, this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS).catch((err) => {
      throw new PluginStartError(`plugin ${JSON.stringify(this.name)}: error reattaching at ${config.addr.network}:${config.addr.address}: ${(err as Error).message}`, '', err);
    });
    return info;
  }

  /** Connects, then opens the broker and stdio streams the host keeps for the connection's lifetime. */
  private async open(info: HandshakeInfo, timeoutMs: number): Promise<void> {
    const describeError = (err: RpcError, method: string) => this.describeCallError(err, method);
    let channels: Channels | undefined;
    let transport: Transport | undefined;
    let mux: Multiplexer | undefined;
    let connection: ClientConnection;
    if (info.address.network === NATIVE_NETWORK) {
      // Connected since the spawn; broker ids become channels of the same session.
      const session = openSession(this.nativeEnd as Socket | number, 'host', `plugin ${JSON.stringify(this.name)}`);
      this.nativeEnd = undefined;
      channels = sessionChannels(session);
      connection = new NativeConnection(session, 0, { describeError, ownsSession: true });
    } else {
      // A host whose plugins are all hst's never needs gRPC's code.
      transport = this.options.transport ?? (await import('../rpc/http2/transport.js')).http2Transport;
      const options = { ...(this.tls ? { tls: this.tls } : {}), describeError };
      if (info.multiplex) {
        // yamux only for a plugin that multiplexes.
        const streams = await (await import('../protocol/multiplexer.js')).connectMultiplexed(info.address, timeoutMs);
        mux = this.mux = streams;
        if (!transport.connectVia) throw new Error('this transport cannot run over multiplexed streams');
        connection = transport.connectVia(() => streams.open(), options);
      } else {
        connection = transport.connect(info.address, options);
      }
      this.dialling = connection;
      try {
        await connection.ready(timeoutMs);
      } catch (err) {
        connection.close();
        throw err;
      } finally {
        this.dialling = undefined;
      }
    }
    // Only a connection that came up is one to ask for a graceful shutdown: kill() takes the rest down at once.
    this.connection = connection;

    const signal = this.streams.signal;
    const outbound = new AsyncQueue<ConnInfo>();
    signal.addEventListener('abort', () => outbound.end());
    const socketDir = this.socketDir;
    const grpc = transport;
    const toHost = this.toHost;
    const toPlugin = (this.proc as Partial<RunningPlugin> | undefined)?.hostToPlugin?.bind(this.proc);
    const broker = new GrpcBroker({
      send: (c) => outbound.push(c),
      // Broker endpoints the plugin announces are checked like its handshake address.
      ...(grpc ? { transport: toHost ? { ...grpc, connect: (address, o) => grpc.connect(toHost(address), o) } : grpc } : {}),
      ...(this.tls ? { tls: this.tls } : {}),
      // Our broker endpoints must be where the plugin can reach them: its socket directory, in its own terms.
      listen: async () => {
        const listener = await listen({ network: info.address.network === 'tcp' ? 'tcp' : 'unix', ...(socketDir && (this.sandbox || this.options.runner) ? { env: { [ENV_UNIX_SOCKET_DIR]: socketDir } } : {}) });
        return toPlugin ? { server: listener.server, close: () => listener.close(), address: toPlugin(listener.address) } : listener;
      },
      logger: this.logger.child({ name: 'broker' }),
      ...(channels ? { channels } : {}),
      ...(mux ? { mux } : {}),
    });
    this.brokerInstance = broker;
    void (async () => {
      try {
        for await (const c of connection.client(GRPCBrokerDefinition).startStream(outbound, { signal })) broker.receive(c);
      } catch (err) {
        if (!signal.aborted) this.logger.debug({ err: String(err) }, 'broker stream ended');
      }
    })();
    void consumeStdio(
      connection.client(GRPCStdioDefinition),
      { ...(this.options.syncStdout ? { stdout: this.options.syncStdout } : {}), ...(this.options.syncStderr ? { stderr: this.options.syncStderr } : {}) },
      this.logger,
      signal,
    );
    this.handshakeInfo = info;
    this.emit('started', info);
  }

  private onExit(info: ExitInfo): void {
    const level = info.code === 0 || this.killing ? 'debug' : 'error';
    this.logger[level]({ pid: this.proc?.pid, code: info.code, signal: info.signal }, 'plugin process exited');
    this.brokerInstance?.close();
    this.closeConnection();
    this.cleanup();
    this.emit('exit', info);
  }

  /** A call that failed because the plugin died says so, with its last words. */
  private async describeCallError(err: RpcError, method: string): Promise<Error> {
    if (![Code.UNAVAILABLE, Code.CANCELLED, Code.INTERNAL, Code.UNKNOWN].includes(err.code) || !this.proc) return err;
    const exit = this.proc.exitInfo ?? (await within(this.proc.exited, EXIT_GRACE_MS));
    if (!exit) return err;
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const tail = this.stderrTail.toArray().slice(-5);
    const message =
      `plugin ${JSON.stringify(this.name)} ${how} during ${method}` + (tail.length ? `; last stderr lines:\n${tail.map((l) => `  | ${l}`).join('\n')}` : '');
    return new RpcError(Code.UNAVAILABLE, message, { cause: err });
  }
}
