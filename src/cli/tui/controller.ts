/**
 * What the TUI does, without drawing anything: it owns the PluginManager and
 * builds, seeds and starts the example plugins, runs their commands and the
 * concurrent calls, reads and follows the audit log, grants and revokes
 * capabilities, resets the demo state and shuts everything down. The screens
 * read its state (a new object on every change) and call its methods; the
 * component tests give them a stand-in with the same interface.
 */
import { rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import type { CommandEvent } from '../../host/commands.js';
import type { Logger } from '../../log.js';
import { PluginManager } from '../../manager/manager.js';
import type { PluginInfo, ReloadEvent } from '../../manager/plugin-info.js';
import { auditLogPath, followAudit, readAudit, type AuditRecord } from '../../security/audit.js';
import { parseCapabilityString } from '../../security/capability.js';
import { runToOutcome, type CommandOutcome } from '../command-outcome.js';
import { planConcurrentCalls, runConcurrentCalls, type CallReport, type ConcurrencyPlan, type ConcurrencySummary } from '../concurrent-calls.js';
import { buildPlugins, missingArgs, sampleArgs, seedWorkspace, setDemoEnvironment, startDemoHttpServer, workspaceOf } from '../demo-setup.js';
import { errorMessage, type HostPolicy } from '../output.js';
import { pluginProcesses } from '../plugin-processes.js';
import { withHostServices } from '../host-service-modules.js';
import { makeDirs } from '../../util/make-dirs.js';
import { terminalSafe } from '../../util/terminal-text.js';

export type Phase = 'starting' | 'ready' | 'resetting' | 'stopping' | 'stopped';

export interface ControllerState {
  phase: Phase;
  /** What start-up, a reset or the shutdown is doing, line by line; the plugin build's output among it. */
  progress: string[];
  plugins: PluginInfo[];
  /** The latest thing that went wrong: a plugin exiting or failing, a failed build. */
  lastError?: string;
  /** Where the host's log goes. */
  logFile?: string;
}

export interface CapabilityRow {
  capability: string;
  /** In the plugin's manifest. */
  declared: boolean;
  /** In effect now. */
  effective: boolean;
}

/** What the screens use. */
export interface TuiController {
  state(): ControllerState;
  /** Calls `listener` after every change of state(); returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Values a command's form starts with besides the manifest's defaults: the demo's sample arguments. */
  sampleArgs(plugin: string, command: string): Record<string, string>;
  runCommand(plugin: string, command: string, args: Record<string, string>, onEvent: (event: CommandEvent) => void, signal?: AbortSignal): Promise<CommandOutcome>;
  /** Which plugins take part; throws when fewer than two are running. */
  planConcurrency(): ConcurrencyPlan;
  runConcurrency(plan: ConcurrencyPlan, onCall: (call: CallReport) => void): Promise<ConcurrencySummary>;
  /** The audit log so far (the newest `limit` records). */
  auditRecords(limit: number): AuditRecord[];
  /** Records appended from now on, until `signal` aborts. */
  followAudit(onRecord: (record: AuditRecord) => void, signal: AbortSignal): void;
  capabilities(plugin: string): CapabilityRow[];
  /** Throws, with a message naming it, for what is not a capability. */
  grant(plugin: string, capability: string): void;
  revoke(plugin: string, capability: string): void;
  /** The commands that can run without arguments from the user, the ones that use `capability` first. */
  tryableCommands(plugin: string, capability?: string): string[];
  /** SIGKILL, to watch the manager restart it. */
  kill(plugin: string): void;
  /** Starts a plugin that is stopped or failed. */
  start(plugin: string): Promise<void>;
  reset(): Promise<void>;
  /** Stops everything; idempotent. True when no plugin process of this host is left. */
  shutdown(): Promise<boolean>;
}

export interface HostControllerOptions {
  pluginDirs: string[];
  /** Build the repository's plugins first (scripts/build-plugins.mjs). */
  build: boolean;
  dataDir: string;
  logger: Logger;
  logFile?: string;
  /** Ask plugins for coloured output. */
  color: boolean;
  /** The operator's sandbox and signature policy; the manager's defaults when absent. */
  policy?: HostPolicy;
}

/** The capability kinds a command of each name exercises, to try a grant with the command that needs it. */
const COMMAND_KINDS: Record<string, string[]> = {
  processes: ['exec', 'process.spawn'],
  events: ['events.publish', 'events.subscribe'],
  http: ['net'],
};

export class HostController implements TuiController {
  private current: ControllerState;
  private readonly listeners = new Set<() => void>();
  private manager: PluginManager | undefined;
  private detach: (() => void) | undefined;
  private httpServer: Server | undefined;
  private url = '';
  private readonly workspace: string;
  private readonly stop = new AbortController();
  private stopping: Promise<boolean> | undefined;
  /** The last progress line is still being written (a build line waiting for its outcome). */
  private openLine = false;

  constructor(private readonly options: HostControllerOptions) {
    this.workspace = workspaceOf(options.dataDir);
    this.current = { phase: 'starting', progress: [], plugins: [], ...(options.logFile ? { logFile: options.logFile } : {}) };
  }

  state(): ControllerState {
    return this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Builds (when asked), seeds the workspace, discovers and starts every plugin. */
  async startUp(): Promise<void> {
    try {
      if (this.options.build) {
        this.say('building plugins (npm run build:plugins):');
        const code = await buildPlugins((text) => this.write(text), this.stop.signal);
        if (this.closed()) return;
        if (code === undefined) this.say('not building plugins: scripts/build-plugins.mjs is not there');
        else if (code !== 0) this.problem(`building the plugins failed (exit ${code}); the plugins that did build still run`);
      }
      await this.startPlugins();
    } catch (err) {
      if (!this.closed()) this.problem(`start-up: ${errorMessage(err)}`);
    }
    if (!this.closed()) this.update({ phase: 'ready' });
  }

  sampleArgs(plugin: string, command: string): Record<string, string> {
    return { ...sampleArgs(this.url)[plugin]?.[command] };
  }

  runCommand(plugin: string, command: string, args: Record<string, string>, onEvent: (event: CommandEvent) => void, signal?: AbortSignal): Promise<CommandOutcome> {
    return runToOutcome(this.m(), plugin, command, args, onEvent, { color: this.options.color, ...(signal ? { signal } : {}) });
  }

  planConcurrency(): ConcurrencyPlan {
    return planConcurrentCalls(this.m());
  }

  runConcurrency(plan: ConcurrencyPlan, onCall: (call: CallReport) => void): Promise<ConcurrencySummary> {
    return runConcurrentCalls(this.m(), plan, this.workspace, onCall);
  }

  auditRecords(limit: number): AuditRecord[] {
    return readAudit(this.auditPath).slice(-limit);
  }

  followAudit(onRecord: (record: AuditRecord) => void, signal: AbortSignal): void {
    // It watches the directory, which the host makes only when it first records something.
    makeDirs(dirname(this.auditPath), 0o700);
    followAudit(this.auditPath, {}, onRecord, signal);
  }

  capabilities(plugin: string): CapabilityRow[] {
    const declared = this.m().info(plugin)?.capabilities ?? [];
    const effective = this.m().policy.effective(plugin);
    const all = [...declared, ...effective.filter((c) => !declared.includes(c))];
    return all.map((capability) => ({ capability, declared: declared.includes(capability), effective: effective.includes(capability) }));
  }

  grant(plugin: string, capability: string): void {
    parseCapabilityString(capability);
    this.m().policy.grant(plugin, capability);
  }

  revoke(plugin: string, capability: string): void {
    this.m().policy.revoke(plugin, capability);
  }

  tryableCommands(plugin: string, capability?: string): string[] {
    const samples = sampleArgs(this.url)[plugin] ?? {};
    const commands = (this.m().info(plugin)?.commands ?? []).filter((c) => missingArgs(c, samples[c.name] ?? {}).length === 0);
    const kind = capability ? parseCapabilityString(capability).kind : undefined;
    const uses = (name: string) => kind !== undefined && (name.startsWith(kind) || (COMMAND_KINDS[name] ?? []).includes(kind));
    return [...commands.filter((c) => uses(c.name)), ...commands.filter((c) => !uses(c.name))].map((c) => c.name);
  }

  kill(plugin: string): void {
    this.m().kill(plugin);
  }

  async start(plugin: string): Promise<void> {
    try {
      await this.m().start(plugin);
    } catch (err) {
      this.problem(`${plugin}: ${errorMessage(err)}`);
    }
  }

  /**
   * Stops every plugin, clears the run and temp directories, the KV data and
   * the workspace (seeded again), and starts them all on a fresh manager:
   * run-time grants and revocations are gone too. The audit log stays.
   */
  async reset(): Promise<void> {
    if (this.current.phase !== 'ready') return;
    this.openLine = false;
    this.update({ phase: 'resetting', progress: [], lastError: undefined });
    try {
      this.say('stopping every plugin...');
      await this.stopPlugins();
      this.say('clearing the workspace, the plugins\' run directories and the KV data');
      rmSync(this.workspace, { recursive: true, force: true });
      rmSync(join(this.options.dataDir, 'run'), { recursive: true, force: true });
      for (const file of ['kv.sqlite', 'kv.sqlite-wal', 'kv.sqlite-shm']) rmSync(join(this.options.dataDir, file), { force: true });
      await this.startPlugins();
    } catch (err) {
      this.problem(`reset: ${errorMessage(err)}`);
    }
    if (!this.closed()) this.update({ phase: 'ready' });
  }

  shutdown(): Promise<boolean> {
    this.stopping ??= (async () => {
      this.stop.abort();
      this.openLine = false;
      this.update({ phase: 'stopping', progress: [] });
      this.say('stopping every plugin...');
      try {
        await this.stopPlugins();
      } catch (err) {
        this.problem(`shutdown: ${errorMessage(err)}`);
      }
      const left = pluginProcesses(this.options.pluginDirs.map((d) => resolve(d)), resolve(this.options.dataDir));
      if (left.length > 0) this.problem(`plugin processes still running: ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
      this.update({ phase: 'stopped' });
      return left.length === 0;
    })();
    return this.stopping;
  }

  private get auditPath(): string {
    return auditLogPath(this.options.dataDir);
  }

  private closed(): boolean {
    return this.stop.signal.aborted;
  }

  private m(): PluginManager {
    if (!this.manager || this.current.phase !== 'ready') throw new Error(`the host is ${this.current.phase === 'ready' ? 'not started' : this.current.phase}`);
    return this.manager;
  }

  private async startPlugins(): Promise<void> {
    const seeded = seedWorkspace(this.workspace);
    this.say(`a scratch workspace every plugin shares: ${this.workspace} (${seeded} files)`);
    setDemoEnvironment();
    // Hot reload: a plugin rebuilt while the TUI runs takes over from the running version.
    const manager = new PluginManager({ pluginDirs: this.options.pluginDirs, dataDir: this.options.dataDir, logger: this.options.logger, workspace: () => this.workspace, hotReload: true, ...this.options.policy, ...withHostServices() });
    this.manager = manager;
    // A shutdown that began before this manager existed did not stop it; it has started nothing yet.
    if (this.closed()) return;
    this.watch(manager);
    const { warnings } = await manager.discover();
    for (const warning of warnings) this.say(`warning: ${warning}`);
    const { server, url } = await startDemoHttpServer(manager.policy);
    if (this.closed()) {
      server.close();
      return;
    }
    this.httpServer = server;
    this.url = url;
    this.say('starting every plugin...');
    const plugins = await manager.startAll();
    for (const p of plugins) this.say(`${p.name}: ${p.status}${p.pid !== undefined ? ` (pid ${p.pid})` : ''}${p.status !== 'running' && p.lastError ? `: ${p.lastError}` : ''}`);
  }

  private async stopPlugins(): Promise<void> {
    const manager = this.manager;
    const server = this.httpServer;
    this.httpServer = undefined;
    server?.close();
    await manager?.shutdown();
    this.detach?.();
    this.detach = undefined;
  }

  /** Keeps the plugin list current and remembers the latest exit or failure. */
  private watch(manager: PluginManager): void {
    const onState = () => this.update({ plugins: manager.list() });
    const onExited = ({ name, reason }: { name: string; reason: string }) => this.problem(`${name}: ${reason}`);
    const onFailed = ({ name, error }: { name: string; error: string }) => this.problem(`${name}: ${error}`);
    const onReload = ({ name, step, detail }: ReloadEvent) => {
      const line = `${name}: ${step === 'failed' ? 'reload failed' : step}${detail ? `: ${detail}` : ''}`;
      if (step === 'failed') this.problem(line);
      else this.say(line);
    };
    manager.on('state', onState);
    manager.on('exited', onExited);
    manager.on('failed', onFailed);
    manager.on('reload', onReload);
    this.detach = () => {
      manager.off('state', onState);
      manager.off('exited', onExited);
      manager.off('failed', onFailed);
      manager.off('reload', onReload);
    };
  }

  private problem(message: string): void {
    this.say(message);
    this.update({ lastError: message });
  }

  private say(line: string): void {
    this.write(`${line}\n`);
  }

  /** Adds text to the progress lines; a line without its newline yet is finished by the next text. */
  private write(text: string): void {
    // Plugins' words reach these lines (their errors, their stderr): nothing in them may drive the terminal.
    const pieces = terminalSafe(text).split('\n');
    const progress = [...this.current.progress];
    if (this.openLine && progress.length > 0) progress[progress.length - 1] += pieces.shift() ?? '';
    if (text.endsWith('\n')) pieces.pop();
    progress.push(...pieces);
    this.openLine = !text.endsWith('\n');
    this.update({ progress });
  }

  private update(change: Partial<ControllerState>): void {
    const next = { ...this.current, ...change };
    if (next.lastError === undefined) delete next.lastError; // cleared by a reset
    this.current = next;
    for (const listener of this.listeners) listener();
  }
}
