/**
 * One managed plugin's life: each start checks its signature again, admits
 * its capabilities to the policy, launches it (sandboxed unless the host says
 * otherwise) and connects it to the shared host services. An exit nobody
 * asked for is seen at once (the client's 'exit' event); the plugin is then
 * restarted after a growing wait, until it crashes too often in a window and
 * is marked failed with its last stderr lines. A plugin that stops answering
 * health checks is killed and goes the same way.
 */
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { PluginClient } from '../host/plugin-client.js';
import type { ExitInfo } from '../host/plugin-process.js';
import { establishHostServices, type HostServicesConnection } from '../host-services/establish.js';
import type { Logger } from '../log.js';
import { Code, RpcError } from '../rpc/status.js';
import type { Manifest, ManifestExport } from '../security/manifest.js';
import { SandboxUnavailableError, type SandboxLayer } from '../security/sandbox.js';
import { copyCommand, SignatureError, verifyPlugin, type SignaturePolicy, type VerifyResult } from '../security/signature.js';
import { RestartBudget, type RestartOptions } from './backoff.js';
import type { CallDeadline } from './deadline.js';
import type { DiscoveredPlugin } from './discovery.js';
import type { GuardedHost } from './guarded-host.js';
import { discoveredInfo, type PluginInfo, type PluginManagerEvents, type PluginStatus } from './plugin-info.js';
import { launchPlan, type RuntimeOptions } from './runtime.js';
import { requiredServiceGrants } from '../host-services/provided-services.js';
import { makeDirs } from '../util/make-dirs.js';

export type SandboxMode = 'auto' | 'require' | 'off';

/**
 * What each mode insists on. `auto`: isolation, so that no plugin can see,
 * signal or trace the host or another plugin on any machine it runs on;
 * `require`: the syscall filter too.
 */
const REQUIRED_LAYERS: Record<Exclude<SandboxMode, 'off'>, SandboxLayer[]> = {
  auto: ['isolation'],
  require: ['isolation', 'seccomp'],
};

export interface RunnerSettings {
  dataDir: string;
  logger: Logger;
  signaturePolicy: SignaturePolicy;
  trustedKeysDir: string;
  sandbox: SandboxMode;
  autoMTLS: boolean;
  /** Offered to Node plugins only: Go and Python plugins speak gRPC. */
  transport: 'native' | 'grpc';
  restart: RestartOptions;
  health: { intervalMs: number; timeoutMs: number };
  startTimeoutMs?: number;
  /** The plugin's workspace (where its paths resolve); default `<dataDir>/workspaces/<name>`. */
  workspace?: (manifest: Manifest) => string;
  runtime: RuntimeOptions;
}

/** A plugin that was found runnable: it has its manifest and the bytes it came from. */
export type RunnablePlugin = DiscoveredPlugin & { manifest: Manifest; manifestBytes: Buffer };

interface Live {
  client: PluginClient;
  connection: HostServicesConnection | undefined;
}

export class PluginRunner {
  private status: PluginStatus = 'discovered';
  private live: Live | undefined;
  private pid: number | undefined;
  private restarts = 0;
  private lastError: string | undefined;
  private lastStderr: string[] | undefined;
  private signature: VerifyResult | undefined;
  private sandboxReport: PluginInfo['sandbox'];
  private budget: RestartBudget;
  /** Bumped by every start and stop: work begun under an older epoch is abandoned. */
  private epoch = 0;
  private initialStart: Promise<void> | undefined;
  /** The launch in progress, so stop() can wait for it. */
  private attempt: Promise<Live> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  /** Why the live client was killed by us without a stop: it failed its health check. */
  private unhealthy: string | undefined;
  private readonly watchers = new Set<() => void>();
  private readonly logger: Logger;
  /** A plugin found by its name has no manifest to list its exports: what it answered when asked. */
  learnedExports: ManifestExport[] | undefined;
  /** Calls and commands under way on this runner's plugin: what a reload waits for before stopping it. */
  private inFlight = 0;
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    readonly plugin: RunnablePlugin,
    private readonly settings: RunnerSettings,
    private readonly host: () => GuardedHost,
    private events: EventEmitter<PluginManagerEvents>,
    /** Which version of the plugin this is since the manager found it: each hot reload counts one. */
    readonly generation = 0,
  ) {
    this.budget = new RestartBudget(settings.restart);
    this.logger = settings.logger.child({ plugin: plugin.name });
    this.signature = plugin.signature;
  }

  get name(): string {
    return this.plugin.name;
  }

  get manifest(): Manifest {
    return this.plugin.manifest;
  }

  get state(): PluginStatus {
    return this.status;
  }

  /** Counts a call as under way until the returned function is called. */
  enter(): () => void {
    this.inFlight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      if (--this.inFlight === 0) for (const wake of [...this.idleWaiters]) wake();
    };
  }

  /** Resolves true once no call is under way, or false after `timeoutMs` with some still running. */
  async drained(timeoutMs: number): Promise<boolean> {
    // A call that found this runner just before it was replaced counts itself before the next turn.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.inFlight === 0) return true;
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(wake);
        resolve(idle);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(wake);
    });
  }

  /** The calls still under way, for the reload's report when draining timed out. */
  get callsInFlight(): number {
    return this.inFlight;
  }

  /**
   * A runner replaced by a newer version of its plugin: what it does from
   * now on (being drained and stopped) is no news to anyone watching the
   * plugin, whose state is the new runner's.
   */
  retire(): void {
    this.attach(new EventEmitter<PluginManagerEvents>());
  }

  /** Where its events go: a reload starts the new version unheard, and attaches it once it takes over. */
  attach(events: EventEmitter<PluginManagerEvents>): void {
    this.events = events;
  }

  /** Why the last hot reload of this plugin failed while this version kept running; cleared by the next that works. */
  reloadError: string | undefined;

  info(): PluginInfo {
    return {
      ...discoveredInfo(this.plugin, this.status, this.signature),
      ...(this.learnedExports ? { exports: this.learnedExports } : {}),
      ...(this.pid !== undefined ? { pid: this.pid } : {}),
      restarts: this.restarts,
      reloads: this.generation,
      ...(this.reloadError !== undefined ? { reloadError: this.reloadError } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastStderr ? { lastStderr: [...this.lastStderr] } : {}),
      sandboxMode: this.settings.sandbox,
      ...(this.sandboxReport ? { sandbox: this.sandboxReport } : {}),
    };
  }


  /** Asks the running plugin whether it is healthy (go-plugin's health service), as the periodic check does. */
  async healthCheck(): Promise<void> {
    if (!this.live) throw this.notRunning();
    await this.live.client.ping(this.settings.health.timeoutMs);
  }

  /** Starts the plugin, or waits for the start already under way; rejects when it will not run. */
  start(): Promise<void> {
    if (this.status === 'running') return Promise.resolve();
    if (this.status === 'starting' && this.initialStart) return this.initialStart;
    if (this.status === 'restarting') return this.whenRunning();
    const epoch = ++this.epoch;
    this.budget = new RestartBudget(this.settings.restart);
    this.restarts = 0;
    this.lastError = undefined;
    this.lastStderr = undefined;
    this.setState('starting');
    this.initialStart = this.launchOnce().then(
      (live) => {
        if (epoch !== this.epoch) return;
        this.becomeLive(live);
        this.events.emit('started', { name: this.name, pid: live.client.pid as number });
      },
      (err: unknown) => {
        if (epoch === this.epoch) this.fail((err as Error).message);
        throw err;
      },
    );
    return this.initialStart;
  }

  /** Stops the plugin gracefully and keeps it down. */
  async stop(): Promise<void> {
    this.epoch++;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.stopHealthChecks();
    // A launch still under way is not live yet, but it is ours to take down.
    const launched = await this.attempt?.catch(() => undefined);
    const doomed = new Set([this.live, launched].filter((l): l is Live => l !== undefined));
    this.live = undefined;
    await Promise.all(
      [...doomed].map(async ({ client, connection }) => {
        await client.kill();
        await connection?.close();
      }),
    );
    this.pid = undefined;
    if (this.status !== 'discovered') this.setState('stopped');
  }

  /** Sends a signal to the plugin's process, as something outside the host might. */
  kill(signal: NodeJS.Signals): void {
    const pid = this.live?.client.pid;
    if (pid === undefined) throw this.notRunning();
    process.kill(pid, signal);
  }

  /** The running plugin's client, waiting through a start or restart until the deadline. */
  async client(deadline: CallDeadline): Promise<PluginClient> {
    for (;;) {
      if (this.status === 'running' && this.live) return this.live.client;
      if (this.status !== 'starting' && this.status !== 'restarting') throw this.notRunning();
      await deadline.race(this.nextChange());
    }
  }

  private async whenRunning(): Promise<void> {
    while (this.status === 'restarting' || this.status === 'starting') await this.nextChange();
    if (this.status !== 'running') throw this.notRunning();
  }

  private notRunning(): RpcError {
    return new RpcError(Code.UNAVAILABLE, `plugin ${JSON.stringify(this.name)} is ${this.status}${this.lastError ? `: ${this.lastError}` : ''}`);
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.watchers.add(resolve));
  }

  private setState(status: PluginStatus): void {
    this.status = status;
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const wake of watchers) wake();
    this.events.emit('state', this.info());
  }

  private fail(error: string): void {
    this.lastError = error;
    this.pid = undefined;
    this.setState('failed');
    this.logger.error({ error, stderr: this.lastStderr }, 'plugin failed');
    this.events.emit('failed', { name: this.name, error, lastStderr: [...(this.lastStderr ?? [])] });
  }

  private launchOnce(): Promise<Live> {
    const attempt = this.launch();
    this.attempt = attempt;
    void attempt.catch(() => undefined).finally(() => {
      if (this.attempt === attempt) this.attempt = undefined;
    });
    return attempt;
  }

  private async launch(): Promise<Live> {
    const m = this.manifest;
    const host = this.host();
    const signature = await this.checkSignature(host);
    // `requires:` is the plugin's request to call those services: granted like its capabilities, narrowed by the operator's policy alike.
    host.admit(m.name, [...m.capabilities, ...requiredServiceGrants(m.requires)], signature.commandSha256);

    const workspace = this.settings.workspace?.(m) ?? join(this.settings.dataDir, 'workspaces', m.name);
    const workDir = join(this.settings.dataDir, 'run', m.name);
    makeDirs(workspace, 0o700);
    makeDirs(workDir, 0o700);
    const mode = this.settings.sandbox;
    const plan = await launchPlan(
      m,
      { workDir, ...(mode === 'off' ? {} : { sandboxRequire: REQUIRED_LAYERS[mode], ...(signature.verifiedCopy ? { verifiedCopy: signature.verifiedCopy } : {}) }) },
      this.settings.runtime,
    );
    // The interpreter is what an interpreted plugin executes; its entry was hashed just now by checkSignature.
    const checksum = m.runtime === 'binary' ? signature.commandSha256 : undefined;
    const client = new PluginClient({
      name: m.name,
      handshake: { magicCookieKey: m.handshake.magicCookieKey, magicCookieValue: m.handshake.magicCookieValue },
      versionedPlugins: Object.fromEntries(m.handshake.protocolVersions.map((v) => [v, {}])),
      command: plan.command,
      ...(plan.sandbox ? { sandbox: plan.sandbox } : {}),
      ...(checksum ? { secureConfig: { checksum } } : {}),
      stdin: 'ignore',
      skipHostEnv: true,
      autoMTLS: this.settings.autoMTLS,
      native: m.runtime === 'node' && this.settings.transport === 'native',
      logger: this.settings.logger,
      ...(this.settings.startTimeoutMs ? { startTimeoutMs: this.settings.startTimeoutMs } : {}),
    });
    client.on('sandbox', (report) => {
      this.sandboxReport = { layers: [...report.layers], inactive: [...report.inactive] };
      host.audit.recordEvent(m.name, 'sandbox', { ...report });
    });
    if (!plan.sandbox) {
      this.sandboxReport = { layers: [], inactive: [] };
      host.audit.recordEvent(m.name, 'sandbox', { layers: [], inactive: [], reason: 'the host runs plugins with sandbox off' });
    }
    client.once('exit', (info) => this.onExit(client, info));
    try {
      await client.start();
      const connection = await establishHostServices(client, host.hostServices, {
        workspace,
        owner: m.name,
        onRefusedConnection: (reason) =>
          host.audit.recordEvent(m.name, 'impersonation', { listener: 'host services', reason }, 'deny', `only ${m.name}'s own certificate (AutoMTLS)`),
        ...(plan.sandbox ? { sandbox: { ...(plan.sandbox.resources ? { resources: plan.sandbox.resources } : {}), ...(plan.sandbox.require ? { require: plan.sandbox.require } : {}) } } : {}),
      });
      if (client.hasExited()) throw new Error(`plugin ${JSON.stringify(m.name)} exited as soon as it had started`);
      return { client, connection };
    } catch (err) {
      await client.kill();
      this.lastStderr = client.lastStderr();
      if (err instanceof SandboxUnavailableError) {
        const missing = err.missing.map((l) => l.layer);
        host.audit.recordEvent(m.name, 'sandbox', { missing: err.missing }, 'deny', `sandbox ${mode}`);
        throw new Error(
          `plugin ${JSON.stringify(m.name)} refused: this machine cannot give it the sandbox it requires (${missing.join(', ')}): ${err.missing.map((l) => l.reason).join('; ')}; install bubblewrap (apt-get install bubblewrap), or run it unconfined with --sandbox off`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Verifies the signature again (the files may have changed since discovery) and audits the outcome. */
  private async checkSignature(host: GuardedHost): Promise<VerifyResult> {
    const { manifest: m, manifestBytes, dir } = this.plugin;
    const policy = this.settings.signaturePolicy;
    const rule = `signature policy ${policy}`;
    // Under the sandbox the plugin runs from a copy of what was verified, out of reach of anyone changing its files now.
    // Two slots, so a reloaded version starts from its own copy while the one it replaces still runs from the other.
    const copyTo = this.settings.sandbox === 'off' ? undefined : join(this.settings.dataDir, 'verified', this.generation % 2 === 0 ? m.name : `${m.name}.next`);
    try {
      const result =
        this.plugin.foundByName && this.plugin.signature
          ? // Nothing to verify (discovery refused it under policy require); the copy still keeps the rest of its directory out of its sandbox.
            { ...this.plugin.signature, ...(copyTo ? await copyCommand(dir, m.command, copyTo) : {}) }
          : await verifyPlugin(dir, this.settings.trustedKeysDir, { name: m.name, version: m.version, command: m.command, manifestBytes }, policy, copyTo ? { copyTo } : {});
      this.signature = result;
      host.audit.recordEvent(m.name, 'signature', { status: result.status, detail: result.detail, ...(result.keyId ? { key_id: result.keyId } : {}) }, 'allow', rule);
      if (policy === 'warn' && result.status !== 'valid') this.logger.warn({ status: result.status, detail: result.detail }, 'starting a plugin without a valid signature (signature policy warn)');
      return result;
    } catch (err) {
      if (err instanceof SignatureError) {
        this.signature = err.result;
        host.audit.recordEvent(m.name, 'signature', { status: err.result.status, detail: err.result.detail }, 'deny', rule);
      }
      throw err;
    }
  }

  private becomeLive(live: Live): void {
    this.live = live;
    this.pid = live.client.pid;
    this.setState('running');
    this.startHealthChecks(live.client);
  }

  private onExit(client: PluginClient, info: ExitInfo): void {
    if (this.live?.client !== client) return; // a stop, or a launch that fails on its own
    this.live = undefined;
    this.stopHealthChecks();
    const pid = this.pid;
    this.pid = undefined;
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    const reason = this.unhealthy ?? `the plugin process ${how}`;
    this.unhealthy = undefined;
    this.lastStderr = client.lastStderr();
    this.lastError = reason;
    this.logger.warn({ pid, code: info.code, signal: info.signal, reason }, 'plugin exited unexpectedly');
    this.events.emit('exited', { name: this.name, pid, code: info.code, signal: info.signal, reason });
    this.scheduleRestart(this.epoch);
  }

  private scheduleRestart(epoch: number): void {
    if (epoch !== this.epoch) return;
    const delay = this.budget.next();
    if (delay === undefined) {
      this.fail(`${this.lastError ?? 'it kept exiting'}; gave up after ${this.budget.describe()}`);
      return;
    }
    this.setState('restarting');
    this.restartTimer = setTimeout(() => void this.restart(epoch), delay);
  }

  private async restart(epoch: number): Promise<void> {
    this.restartTimer = undefined;
    if (epoch !== this.epoch) return;
    this.restarts++;
    let live: Live;
    try {
      live = await this.launchOnce();
    } catch (err) {
      if (epoch !== this.epoch) return;
      this.lastError = `restart ${this.restarts} failed: ${(err as Error).message}`;
      this.logger.warn({ error: this.lastError }, 'plugin restart failed');
      this.scheduleRestart(epoch);
      return;
    }
    if (epoch !== this.epoch) return; // stop() is waiting for this launch and takes it down
    this.becomeLive(live);
    this.events.emit('restarted', { name: this.name, pid: live.client.pid as number, restarts: this.restarts });
  }

  private startHealthChecks(client: PluginClient): void {
    const { intervalMs, timeoutMs } = this.settings.health;
    if (intervalMs <= 0) return;
    let pinging = false;
    this.healthTimer = setInterval(() => {
      if (pinging || this.live?.client !== client) return;
      pinging = true;
      client
        .ping(timeoutMs)
        .catch((err: unknown) => {
          if (this.live?.client !== client || client.hasExited()) return;
          this.unhealthy = `health check failed: ${(err as Error).message}`;
          // It does not answer, so asking it to shut down would only wait: kill it and let the restart begin.
          client.killNow();
        })
        .finally(() => (pinging = false));
    }, intervalMs);
    // Health checks alone must not keep the host process alive.
    this.healthTimer.unref();
  }

  private stopHealthChecks(): void {
    clearInterval(this.healthTimer);
    this.healthTimer = undefined;
  }
}
