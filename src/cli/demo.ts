/**
 * The scripted demo (`hst --no-tui`, `hst demo`): the example plugins under
 * one PluginManager, in a scratch workspace they share. It runs every command
 * of every plugin, has several plugins call the shared host services at
 * once, shows a refused call next to its audit record, kills a plugin and
 * watches it come back, and shuts down leaving nothing running. A plugin
 * whose runtime is missing here (Go, Python) is shown with the reason and
 * left out; the demo fails only when something that should work does not.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { PluginManager } from '../manager/manager.js';
import type { PluginManagerEvents } from '../manager/plugin-info.js';
import type { ManifestCommand } from '../security/manifest.js';
import { readAudit } from '../security/audit.js';
import { formatAuditRecord } from './audit.js';
import { formatPluginList } from './list.js';
import { Cli, errorMessage, type GlobalOptions, type Style } from './output.js';
import { repoRoot } from './paths.js';

export interface DemoOptions {
  pluginDirs: string[];
  /** Build the repository's plugins first (scripts/build-plugins.mjs). */
  build: boolean;
  dataDir: string;
  logger: Logger;
  style: Style;
  color: boolean;
  write(text: string): void;
}

/** Arguments that make each example command show something; other commands run with their defaults. */
const SAMPLE_ARGS: Record<string, Record<string, Record<string, string>>> = {
  filelister: { save: { path: 'src', out: 'listings/filelister.txt' }, head: { path: 'README.md', lines: '3' }, cat: { path: 'notes.txt' } },
  colorlister: { tree: { depth: '2' }, stats: { path: 'README.md' }, scan: { rounds: '2', interval: '50' } },
  golister: { save: { out: 'listings/golister.txt' } },
  pylelister: { save: { out: 'listings/pylelister.txt' } },
};

/** Section 2: the calls each plugin makes, and the audit record each call must leave. */
const CONCURRENT_CALLS: Array<{ plugin: string; command: string; audited: string }> = [
  { plugin: 'filelister', command: 'list', audited: 'Filesystem/ReadDir' },
  { plugin: 'hostdemo', command: 'kv', audited: 'KeyValue/Put' },
  { plugin: 'golister', command: 'list', audited: 'Filesystem/ReadDir' },
  { plugin: 'pylelister', command: 'list', audited: 'Filesystem/ReadDir' },
  { plugin: 'colorlister', command: 'list', audited: 'Filesystem/ReadDir' },
];
const ROUNDS = 8;

/** Section 3: a file filelister may not write (it may write only under listings/). */
const FORBIDDEN_OUT = 'stolen.txt';

const WORKSPACE_FILES: Record<string, string> = {
  'README.md': '# A scratch workspace\n\nThe hst demo plugins list, read and describe these files.\nNothing here is precious.\n',
  'notes.txt': 'Plugins see this workspace only through the host.\nEvery call is checked against plugin.yaml\nand written to the audit log.\n',
  'src/main.ts': "import { greet } from './greet.js';\n\nconsole.log(greet('hst'));\n",
  'src/greet.ts': 'export const greet = (name: string) => `hello, ${name}`;\n',
  'data/numbers.csv': 'n,square\n1,1\n2,4\n3,9\n',
};

interface CommandOutcome {
  ok: boolean;
  output: string;
  progress: number;
  value: unknown;
  exitCode: number;
  ms: number;
  error?: string;
}

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
    this.workspace = join(options.dataDir, 'workspace');
  }

  private print(line = ''): void {
    this.options.write(`${line}\n`);
  }

  private fail(what: string): void {
    this.failures++;
    this.print(`   ${this.s.red('FAIL')}  ${what}`);
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
      }
    } finally {
      await this.step('5. Shutdown', () => this.shutdown());
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
    for (const [path, text] of Object.entries(WORKSPACE_FILES)) {
      mkdirSync(join(this.workspace, path, '..'), { recursive: true });
      writeFileSync(join(this.workspace, path), text);
    }
    this.print(`   a scratch workspace every plugin shares: ${this.workspace} (${Object.keys(WORKSPACE_FILES).length} files)`);
    // hostdemo's env suite reads HST_DEMO_* from the host's environment.
    process.env.HST_DEMO_GREETING ??= 'hello';
    process.env.HST_DEMO_NAME ??= 'Ada';
    this.manager = new PluginManager({
      pluginDirs: this.options.pluginDirs,
      dataDir: this.options.dataDir,
      logger: this.options.logger,
      workspace: () => this.workspace,
      restart: { initialBackoffMs: 100 },
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
    const script = join(repoRoot, 'scripts', 'build-plugins.mjs');
    if (!existsSync(script)) {
      this.print(`   not building plugins: ${script} is not there (run the demo from the repository)`);
      return;
    }
    this.print('   building plugins (npm run build:plugins):');
    const child = spawn(process.execPath, [script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let atLineStart = true;
    const relay = (chunk: Buffer) => {
      const text = chunk.toString();
      this.options.write(text.replace(/^|\n(?=.)/g, (m) => (m === '' && !atLineStart ? '' : `${m}     `)));
      atLineStart = text.endsWith('\n');
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    const [code] = (await once(child, 'close')) as [number | null];
    if (!atLineStart) this.print();
    if (code !== 0) this.fail(`building the plugins failed (exit ${code}); the plugins that did build still run`);
  }

  private async everyCommand(): Promise<void> {
    const server = await this.localHttpServer();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // hostdemo's manifest grants no network: the operator grants the one address it fetches here.
    this.m.policy.grant('hostdemo', `net:127.0.0.1:${(server.address() as AddressInfo).port}`);
    const samples: Record<string, Record<string, Record<string, string>>> = { ...SAMPLE_ARGS, hostdemo: { all: { url }, http: { url } } };

    this.print(this.s.dim('   starting every runnable plugin at once...'));
    await this.m.startAll();
    for (const info of this.m.list()) {
      this.print();
      if (info.status === 'unavailable' || info.status === 'invalid') {
        this.print(`   ${this.s.bold(info.name)}  ${this.s.yellow(`${info.status}: ${info.lastError ?? ''}`)}`);
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
        const outcome = await this.runCommand(info.name, command.name, args);
        const shown = Object.entries(args).map(([k, v]) => `${k}=${v}`).join(' ');
        const label = `${command.name.padEnd(10)} ${String(Math.round(outcome.ms)).padStart(5)} ms  `;
        if (outcome.ok) {
          const progress = outcome.progress > 0 ? `, ${outcome.progress} progress updates` : '';
          this.print(`   ${this.s.green('ok')}    ${label}${this.s.dim(shown ? `${shown} -> ` : '')}${summarize(outcome.value)}${progress}`);
        } else {
          this.fail(`${info.name} ${command.name} ${shown}: ${outcome.error ?? lastLines(outcome.output)}`);
        }
      }
    }
  }

  private async concurrency(): Promise<void> {
    const running = new Set(this.m.list().filter((p) => p.status === 'running').map((p) => p.name));
    const calls = CONCURRENT_CALLS.filter((c) => running.has(c.plugin));
    const left = CONCURRENT_CALLS.filter((c) => !running.has(c.plugin)).map((c) => c.plugin);
    if (calls.length < 2) throw new Error(`too few plugins are running for this (${[...running].join(', ') || 'none'})`);
    if (left.length > 0) this.print(this.s.dim(`   left out, not running: ${left.join(', ')}`));
    this.print(`   ${calls.map((c) => `${c.plugin} ${c.command}`).join(', ')}: ${ROUNDS} rounds each, all at once`);
    // Nothing writes to the workspace during this section, so every listing must see exactly this.
    const expectedEntries = readdirSync(this.workspace).length;
    const audited = (c: (typeof calls)[number]) => readAudit(this.m.auditPath, { plugin: c.plugin }).filter((r) => r.op === c.audited && r.decision === 'allow').length;
    const before = calls.map(audited);

    const latencies: number[] = [];
    let errors = 0;
    const started = performance.now();
    const width = Math.max(...calls.map((c) => c.plugin.length));
    const callWidth = Math.max(...calls.map((c) => c.command.length)) + ` #${ROUNDS}`.length;
    await Promise.all(
      calls.map(async (call) => {
        for (let round = 1; round <= ROUNDS; round++) {
          const outcome = await this.runCommand(call.plugin, call.command, {});
          const problem = outcome.ok ? checkConcurrentResult(call.command, outcome.value, expectedEntries) : (outcome.error ?? lastLines(outcome.output));
          latencies.push(outcome.ms);
          const at = `+${String(Math.round(performance.now() - started)).padStart(5)} ms`;
          const head = `   ${this.s.dim(at)}  ${this.s.cyan(call.plugin.padEnd(width))}  ${`${call.command} #${round}`.padEnd(callWidth)}`;
          if (problem) {
            errors++;
            this.print(`${head}  ${this.s.red('error')} ${problem}`);
          } else {
            this.print(`${head}  ${this.s.green('ok')} ${outcome.ms.toFixed(1).padStart(6)} ms  ${summarize(outcome.value, 40)}`);
          }
        }
      }),
    );
    const wall = performance.now() - started;
    const recorded = calls.map((c, i) => audited(c) - (before[i] ?? 0));
    calls.forEach((c, i) => recorded[i] !== ROUNDS && this.fail(`${c.plugin}: expected ${ROUNDS} new ${c.audited} audit records, found ${recorded[i]}`));
    const total = calls.length * ROUNDS;
    const line = `${total} calls in ${Math.round(wall)} ms, ${errors} errors, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`;
    this.print();
    if (errors > 0 || latencies.length !== total || recorded.some((n) => n !== ROUNDS)) this.fail(line);
    else this.print(`   ${this.s.green('ok')}    ${line}; every call audited; each listing saw all ${expectedEntries} workspace entries`);
  }

  private async denied(): Promise<void> {
    this.print(`   filelister may write only listings/** (plugin.yaml); it is asked to save to ${FORBIDDEN_OUT}:`);
    const outcome = await this.runCommand('filelister', 'save', { path: '.', out: FORBIDDEN_OUT });
    const error = (outcome.value as { error?: unknown } | null)?.error;
    this.print(`   exit code ${outcome.exitCode}: ${typeof error === 'string' ? error : (outcome.error ?? lastLines(outcome.output))}`);
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
    const outcome = await this.runCommand(name, 'list', {});
    if (!outcome.ok) throw new Error(`${name} list after the restart: ${outcome.error ?? lastLines(outcome.output)}`);
    this.print(`   ${this.s.green('ok')}    ${name} list works again: ${summarize(outcome.value)}`);
  }

  private async shutdown(): Promise<void> {
    if (!this.manager) return;
    const started = performance.now();
    await this.m.shutdown();
    this.print(`   stopped every plugin in ${Math.round(performance.now() - started)} ms`);
    const stillRunning = [...this.pids].filter(running);
    const left = pluginProcesses(this.options.pluginDirs.map((d) => resolve(d)), resolve(this.options.dataDir));
    if (stillRunning.length > 0) this.fail(`plugin processes still running: ${stillRunning.join(', ')}`);
    if (left.length > 0) this.fail(`processes still running from the plugin directories: ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    if (stillRunning.length === 0 && left.length === 0) {
      this.print(`   ${this.s.green('ok')}    none of the ${this.pids.size} plugin processes started is left, and no process runs from the plugin directories`);
    }
  }

  private async runCommand(plugin: string, command: string, args: Record<string, string>): Promise<CommandOutcome> {
    const started = performance.now();
    let output = '';
    let progress = 0;
    try {
      for await (const event of this.m.runCommand(plugin, command, args)) {
        if ('output' in event) output += event.output;
        else if ('progress' in event) progress++;
        else {
          const { value, exitCode } = event.result;
          const failed = typeof (value as { failed?: unknown } | null)?.failed === 'number' && (value as { failed: number }).failed > 0;
          return { ok: exitCode === 0 && !failed, output, progress, value, exitCode, ms: performance.now() - started };
        }
      }
      return { ok: false, output, progress, value: null, exitCode: 1, ms: performance.now() - started, error: 'the command ended without a result' };
    } catch (err) {
      return { ok: false, output, progress, value: null, exitCode: 1, ms: performance.now() - started, error: errorMessage(err) };
    }
  }

  /** What hostdemo's http command fetches: a page on loopback, so the demo needs no network. */
  private async localHttpServer(): Promise<Server> {
    const server = createServer((_request, response) => response.end('hello from the demo host\n'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.httpServer = server;
    return server;
  }
}

function missingArgs(command: ManifestCommand, args: Record<string, string>): string[] {
  return command.args.filter((a) => a.required && a.default === undefined && !Object.hasOwn(args, a.name)).map((a) => a.name);
}

/** Why a concurrent call's result is wrong, or undefined when it is right. */
function checkConcurrentResult(command: string, value: unknown, expectedEntries: number): string | undefined {
  const v = (value ?? {}) as { entries?: unknown[]; operations?: unknown[]; failed?: number };
  if (command === 'list') {
    const seen = Array.isArray(v.entries) ? v.entries.length : 'no';
    return seen === expectedEntries ? undefined : `expected ${expectedEntries} entries, got ${seen}`;
  }
  return Array.isArray(v.operations) && v.operations.length > 0 && v.failed === 0 ? undefined : `operations failed: ${JSON.stringify(value)}`;
}

/** A result on one line: scalars as name=value, lists by their length. */
function summarize(value: unknown, max = 72): string {
  if (value === null || value === undefined) return 'no result';
  if (Array.isArray(value)) return `${value.length} items`;
  if (typeof value !== 'object') return clip(JSON.stringify(value), max);
  const parts = Object.entries(value).map(([key, v]) => {
    if (Array.isArray(v)) return `${key}: ${v.length}`;
    if (v !== null && typeof v === 'object') return `${key}: {...}`;
    return `${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  });
  return clip(parts.join(', '), max);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function lastLines(output: string): string {
  return output.trim().split('\n').slice(-3).join(' / ') || 'no output';
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '   ');
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
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

/** A live process: a zombie (dead, waiting for its parent to reap it) does not count. */
function running(pid: number): boolean {
  if (!existsSync('/proc/self')) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Live processes run from the plugin directories by this demo: their command
 * line names a plugin directory and they work in the demo's data directory
 * (a plugin's working directory is <dataDir>/run/<name>, sandboxed or not),
 * so plugins other hosts run at the same time are not counted.
 */
function pluginProcesses(pluginDirs: string[], dataDir: string): Array<{ pid: number; cmdline: string }> {
  if (!existsSync('/proc/self')) return [];
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!pluginDirs.some((dir) => cmdline.includes(dir))) continue;
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if ((cwd === dataDir || cwd.startsWith(`${dataDir}/`)) && running(Number(entry))) found.push({ pid: Number(entry), cmdline: clip(cmdline, 120) });
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

/**
 * `hst --no-tui` / `hst demo`: the demo over the repository's plugins (or
 * --plugin-dir), in a fresh data directory under the OS temp directory
 * (or --data-dir), which is removed after a run where everything passed.
 */
export async function demoCommand(globals: GlobalOptions): Promise<number> {
  const scratch = globals.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'hst-demo-')) : undefined;
  const cli = new Cli(globals, scratch ? { dataDir: scratch } : {});
  const examples = join(repoRoot, 'plugins');
  const pluginDirs = cli.pluginDirsGiven ? cli.pluginDirs : [examples];
  const ok = await runDemo({
    pluginDirs,
    build: pluginDirs.some((dir) => resolve(dir) === examples),
    dataDir: cli.dataDir,
    logger: cli.log(),
    style: cli.style,
    color: cli.color,
    write: (text) => cli.out(text),
  });
  if (scratch && ok) rmSync(scratch, { recursive: true, force: true });
  else if (cli.logFile) cli.out(`the host's log: ${cli.logFile}\n`);
  return ok ? 0 : 1;
}
