/**
 * The scripted demo (`hst --no-tui`, `hst demo`): the example plugins under
 * one PluginManager, in a scratch workspace they share. It runs every command
 * of every plugin, has several plugins call the shared host services at
 * once, shows a refused call next to its audit record, kills a plugin and
 * watches it come back, and shuts down leaving nothing running. A plugin
 * whose runtime is missing here (Go, Python) is shown with the reason and
 * left out; the demo fails only when something that should work does not.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../log.js';
import { PluginManager } from '../manager/manager.js';
import { importablePlugins } from '../manager/plugin-modules.js';
import type { PluginInfo, PluginManagerEvents } from '../manager/plugin-info.js';
import { readAudit } from '../security/audit.js';
import { formatAuditRecord } from './audit.js';
import { failureText, runToOutcome, summarize } from './command-outcome.js';
import { planConcurrentCalls, ROUNDS, runConcurrentCalls, summaryLine } from './concurrent-calls.js';
import { BUILD_SCRIPT, buildPlugins, demoPlugins, missingArgs, sampleArgs, seedWorkspace, setDemoEnvironment, startDemoHttpServer, workspaceOf } from './demo-setup.js';
import { formatPluginList } from './list.js';
import { Cli, errorMessage, type GlobalOptions, type HostPolicy, type Style } from './output.js';
import { withHostServices } from './host-service-modules.js';
import { pluginProcesses, running } from './plugin-processes.js';
import { repoRoot } from './paths.js';
import type { HostServiceModule } from '../host-services/operation.js';

export interface DemoOptions {
  pluginDirs: string[];
  /** Build the repository's plugins first (scripts/build-plugins.mjs). */
  build: boolean;
  dataDir: string;
  logger: Logger;
  style: Style;
  color: boolean;
  policy: HostPolicy;
  write(text: string): void;
}

/** Section 3: a file filelister may not write (it may write only under listings/). */
const FORBIDDEN_OUT = 'stolen.txt';

export async function runDemo(options: DemoOptions): Promise<boolean> {
  return new Demo(options).run();
}

class Demo {
  private readonly s: Style;
  private readonly workspace: string;
  private readonly pids = new Set<number>();
  private manager: PluginManager | undefined;
  private failures = 0;
  private httpServer: Server | undefined;

  constructor(private readonly options: DemoOptions) {
    this.s = options.style;
    this.workspace = workspaceOf(options.dataDir);
  }

  private print(line = ''): void {
    this.options.write(`${line}\n`);
  }

  private fail(what: string): void {
    this.failures++;
    this.print(`   ${this.s.red('FAIL')}  ${what}`);
  }

  /** A plugin that will not run, and why. */
  private printUnrunnable(info: PluginInfo): void {
    this.print(`   ${this.s.bold(info.name)}  ${this.s.yellow(`${info.status}: ${info.lastError ?? ''}`)}`);
  }

  private section(title: string): void {
    this.print();
    this.print(this.s.bold(`== ${title}`));
  }

  private get m(): PluginManager {
    return this.manager as PluginManager;
  }

  async run(): Promise<boolean> {
    const started = performance.now();
    this.print(this.s.bold('hst demo: the example plugins under one plugin manager'));
    this.print(this.s.dim(`plugins from ${this.options.pluginDirs.join(', ')}; host data in ${this.options.dataDir}`));
    try {
      if (await this.step('Preparing', () => this.prepare())) {
        await this.step("1. Every plugin's commands", () => this.everyCommand());
        await this.step('2. Several plugins calling the shared host services at once', () => this.concurrency());
        await this.step('3. A refused operation and its audit record', () => this.denied());
        await this.step('4. A plugin killed with SIGKILL and restarted', () => this.killAndRestart());
        if (this.options.build) {
          await this.step('5. A host service the application adds, called from three languages', () => this.appHostService());
          await this.step('6. Plugins imported as JavaScript modules', () => this.pluginModules());
        }
      }
    } finally {
      await this.step(`${this.options.build ? 7 : 5}. Shutdown`, () => this.shutdown());
      this.httpServer?.close();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    this.print();
    this.print(this.failures === 0 ? this.s.green(`the demo ran in ${seconds} s, every step passed`) : this.s.red(`the demo ran in ${seconds} s; ${this.failures} step(s) failed`));
    return this.failures === 0;
  }

  /** A section; an exception in it fails it (false), and the next one still runs. */
  private async step(title: string, body: () => Promise<void>): Promise<boolean> {
    this.section(title);
    try {
      await body();
      return true;
    } catch (err) {
      this.fail(errorMessage(err));
      return false;
    }
  }

  private async prepare(): Promise<void> {
    if (this.options.build) await this.buildPlugins();
    const seeded = seedWorkspace(this.workspace);
    this.print(`   a scratch workspace every plugin shares: ${this.workspace} (${seeded} files)`);
    setDemoEnvironment();
    this.manager = new PluginManager({
      pluginDirs: this.options.pluginDirs,
      dataDir: this.options.dataDir,
      logger: this.options.logger,
      workspace: () => this.workspace,
      restart: { initialBackoffMs: 100 },
      ...this.options.policy,
      ...withHostServices(),
    });
    this.m.on('started', ({ pid }) => this.pids.add(pid));
    this.m.on('restarted', ({ pid }) => this.pids.add(pid));
    const { plugins, warnings } = await this.m.discover();
    for (const warning of warnings) this.print(`   ${this.s.yellow(`warning: ${warning}`)}`);
    this.print();
    this.options.write(indent(formatPluginList(plugins, this.s)));
  }

  /** scripts/build-plugins.mjs, its lines shown as they come (a Go build takes a moment). */
  private async buildPlugins(): Promise<void> {
    this.print('   building plugins (npm run build:plugins):');
    let atLineStart = true;
    const code = await buildPlugins((text) => {
      this.options.write(text.replace(/^|\n(?=.)/g, (m) => (m === '' && !atLineStart ? '' : `${m}     `)));
      atLineStart = text.endsWith('\n');
    });
    if (!atLineStart) this.print();
    if (code === undefined) this.print(`   not building plugins: ${BUILD_SCRIPT} is not there (run the demo from the repository)`);
    else if (code !== 0) this.fail(`building the plugins failed (exit ${code}); the plugins that did build still run`);
  }

  private async everyCommand(): Promise<void> {
    const { server, url } = await startDemoHttpServer(this.m.policy);
    this.httpServer = server;
    const samples = sampleArgs(url);

    this.print(this.s.dim('   starting every runnable plugin at once...'));
    await this.m.startAll();
    for (const info of this.m.list()) {
      this.print();
      if (info.status === 'unavailable' || info.status === 'invalid') {
        this.printUnrunnable(info);
        continue;
      }
      if (info.status !== 'running') {
        this.print(`   ${this.s.bold(info.name)}`);
        this.fail(`${info.name} is ${info.status}: ${info.lastError ?? ''}`);
        continue;
      }
      const layers = info.sandbox?.layers.length ? info.sandbox.layers.join(', ') : 'none';
      this.print(`   ${this.s.bold(info.name)} ${info.version} (${info.language ?? info.runtime}, pid ${info.pid}, sandbox: ${layers})`);
      for (const command of info.commands) {
        const args = samples[info.name]?.[command.name] ?? {};
        const missing = missingArgs(command, args);
        if (missing.length > 0) {
          this.print(`   ${this.s.yellow('skip')}  ${command.name.padEnd(10)} it needs ${missing.join(', ')}`);
          continue;
        }
        const outcome = await runToOutcome(this.m, info.name, command.name, args);
        const shown = Object.entries(args).map(([k, v]) => `${k}=${v}`).join(' ');
        const label = `${command.name.padEnd(10)} ${String(Math.round(outcome.ms)).padStart(5)} ms  `;
        if (outcome.ok) {
          const progress = outcome.progress > 0 ? `, ${outcome.progress} progress updates` : '';
          this.print(`   ${this.s.green('ok')}    ${label}${this.s.dim(shown ? `${shown} -> ` : '')}${summarize(outcome.value)}${progress}`);
        } else {
          this.fail(`${info.name} ${command.name} ${shown}: ${failureText(outcome)}`);
        }
      }
    }
  }

  private async concurrency(): Promise<void> {
    const plan = planConcurrentCalls(this.m);
    if (plan.left.length > 0) this.print(this.s.dim(`   left out, not running: ${plan.left.join(', ')}`));
    this.print(`   ${plan.calls.map((c) => `${c.plugin} ${c.command}`).join(', ')}: ${ROUNDS} rounds each, all at once`);
    const width = Math.max(...plan.calls.map((c) => c.plugin.length));
    const callWidth = Math.max(...plan.calls.map((c) => c.command.length)) + ` #${ROUNDS}`.length;
    const summary = await runConcurrentCalls(this.m, plan, this.workspace, (call) => {
      const at = `+${String(Math.round(call.atMs)).padStart(5)} ms`;
      const head = `   ${this.s.dim(at)}  ${this.s.cyan(call.plugin.padEnd(width))}  ${`${call.command} #${call.round}`.padEnd(callWidth)}`;
      if (call.ok) this.print(`${head}  ${this.s.green('ok')} ${call.ms.toFixed(1).padStart(6)} ms  ${call.text}`);
      else this.print(`${head}  ${this.s.red('error')} ${call.text}`);
    });
    summary.unaudited.forEach((problem) => this.fail(problem));
    const line = summaryLine(summary);
    this.print();
    if (summary.errors > 0 || summary.calls !== plan.calls.length * ROUNDS || summary.unaudited.length > 0) this.fail(line);
    else this.print(`   ${this.s.green('ok')}    ${line}; every call audited; each listing saw all ${summary.expectedEntries} workspace entries`);
  }

  private async denied(): Promise<void> {
    this.print(`   filelister may write only listings/** (plugin.yaml); it is asked to save to ${FORBIDDEN_OUT}:`);
    const outcome = await runToOutcome(this.m, 'filelister', 'save', { path: '.', out: FORBIDDEN_OUT });
    const error = (outcome.value as { error?: unknown } | null)?.error;
    this.print(`   exit code ${outcome.exitCode}: ${failureText(outcome)}`);
    if (outcome.exitCode === 0 || typeof error !== 'string' || !error.includes('PERMISSION_DENIED')) this.fail('the write was not refused with PERMISSION_DENIED');
    if (existsSync(join(this.workspace, FORBIDDEN_OUT))) this.fail(`${FORBIDDEN_OUT} was written`);
    const record = readAudit(this.m.auditPath, { plugin: 'filelister', denied: true }).findLast((r) => r.op === 'Filesystem/WriteFile' && r.resource === FORBIDDEN_OUT);
    if (!record) throw new Error(`no deny record for Filesystem/WriteFile ${FORBIDDEN_OUT} in ${this.m.auditPath}`);
    this.print(`   the audit log (${this.m.auditPath}) has:`);
    this.print(`   ${formatAuditRecord(record, this.options.color)}`);
    this.print(`   ${this.s.dim(JSON.stringify(record))}`);
    this.print(`   ${this.s.green('ok')}    refused, nothing written, and the refusal is on record`);
  }

  private async killAndRestart(): Promise<void> {
    const name = 'filelister';
    const before = this.m.info(name);
    if (before?.status !== 'running' || before.pid === undefined) throw new Error(`${name} is not running (${before?.status ?? 'not found'})`);
    const oldPid = before.pid;
    const exited = onceFor(this.m, 'exited', name);
    const restarted = onceFor(this.m, 'restarted', name);
    this.print(`   kill -KILL ${oldPid} (${name})`);
    this.m.kill(name);
    const exit = await withTimeout(exited, 10_000, `${name} was not seen to exit`);
    this.print(`   the manager saw it go: ${exit.reason}`);
    const back = await withTimeout(restarted, 10_000, `${name} was not restarted`);
    this.print(`   restarted: pid ${oldPid} -> ${back.pid} (restarts: ${back.restarts})`);
    if (running(oldPid)) this.fail(`the old process ${oldPid} is still running`);
    const outcome = await runToOutcome(this.m, name, 'list', {});
    if (!outcome.ok) throw new Error(`${name} list after the restart: ${failureText(outcome)}`);
    this.print(`   ${this.s.green('ok')}    ${name} list works again: ${summarize(outcome.value)}`);
  }

  /**
   * examples/notes: a second manager serving Notes, the application's own
   * host service, to its TypeScript, Go and Python plugins; each writes its
   * note, reads another's, and one is refused a note that is not its own.
   */
  private async appHostService(): Promise<void> {
    const service = join(repoRoot, 'dist', 'examples', 'notes', 'notes-service.js');
    if (!existsSync(service)) {
      this.print(`   not shown: ${service} is not there (run the demo from the repository after npm install)`);
      return;
    }
    const { notesService } = (await import(pathToFileURL(service).href)) as { notesService: HostServiceModule<any> };
    const notes = new PluginManager({
      pluginDirs: [NOTES_PLUGINS],
      dataDir: join(this.options.dataDir, 'notes-host'),
      logger: this.options.logger,
      hostServices: [notesService],
      ...this.options.policy,
    });
    notes.on('started', ({ pid }) => this.pids.add(pid));
    this.print(`   Notes (examples/notes/notes-service.ts) is served next to hst's services; each plugin may write shared/<its name>/** and read shared/**`);
    try {
      const { plugins } = await notes.discover();
      const runnable = plugins.filter((p) => p.status !== 'unavailable' && p.status !== 'invalid').map((p) => p.name);
      for (const p of plugins.filter((q) => !runnable.includes(q.name))) this.printUnrunnable(p);
      for (const name of runnable) {
        const put = await runToOutcome(notes, name, 'put', { name: `shared/${name}/todo`, text: `hello from ${name}` });
        if (!put.ok) this.fail(`${name} put: ${failureText(put)}`);
        else this.print(`   ${this.s.green('ok')}    ${name.padEnd(9)} put shared/${name}/todo -> ${summarize(put.value)}`);
      }
      for (const [i, name] of runnable.entries()) {
        const other = runnable[(i + 1) % runnable.length] as string;
        const got = await runToOutcome(notes, name, 'get', { name: `shared/${other}/todo` });
        const by = (got.value as { writtenBy?: string } | null)?.writtenBy;
        if (!got.ok || by !== other) this.fail(`${name} get shared/${other}/todo: ${got.ok ? `written by ${String(by)}` : failureText(got)}`);
        else this.print(`   ${this.s.green('ok')}    ${name.padEnd(9)} get shared/${other}/todo -> ${summarize(got.value)}`);
      }
      const [intruder, victim] = [runnable.at(-1), runnable[0]];
      if (intruder && victim && intruder !== victim) {
        const refused = await runToOutcome(notes, intruder, 'put', { name: `shared/${victim}/todo`, text: 'overwritten' });
        const record = readAudit(notes.auditPath, { plugin: intruder, denied: true }).findLast((r) => r.op === 'Notes/Put');
        if (refused.exitCode === 0 || !record) this.fail(`${intruder} was not refused writing ${victim}'s note`);
        else this.print(`   ${this.s.green('ok')}    ${intruder.padEnd(9)} put shared/${victim}/todo refused: ${failureText(refused)}; audited (${record.capability} ${record.resource}: ${record.rule})`);
      }
    } finally {
      await notes.shutdown();
    }
  }

  /** examples/modules: `import ... from 'plugin:greeter-<lang>'`, the greeter's function and methods from each language. */
  private async pluginModules(): Promise<void> {
    const modules = new PluginManager({
      pluginDirs: [MODULE_PLUGINS],
      dataDir: join(this.options.dataDir, 'modules-host'),
      logger: this.options.logger,
      modules: { allow: ['plugin:greeter-*', 'plugin:clock', 'plugin:validator-ts'] },
      ...this.options.policy,
    });
    modules.on('started', ({ pid }) => this.pids.add(pid));
    try {
      const { warnings } = await importablePlugins(modules);
      for (const warning of warnings) this.fail(warning);
      const runnable = (name: string) => {
        const info = modules.list().find((p) => p.name === name);
        if (info && (info.status === 'unavailable' || info.status === 'invalid')) this.printUnrunnable(info);
        return info !== undefined && info.status !== 'unavailable' && info.status !== 'invalid';
      };
      for (const info of modules.list().filter((p) => p.name.startsWith('greeter-'))) {
        if (!runnable(info.name)) continue;
        const id = moduleId(info.name);
        const started = performance.now();
        const { greet, phrases } = (await import(id)) as { greet: (name: string) => Promise<unknown>; phrases: Record<string, (name: string) => Promise<unknown>> };
        const greeting = await greet('Ada');
        const hello = await phrases.hello?.('Ada');
        const refused = await phrases.goodbye?.('').then(
          () => undefined,
          (err: unknown) => errorMessage(err),
        );
        if (typeof greeting !== 'string' || !refused) this.fail(`${id}: greet -> ${JSON.stringify(greeting)}, goodbye('') -> ${refused ?? 'no error'}`);
        else this.print(`   ${this.s.green('ok')}    import ... from '${id}' (${Math.round(performance.now() - started)} ms): greet('Ada') -> ${JSON.stringify(greeting)}; phrases.hello('Ada') -> ${summarize(hello)}; phrases.goodbye('') threw: ${refused}`);
      }
      if (runnable('clock')) {
        // No manifest: found by its file's name, hst-plugin-clock, and asked what it exports.
        const { now } = (await import(moduleId('clock'))) as { now: () => Promise<{ iso?: unknown }> };
        const time = await now();
        if (typeof time.iso !== 'string') this.fail(`plugin:clock: now() -> ${summarize(time)}`);
        else this.print(`   ${this.s.green('ok')}    import { now } from 'plugin:clock' (found as hst-plugin-clock, no manifest): now() -> ${summarize(time)}`);
      }
      if (runnable('validator-ts')) {
        // Typed in its manifest: the host fills in defaults and refuses a wrong type before the plugin sees it.
        const { check } = (await import(moduleId('validator-ts'))) as { check: (...args: unknown[]) => Promise<unknown> };
        const verdict = await check({ name: 'Ada', email: 'ada@' }, ['name']);
        const refused = await check('Ada').then(
          () => undefined,
          (err: unknown) => errorMessage(err),
        );
        if (!refused) this.fail(`plugin:validator-ts: check('Ada') was not refused`);
        else this.print(`   ${this.s.green('ok')}    import { check } from 'plugin:validator-ts': check({name, email}, ['name']) -> ${summarize(verdict)}; check('Ada') threw: ${refused}`);
      }
    } finally {
      await modules.shutdown();
    }
  }

  private async shutdown(): Promise<void> {
    if (!this.manager) return;
    const started = performance.now();
    await this.m.shutdown();
    this.print(`   stopped every plugin in ${Math.round(performance.now() - started)} ms`);
    const stillRunning = [...this.pids].filter(running);
    const left = pluginProcesses([...this.options.pluginDirs.map((d) => resolve(d)), ...(this.options.build ? [NOTES_PLUGINS, MODULE_PLUGINS] : [])], resolve(this.options.dataDir));
    if (stillRunning.length > 0) this.fail(`plugin processes still running: ${stillRunning.join(', ')}`);
    if (left.length > 0) this.fail(`processes still running from the plugin directories: ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    if (stillRunning.length === 0 && left.length === 0) {
      this.print(`   ${this.s.green('ok')}    none of the ${this.pids.size} plugin processes started is left, and no process runs from the plugin directories`);
    }
  }
}

/** The example plugins of a host service the application adds (examples/notes). */
const NOTES_PLUGINS = join(repoRoot, 'examples', 'notes', 'plugins');
/** A plugin module's specifier, built so that tsc does not look for its declarations (hst types writes them for applications). */
const moduleId = (name: string) => `plugin:${name}`;

/** Plugins as JavaScript modules (examples/modules): the greeter in three languages, a clock found by its name, a typed validator. */
const MODULE_PLUGINS = join(repoRoot, 'examples', 'modules', 'plugins');

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '   ');
}

/** The manager's next event of this kind for this plugin. */
function onceFor<E extends 'exited' | 'restarted'>(m: PluginManager, event: E, name: string): Promise<PluginManagerEvents[E][0]> {
  return new Promise((resolveEvent) => {
    const listener = (info: PluginManagerEvents[E][0]) => {
      if (info.name !== name) return;
      m.off(event, listener as never);
      resolveEvent(info);
    };
    m.on(event, listener as never);
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `hst --no-tui` / `hst demo`: the demo over the repository's plugins (or
 * --plugin-dir), in a fresh data directory under the OS temp directory
 * (or --data-dir), which is removed after a run where everything passed.
 */
export async function demoCommand(globals: GlobalOptions): Promise<number> {
  const scratch = globals.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'hst-demo-')) : undefined;
  const cli = new Cli(globals, scratch ? { dataDir: scratch } : {});
  const ok = await runDemo({
    ...demoPlugins(cli),
    dataDir: cli.dataDir,
    logger: cli.log(),
    style: cli.style,
    color: cli.color,
    policy: cli.hostPolicy,
    write: (text) => cli.out(text),
  });
  if (scratch && ok) rmSync(scratch, { recursive: true, force: true });
  else if (cli.logFile) cli.out(`the host's log: ${cli.logFile}\n`);
  return ok ? 0 : 1;
}
