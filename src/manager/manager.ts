/**
 * PluginManager: finds the plugins under the plugin directories, starts them
 * against one shared, policy-guarded set of host services, runs their
 * commands and calls within their time limits, restarts them when they crash,
 * and takes everything down again. The CLI and the TUI are built on it; the
 * events ('state' for any change) are for UIs.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { auditLogPath } from '../security/audit.js';
import type { PluginClient } from '../host/plugin-client.js';
import { runCommand as runPluginCommand, type CommandEvent } from '../host/commands.js';
import type { PermissionRequestHandler } from '../host-services/permissions.js';
import { defaultLogger, type Logger } from '../log.js';
import type { ClientConnection } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import type { Manifest, ManifestExport, ManifestSignature } from '../security/manifest.js';
import type { OperatorPolicy, Policy } from '../security/policy.js';
import type { SignaturePolicy } from '../security/signature.js';
import { nativeByDefault } from '../rpc/native/transport.js';
import type { RestartOptions } from './backoff.js';
import { validateCommandArgs } from './command-args.js';
import { callLimit, CallDeadline } from './deadline.js';
import { checkedArgs, checkedResult, describedExports } from './module-calls.js';
import { discoverPlugins, type DiscoveredPlugin } from './discovery.js';
import { GuardedHost } from './guarded-host.js';
import { serviceGraph } from './service-graph.js';
import picomatch from 'picomatch';
import { ModuleDefinition } from '../gen/hst/plugin/v1/module.js';
import type { Relay, RelayedServices } from '../host-services/provided-services.js';
import { rawService } from '../rpc/forwarding.js';
import { typedClient, type CallOptions as RpcCallOptions, type Client, type ServiceDefinition } from '../rpc/definition.js';
import { allHostServices } from '../host-services/catalog.js';
import { admitModules, type HostServiceModule } from '../host-services/operation.js';
import { nextRequestId } from '../host-services/request-id.js';
import { discoveredInfo, type PluginInfo, type PluginManagerEvents, type ReloadEvent, type ReloadStep } from './plugin-info.js';
import { DEFAULT_DRAIN_MS, PluginDirWatcher, type HotReloadOptions } from './hot-reload.js';
import { PluginRunner, type RunnablePlugin, type RunnerSettings, type SandboxMode } from './plugin-runner.js';

export interface PluginManagerOptions {
  /** Searched one level deep for `<dir>/<name>/plugin.yaml`; earlier directories win name clashes. Default `['./plugins']`. */
  pluginDirs?: string[];
  /** Host state: KV database, audit log, workspaces and run directories. Default `./.hst`. */
  dataDir?: string;
  logger?: Logger;
  /** The operator's narrowing of what manifests grant. */
  policy?: OperatorPolicy;
  /** Default `warn`: unsigned or badly signed plugins start, with a warning and an audit record. */
  signaturePolicy?: SignaturePolicy;
  /** Directory of trusted `.pub` keys; default `<dataDir>/trusted-keys`. */
  trustedKeysDir?: string;
  /**
   * `auto` (default): every sandbox layer this machine offers, and refuse a
   * plugin it cannot isolate; `require`: refuse without seccomp too; `off`:
   * unconfined, by the operator's choice, shown in every list and audited.
   */
  sandbox?: SandboxMode;
  /**
   * go-plugin's AutoMTLS for every plugin (default true): each side pins the
   * other's one-off certificate, so a connection to a plugin's host-services
   * listener that cannot present that plugin's certificate is refused and
   * audited, whatever else on the machine can reach the socket.
   */
  autoMTLS?: boolean;
  /**
   * How the host talks to Node plugins: `native` (default), hst's own
   * transport over a socket pair only the two processes hold, broker
   * channels included; `grpc`, go-plugin's protocol as Go and Python plugins
   * always get. The default follows HST_TRANSPORT when it is set.
   */
  transport?: 'native' | 'grpc';
  /**
   * Let plugins use workspace files that have more than one hard link
   * (default false: such a file may be the same as one outside the
   * workspace, or one the plugin may not read, and nothing shows which).
   */
  allowHardLinks?: boolean;
  restart?: RestartOptions;
  /** Ping every running plugin this often (default 10 s; 0 turns health checks off); one failed ping restarts it. */
  health?: { intervalMs?: number; timeoutMs?: number };
  /** The limit of a call or command when the manifest sets no resources.call_timeout (default 60 s). */
  callTimeoutMs?: number;
  startTimeoutMs?: number;
  /** A plugin's workspace, where its paths resolve; default `<dataDir>/workspaces/<name>`. */
  workspace?: (manifest: Manifest) => string;
  /** Decides a plugin's run-time permission requests; without it they are refused. */
  onPermissionRequest?: PermissionRequestHandler;
  /** Shut down on SIGINT/SIGTERM, then let the signal take its course. */
  handleSignals?: boolean;
  /** node executable for node plugins; default the host's own. */
  nodeCommand?: string;
  /** python executable for python plugins; default `python3`. */
  pythonCommand?: string;
  /**
   * Host services of the application's own, served to every plugin next to
   * hst's: each operation's capability is checked against the plugin's
   * manifest and the policy, and audited, like the built-in ones
   * (docs/extending-host-services.md).
   */
  hostServices?: HostServiceModule<any>[];
  /**
   * Which plugins `module()` may load, as `plugin:<name>` (or a `plugin:*`
   * glob); default: every plugin that declares `exports:`.
   */
  modules?: { allow?: string[] };
  /**
   * Hot reload (default off; the TUI turns it on): watch the plugin
   * directories, and when a plugin's files change, start the new version
   * beside the running one, switch calls to it once it answers, let the old
   * one finish its calls and stop it; a broken new version leaves the old
   * one running and says why. A new plugin directory loads, a removed
   * manifest unloads. Every step is a `reload` event.
   */
  hotReload?: boolean | HotReloadOptions;
}

/** What a call gets: the plugin's client and connection, and the signal to pass to its RPCs. */
export interface PluginCall {
  name: string;
  client: PluginClient;
  connection: ClientConnection;
  /** Aborts at the call's deadline or on the caller's own signal; pass it on as `{ signal }`. */
  signal: AbortSignal;
}

export interface CallOptions {
  /** Overrides the manifest's call timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** What the call does, as the `call` event and the dashboard's statistics name it (default `call`). */
  operation?: string;
}

export interface RunCommandOptions extends CallOptions {
  color?: boolean;
}

const DEFAULT_CALL_TIMEOUT_MS = 60_000;
/** How a plugin is named as a JavaScript module: `plugin:<name>`. */
export const MODULE_PREFIX = 'plugin:';
/** Metadata the host sets on a relayed call: the consumer's name, as the host knows it. */
export const CONSUMER_HEADER = 'hst-consumer';
const DEFAULT_HEALTH = { intervalMs: 10_000, timeoutMs: 5_000 };

export class PluginManager extends EventEmitter<PluginManagerEvents> {
  private readonly pluginDirs: string[];
  private readonly dataDir: string;
  private readonly logger: Logger;
  private readonly settings: RunnerSettings;
  private readonly callTimeoutMs: number;
  private readonly runners = new Map<string, PluginRunner>();
  /** Found but not runnable: invalid or unavailable. */
  private rejected: DiscoveredPlugin[] = [];
  private discovered: Promise<unknown> | undefined;
  private guarded: GuardedHost | undefined;
  private closing: Promise<void> | undefined;
  private removeSignalHandlers: (() => void) | undefined;
  /** Plugin -> the plugins providing what it requires (see checkServices). */
  private providers = new Map<string, string[]>();
  /** Services the host serves itself, which no plugin needs to provide. */
  private readonly hostServes: ReadonlySet<string>;
  /** Reloads under way, by plugin: one at a time each. */
  private readonly reloading = new Map<string, Promise<ReloadEvent>>();
  private watcher: PluginDirWatcher | undefined;

  constructor(private readonly options: PluginManagerOptions = {}) {
    super();
    this.pluginDirs = options.pluginDirs ?? ['./plugins'];
    this.dataDir = resolve(options.dataDir ?? '.hst');
    this.logger = options.logger ?? defaultLogger();
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    // Before any manifest is read: their capability kinds must be known to it.
    if (options.hostServices) admitModules([...allHostServices, ...options.hostServices]);
    this.hostServes = new Set([...allHostServices, ...(options.hostServices ?? [])].map((m) => m.definition.fullName));
    this.settings = {
      dataDir: this.dataDir,
      logger: this.logger,
      signaturePolicy: options.signaturePolicy ?? options.policy?.signatures ?? 'warn',
      trustedKeysDir: resolve(options.trustedKeysDir ?? join(this.dataDir, 'trusted-keys')),
      sandbox: options.sandbox ?? options.policy?.sandbox ?? 'auto',
      autoMTLS: options.autoMTLS ?? true,
      transport: options.transport ?? (nativeByDefault() ? 'native' : 'grpc'),
      restart: options.restart ?? {},
      health: { ...DEFAULT_HEALTH, ...options.health },
      ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}),
      ...(options.workspace ? { workspace: options.workspace } : {}),
      runtime: { ...(options.nodeCommand ? { nodeCommand: options.nodeCommand } : {}), ...(options.pythonCommand ? { pythonCommand: options.pythonCommand } : {}) },
    };
    if (options.handleSignals) this.installSignalHandlers();
  }

  /** The capability policy every plugin's host calls are decided by; grant and revoke here. */
  get policy(): Policy {
    return this.host().policy;
  }

  /** The audit log (`<dataDir>/audit/audit.jsonl`). */
  get auditPath(): string {
    return auditLogPath(this.dataDir);
  }

  /**
   * (Re)reads the plugin directories. Running plugins keep running as they
   * are; a plugin whose manifest changed is picked up once it is stopped.
   */
  async discover(): Promise<{ plugins: PluginInfo[]; warnings: string[] }> {
    if (this.options.hotReload && !this.watcher) {
      this.watcher = new PluginDirWatcher(this.pluginDirs, (root, entry) => void this.entryChanged(root, entry), this.hotReloadOptions.debounceMs);
      await this.watcher.start();
    }
    const scan = this.scan();
    this.discovered = scan;
    const report = await scan;
    for (const warning of report.warnings) this.logger.debug({ warning }, 'plugin discovery');
    const found = new Set<string>();
    this.rejected = [];
    for (const plugin of report.plugins) {
      if (plugin.status !== 'discovered' || !plugin.manifest || !plugin.manifestBytes) {
        this.logger.warn({ plugin: plugin.name, file: plugin.file, status: plugin.status, problem: plugin.problem }, `plugin ${plugin.status}`);
        this.rejected.push(plugin);
        continue;
      }
      found.add(plugin.name);
      const existing = this.runners.get(plugin.name);
      const unchanged = existing && existing.plugin.dir === plugin.dir && existing.plugin.manifestBytes.equals(plugin.manifestBytes);
      if (unchanged || (existing && isActive(existing))) continue;
      const runner = new PluginRunner(plugin as RunnablePlugin, this.settings, () => this.host(), this);
      this.runners.set(plugin.name, runner);
      this.emit('state', runner.info());
    }
    for (const [name, runner] of this.runners) if (!found.has(name) && !isActive(runner)) this.runners.delete(name);
    this.checkServices();
    return { plugins: this.list(), warnings: report.warnings };
  }

  /** The `hotReload` option's settings; `true` takes every default. */
  private get hotReloadOptions(): HotReloadOptions {
    return typeof this.options.hotReload === 'object' ? this.options.hotReload : {};
  }

  private scan() {
    return discoverPlugins({
      pluginDirs: this.pluginDirs,
      signaturePolicy: this.settings.signaturePolicy,
      trustedKeysDir: this.settings.trustedKeysDir,
      ...this.settings.runtime,
    });
  }

  /**
   * Reloads a plugin from its files now, as hot reload does when they
   * change: a running plugin is replaced without a dropped call (the new
   * version starts beside it and takes the calls once it answers; the old
   * one finishes its own, within `hotReload.drainMs`, then stops); a new
   * version that is broken or will not start leaves the old one running,
   * and `reloadError` in its info says why. A plugin that is not running is
   * simply replaced. One reload at a time per plugin; each step is a
   * `reload` event, and the last one is what this resolves to.
   */
  reload(name: string): Promise<ReloadEvent> {
    const next = (this.reloading.get(name) ?? Promise.resolve()).catch(() => undefined).then(() => this.reloadNow(name));
    this.reloading.set(name, next);
    void next.catch(() => undefined).finally(() => this.reloading.get(name) === next && this.reloading.delete(name));
    return next;
  }

  private async reloadNow(name: string): Promise<ReloadEvent> {
    this.ensureOpen();
    await this.discovered?.catch(() => undefined);
    const step = (reached: ReloadStep, detail?: string): ReloadEvent => {
      const event = { name, step: reached, ...(detail ? { detail } : {}) };
      this.emit('reload', event);
      return event;
    };
    const old = this.runners.get(name);
    const report = await this.scan();
    const fresh = report.plugins.find((p) => p.name === name && p.manifest) ?? report.plugins.find((p) => p.name === name);
    if (!fresh) {
      if (!old && !this.findRejected(name)) throw new RpcError(Code.NOT_FOUND, `no plugin named ${JSON.stringify(name)} to reload`);
      this.rejected = this.rejected.filter((p) => p.name !== name);
      if (old) {
        old.retire();
        this.runners.delete(name);
        await old.stop();
      }
      this.checkServices();
      return step('unloaded', 'its manifest or file is gone: stopped and forgotten');
    }
    if (fresh.status !== 'discovered' || !fresh.manifest || !fresh.manifestBytes) {
      const problem = fresh.problem ?? fresh.status;
      if (old && isActive(old)) {
        old.reloadError = problem;
        this.emit('state', old.info());
        return step('failed', `${problem}; the running version keeps running`);
      }
      if (old) this.runners.delete(name);
      this.rejected = [...this.rejected.filter((p) => p.name !== name), fresh];
      this.emit('state', rejectedInfo(fresh));
      this.checkServices();
      return step('failed', problem);
    }
    this.rejected = this.rejected.filter((p) => p.name !== name);
    const next = new PluginRunner(fresh as RunnablePlugin, this.settings, () => this.host(), new EventEmitter(), old ? old.generation + 1 : 0);
    if (!old || !isActive(old)) {
      next.attach(this);
      this.runners.set(name, next);
      this.emit('state', next.info());
      this.checkServices();
      return old ? step('reloaded', 'it was not running: its next start runs the new version') : step('loaded');
    }
    step('changed', `starting the new version beside the running one (pid ${old.info().pid ?? '-'})`);
    try {
      await next.start();
      await next.healthCheck();
    } catch (err) {
      await next.stop();
      old.reloadError = `the new version would not start: ${(err as Error).message}`;
      this.emit('state', old.info());
      return step('failed', `${old.reloadError}; the running version keeps running`);
    }
    if (this.closing) {
      await next.stop();
      return step('failed', 'the manager is shutting down');
    }
    step('started', `pid ${next.info().pid}, healthy`);
    this.runners.set(name, next);
    next.attach(this);
    old.retire();
    this.checkServices();
    this.emit('state', next.info());
    step('switched', `new calls go to pid ${next.info().pid}; pid ${old.info().pid ?? '-'} finishes its own`);
    const drainMs = this.hotReloadOptions.drainMs ?? DEFAULT_DRAIN_MS;
    const drained = await old.drained(drainMs);
    const left = old.callsInFlight;
    await old.stop();
    step('drained', drained ? 'the old version finished its calls and was stopped' : `${left} calls of the old version were still running after ${drainMs} ms and were cut off`);
    return step('reloaded', `version ${next.manifest.version}, pid ${next.info().pid}`);
  }

  /** A plugin directory's entry changed (hot-reload.ts): reload the plugin it holds, or load what is new there. */
  private async entryChanged(root: string, entry: string): Promise<void> {
    if (this.closing) return;
    const path = join(resolve(root), entry);
    const holds = (p: DiscoveredPlugin) => p.dir === path || (p.foundByName === true && resolve(p.file) === path);
    const known = [...this.runners.values()].find((r) => holds(r.plugin))?.name ?? this.rejected.find(holds)?.name;
    try {
      // The plugin the entry held, reloaded under its name: nothing else there is new.
      if (known && (await this.reload(known)).step !== 'unloaded') return;
      // A plugin that is new, or whose manifest now gives it another name.
      const before = new Set(this.list().map((p) => p.name));
      await this.discover();
      for (const info of this.list()) if (!before.has(info.name)) this.emit('reload', { name: info.name, step: 'loaded', ...(info.lastError ? { detail: info.lastError } : {}) });
    } catch (err) {
      if (this.closing) return;
      this.logger.warn({ root, entry, err: (err as Error).message }, 'hot reload failed');
      this.emit('reload', { name: known ?? entry, step: 'failed', detail: (err as Error).message });
    }
  }

  /**
   * provides/requires across the plugins found (service-graph.ts): a plugin
   * whose requirements cannot be met becomes invalid, saying why; the others
   * learn their providers, which start before them.
   */
  private checkServices(): void {
    const named = new Set(this.runners.keys());
    const unrunnable = new Map<string, DiscoveredPlugin>();
    for (const p of this.rejected) if (p.manifest && !named.has(p.name) && !unrunnable.has(p.name)) unrunnable.set(p.name, p);
    const graph = serviceGraph(
      [
        ...[...this.runners.values()].map((r) => ({ name: r.name, provides: r.manifest.provides, requires: r.manifest.requires })),
        ...[...unrunnable.values()].map((p) => ({ name: p.name, provides: p.manifest?.provides ?? [], requires: p.manifest?.requires ?? [], unrunnable: p.problem ?? p.status })),
      ],
      this.hostServes,
    );
    this.providers = graph.providers;
    for (const [name, problem] of graph.problems) {
      const runner = this.runners.get(name);
      if (!runner || isActive(runner)) continue;
      this.runners.delete(name);
      this.rejected.push({ ...runner.plugin, status: 'invalid', problem: `${runner.plugin.file}: ${problem}` });
      this.emit('state', rejectedInfo(this.rejected.at(-1) as DiscoveredPlugin));
    }
  }

  /** Every plugin found, runnable or not, by name. */
  list(): PluginInfo[] {
    const infos = [...[...this.runners.values()].map((r) => r.info()), ...this.rejected.map(rejectedInfo)];
    return infos.sort((a, b) => a.name.localeCompare(b.name) || a.file.localeCompare(b.file));
  }

  info(name: string): PluginInfo | undefined {
    const runner = this.runners.get(name);
    if (runner) return runner.info();
    const rejected = this.findRejected(name);
    return rejected && rejectedInfo(rejected);
  }

  /** Starts one plugin (rejecting with why it will not run), or with no name every runnable one. */
  start(name: string): Promise<PluginInfo>;
  start(): Promise<PluginInfo[]>;
  async start(name?: string): Promise<PluginInfo | PluginInfo[]> {
    if (name === undefined) return this.startAll();
    const runner = await this.runner(name, true);
    await this.startIfIdle(runner);
    await runner.start();
    return runner.info();
  }

  /** Starts every runnable plugin that is not running; one failing does not stop the others (see list()). */
  async startAll(): Promise<PluginInfo[]> {
    this.ensureOpen();
    await (this.discovered ?? this.discover());
    const idle = [...this.runners.values()].filter((r) => r.state === 'discovered' || r.state === 'stopped');
    await Promise.allSettled(idle.map((r) => this.startIfIdle(r)));
    return this.list();
  }

  async stop(name: string): Promise<void> {
    await (await this.runner(name)).stop();
  }

  /**
   * A typed client for a service a plugin provides (`provides:` in its
   * manifest), for the application itself: each call goes to the provider's
   * current connection, starting it if need be and waiting out a restart.
   */
  service<D extends ServiceDefinition>(definition: D): Client<D> {
    const connection = async (signal?: AbortSignal) => {
      const provider = this.providerOf(definition.fullName);
      if (!provider) throw new RpcError(Code.UNIMPLEMENTED, `no plugin provides ${definition.fullName}${this.discovered ? '' : ' (plugins are not discovered yet: call discover() or start() first)'}`);
      return this.providerConnection(provider, signal);
    };
    return typedClient(definition, (_path, method) => {
      const key = Object.keys(definition.methods).find((k) => definition.methods[k] === method) as string;
      const call = (conn: ClientConnection, input: unknown, options?: RpcCallOptions) => (conn.client(definition) as Record<string, (i: unknown, o?: RpcCallOptions) => unknown>)[key]?.(input, options);
      if (method.responseStream) {
        return (input: unknown, options?: RpcCallOptions) =>
          (async function* () {
            const { connection: conn, release } = await connection(options?.signal);
            try {
              yield* call(conn, input, options) as AsyncIterable<unknown>;
            } finally {
              release();
            }
          })();
      }
      return async (input: unknown, options?: RpcCallOptions) => {
        const { connection: conn, release } = await connection(options?.signal);
        try {
          return await call(conn, input, options);
        } finally {
          release();
        }
      };
    });
  }

  /**
   * A plugin's exports as a JavaScript module: `await manager.module('plugin:greeter')`
   * gives an object with one async function per function export and one
   * object of async methods per object export, as its manifest declares them
   * (or, for a plugin found by its name, as it lists them when asked).
   * Arguments and results cross as JSON-like values, checked against the
   * manifest's `params` and `returns` where it gives them; a failure rejects
   * with the plugin's message and status code. Each call starts the plugin
   * if it is idle and runs within its call timeout.
   */
  async module(id: string): Promise<Record<string, unknown>> {
    const name = this.moduleName(id);
    const exports = await this.moduleExports(name);
    if (exports.length === 0) {
      const runner = await this.runner(name);
      throw new RpcError(Code.NOT_FOUND, `plugin ${JSON.stringify(name)} exports nothing (${runner.plugin.foundByName ? `it listed no exports when asked` : `no exports: in ${runner.plugin.file}`})`);
    }
    const call = (exported: string, method: string, signature: ManifestSignature) => {
      const label = `${MODULE_PREFIX}${name} ${method ? `${exported}.${method}` : exported}`;
      return async (...given: unknown[]) => {
        const args = checkedArgs(label, signature, given);
        const operation = `module ${method ? `${exported}.${method}` : exported}`;
        const result = await this.call(name, async ({ connection, signal }) => (await connection.client(ModuleDefinition).call({ export: exported, method, args }, { signal })).result as unknown, { operation }).catch((err: unknown) => {
          // The exception names the export, not the RPC that carried it.
          const e = RpcError.from(err);
          throw new RpcError(e.code, `${label}: ${e.details.replace(/^\/hst\.plugin\.v1\.Module\/Call: /, '')}`, { cause: err });
        });
        return checkedResult(label, signature, result);
      };
    };
    return Object.fromEntries(
      exports.map((e) => [e.name, e.type === 'function' ? call(e.name, '', e) : Object.fromEntries(e.methods.map((m) => [m.name, call(e.name, m.name, m)]))]),
    );
  }

  /**
   * What a plugin exports as a module: its manifest's `exports:`, or for a
   * plugin found by its name, what it answers when asked (which starts it,
   * once). The allowlist (`modules.allow`) applies.
   */
  async moduleExports(id: string): Promise<ManifestExport[]> {
    const name = this.moduleName(id);
    const runner = await this.runner(name);
    if (!runner.plugin.foundByName) return runner.manifest.exports;
    if (!runner.learnedExports) {
      const { exports } = await this.call(name, ({ connection, signal }) => connection.client(ModuleDefinition).describe({}, { signal })).catch((err: unknown) => {
        const e = RpcError.from(err);
        throw new RpcError(e.code, `${MODULE_PREFIX}${name}: asked for its exports (it was found by its name, without a manifest): ${e.details}`, { cause: err });
      });
      runner.learnedExports = describedExports(`${MODULE_PREFIX}${name}`, exports);
      this.emit('state', runner.info());
    }
    return runner.learnedExports;
  }

  /** The plugin's name from `plugin:<name>` (or the bare name), refused unless the allowlist admits it. */
  private moduleName(id: string): string {
    const name = id.startsWith(MODULE_PREFIX) ? id.slice(MODULE_PREFIX.length) : id;
    const allow = this.options.modules?.allow;
    if (allow && !allow.some((pattern) => picomatch.isMatch(`${MODULE_PREFIX}${name}`, pattern))) {
      throw new RpcError(Code.PERMISSION_DENIED, `module ${MODULE_PREFIX}${name} is not in this host's allowlist (${allow.join(', ')})`);
    }
    return name;
  }

  /** The runnable plugin that provides `service` (the service graph allows one at most). */
  private providerOf(service: string): string | undefined {
    return [...this.runners.values()].find((r) => r.manifest.provides.includes(service))?.name;
  }

  /**
   * The provider's connection now: started if idle, waited for while it
   * (re)starts, within its call timeout. The call that uses it counts as
   * under way, for a reload to wait for, until `release`.
   */
  private async providerConnection(name: string, signal?: AbortSignal): Promise<{ connection: ClientConnection; release: () => void }> {
    const runner = await this.runner(name, true);
    const release = runner.enter();
    try {
      return { connection: await this.callOn(runner, async ({ connection }) => connection, signal ? { signal } : {}), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * The services other plugins provide to `consumer`, relayed by the host on
   * the consumer's own connection (src/host-services/provided-services.ts).
   * The provider learns who calls from `hst-consumer`, which the host sets.
   */
  private relaysFor(consumer: string): RelayedServices {
    const relays = new Map<string, Relay>();
    for (const service of this.runners.get(consumer)?.manifest.requires ?? []) {
      const provider = this.providerOf(service);
      if (!provider) continue;
      relays.set(service, (method, requests, ctx) =>
        (async function* (manager: PluginManager) {
          const { connection, release } = await manager.providerConnection(provider, ctx.signal);
          try {
            const metadata = { ...Object.fromEntries(Object.entries(ctx.metadata).filter(([k]) => !k.startsWith('hst-'))), [CONSUMER_HEADER]: consumer };
            yield* connection.client(rawService(service, method))[method]?.(requests, { signal: ctx.signal, metadata }) as unknown as AsyncIterable<Uint8Array>;
          } finally {
            release();
          }
        })(this),
      );
    }
    return relays;
  }

  /**
   * Runs `fn` against a plugin within its call timeout. A plugin that is not
   * started is started first (outside the timeout); one that is restarting is
   * waited for (inside it).
   */
  async call<T>(name: string, fn: (call: PluginCall) => Promise<T>, options: CallOptions = {}): Promise<T> {
    // It starts the plugin if need be: a refusal to is audited as one.
    const runner = await this.runner(name, true);
    const leave = runner.enter();
    try {
      return await this.callOn(runner, fn, options);
    } finally {
      leave();
    }
  }

  /** call() on the runner it found: a reload may replace the runner meanwhile, and this call stays with the one it began on. */
  private async callOn<T>(runner: PluginRunner, fn: (call: PluginCall) => Promise<T>, options: CallOptions): Promise<T> {
    await this.startIfIdle(runner);
    const { deadline, fail, end } = this.openCall(runner, 'call', options.operation ?? 'call', options);
    try {
      const client = await runner.client(deadline);
      const connection = await deadline.race(client.connect());
      return await deadline.race(fn({ name: runner.name, client, connection, signal: deadline.signal }));
    } catch (err) {
      throw fail(err);
    } finally {
      end();
    }
  }

  /**
   * One call's deadline (the caller's limit, the manifest's, or the host's
   * default) and its end: `fail` turns an error into the one to throw, `end`
   * stops the clock and tells the `call` event, for whoever keeps statistics
   * (the dashboard); nothing is sent when no one listens.
   */
  private openCall(runner: PluginRunner, what: string, operation: string, options: CallOptions): { deadline: CallDeadline; fail(err: unknown): unknown; end(): void } {
    const limit = callLimit(options.timeoutMs, runner.manifest.resources.callTimeoutMs, this.callTimeoutMs);
    const deadline = new CallDeadline(limit.timeoutMs, `plugin ${JSON.stringify(runner.name)} ${what}`, options.signal, limit.source);
    const started = performance.now();
    let failure: RpcError | undefined;
    return {
      deadline,
      fail: (err) => {
        const explained = deadline.explain(err);
        failure = RpcError.from(explained);
        return explained;
      },
      end: () => {
        deadline.dispose();
        if (this.listenerCount('call') === 0) return;
        this.emit('call', { name: runner.name, operation, ms: performance.now() - started, ...(failure ? { error: failure.details, code: failure.code } : {}) });
      },
    };
  }

  /**
   * Runs one of the plugin's commands (hst.plugin.v1.Commands) with its
   * arguments checked against the manifest: output, progress and the result as they come.
   */
  async *runCommand(name: string, command: string, args: Readonly<Record<string, string>> = {}, options: RunCommandOptions = {}): AsyncGenerator<CommandEvent> {
    const runner = await this.runner(name, true);
    const leave = runner.enter();
    try {
      yield* this.commandOn(runner, command, args, options);
    } finally {
      leave();
    }
  }

  private async *commandOn(runner: PluginRunner, command: string, args: Readonly<Record<string, string>>, options: RunCommandOptions): AsyncGenerator<CommandEvent> {
    const resolved = validateCommandArgs(runner.manifest, command, args);
    await this.startIfIdle(runner);
    const { deadline, fail, end } = this.openCall(runner, `command ${JSON.stringify(command)}`, `command ${command}`, options);
    try {
      const client = await runner.client(deadline);
      const connection = await deadline.race(client.connect());
      const events = runPluginCommand(connection, command, resolved.args, { color: options.color ?? false, signal: deadline.signal, values: resolved.values });
      try {
        // Raced, so the deadline error comes when the deadline passes, not when the cancelled stream gets round to ending.
        for (let next = await deadline.race(events.next()); !next.done; next = await deadline.race(events.next())) yield next.value;
      } finally {
        void events.return(undefined).catch(() => undefined);
      }
    } catch (err) {
      throw fail(err);
    } finally {
      end();
    }
  }

  /**
   * Decides a request the host serves on a plugin's behalf (a route or
   * widget of `hst serve`) under the plugin's capabilities and the policy,
   * audited as a host call is. The plugin is started first, since its
   * capabilities are admitted when it starts.
   */
  async authorize(name: string, capability: string, resource: string, operation: string): Promise<{ allowed: boolean; rule: string }> {
    const runner = await this.runner(name, true);
    await this.startIfIdle(runner);
    const host = this.host();
    const verdict = host.policy.decide(name, capability, resource);
    host.audit.recordCall({ clientId: name, owner: name, requestId: nextRequestId(), operation, capability, resource, rule: verdict.rule, durationUs: 0, ok: verdict.allowed, ...(verdict.allowed ? {} : { code: Code.PERMISSION_DENIED }) });
    return verdict;
  }

  /** Sends a signal (default SIGKILL) to a plugin's process, to see supervision at work. */
  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    const runner = this.runners.get(name);
    if (!runner) throw new RpcError(Code.NOT_FOUND, `no runnable plugin named ${JSON.stringify(name)}`);
    runner.kill(signal);
  }

  /** Stops every plugin gracefully, then closes the host services and the audit log. Idempotent. */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.watcher?.close();
      await this.discovered?.catch(() => undefined);
      await Promise.allSettled([...this.reloading.values()]);
      await Promise.allSettled([...this.runners.values()].map((r) => r.stop()));
      await this.guarded?.close();
      this.removeSignalHandlers?.();
    })();
    return this.closing;
  }

  private host(): GuardedHost {
    this.ensureOpen();
    if (this.guarded) return this.guarded;
    this.guarded = new GuardedHost({
      dataDir: this.dataDir,
      logger: this.logger,
      ...(this.options.policy ? { policy: this.options.policy } : {}),
      allowHardLinks: this.options.allowHardLinks ?? this.options.policy?.allowHardLinks ?? false,
      ...(this.options.onPermissionRequest ? { onPermissionRequest: this.options.onPermissionRequest } : {}),
      ...(this.options.hostServices ? { modules: this.options.hostServices } : {}),
    });
    this.guarded.hostServices.setRelays((caller) => this.relaysFor(caller.owner));
    return this.guarded;
  }

  private ensureOpen(): void {
    if (this.closing) throw new RpcError(Code.FAILED_PRECONDITION, 'the plugin manager is shut down');
  }

  /** Starts the plugin if it is not running, after the plugins providing what it requires. */
  private async startIfIdle(runner: PluginRunner): Promise<void> {
    for (const name of this.providers.get(runner.name) ?? []) {
      const provider = this.runners.get(name);
      if (provider) await this.startIfIdle(provider);
    }
    if (runner.state === 'discovered' || runner.state === 'stopped') await runner.start();
  }

  /** The runner for a plugin, discovering first if needed; for a plugin that will not run, why not. */
  private async runner(name: string, starting = false): Promise<PluginRunner> {
    this.ensureOpen();
    await (this.discovered ?? this.discover());
    const runner = this.runners.get(name);
    if (runner) return runner;
    const rejected = this.findRejected(name);
    if (!rejected) {
      const known = [...new Set(this.list().map((p) => p.name))];
      throw new RpcError(Code.NOT_FOUND, `no plugin named ${JSON.stringify(name)} in ${this.pluginDirs.join(', ')}${known.length ? ` (found: ${known.join(', ')})` : ''}`);
    }
    const signature = this.settings.signaturePolicy === 'require' ? rejected.signature : undefined;
    if (starting && signature && signature.status !== 'valid') {
      // Refusing to start it is a security decision: it belongs in the audit log.
      const { status, detail } = signature;
      this.host().audit.recordEvent(name, 'signature', { status, detail }, 'deny', `signature policy ${this.settings.signaturePolicy}`);
    }
    throw new RpcError(Code.FAILED_PRECONDITION, `plugin ${JSON.stringify(name)} is ${rejected.status}: ${rejected.problem}`);
  }

  /** A plugin that will not run, by name; one whose manifest parsed is the better match. */
  private findRejected(name: string): DiscoveredPlugin | undefined {
    return this.rejected.find((p) => p.name === name && p.manifest) ?? this.rejected.find((p) => p.name === name);
  }

  private installSignalHandlers(): void {
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
      const handler = () => {
        // A second signal while shutting down means: now.
        if (this.closing) process.exit(128 + constants.signals[signal]);
        void this.shutdown().finally(() => {
          // Someone else handles this signal too: leave the decision to them.
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
      };
      process.on(signal, handler);
      return () => process.off(signal, handler);
    });
    this.removeSignalHandlers = () => handlers.forEach((off) => off());
  }
}

function isActive(runner: PluginRunner): boolean {
  return runner.state === 'starting' || runner.state === 'running' || runner.state === 'restarting';
}

function rejectedInfo(p: DiscoveredPlugin): PluginInfo {
  return { ...discoveredInfo(p, p.status), ...(p.problem ? { lastError: p.problem } : {}) };
}
