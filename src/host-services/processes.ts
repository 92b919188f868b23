/**
 * Processes: runs host programs for a plugin, never through a shell. Each
 * program gets a scrubbed environment, a working directory opened through
 * the confined root, and a process group of its own so that signals, the
 * Exec timeout and disconnect cleanup reach everything it started.
 *
 * When the caller has an exec sandbox profile (a sandboxed plugin), each
 * program runs in the same OS sandbox (sandbox.ts) as the plugin, seeing
 * only its own executable, the system directories, the profile's read-only
 * paths and its working directory: one the plugin may read all of, mounted
 * read-only unless it may write all of it, or an empty one of its own when
 * the request names none. The process group is then the sandbox's (bwrap's
 * or hst's launcher's): a signal the host sends ends it, and the kernel kills
 * everything in the sandbox with it (the parent-death signal), so the
 * program itself gets SIGKILL, never a chance to handle SIGTERM. A program
 * that dies of a signal inside the sandbox is reported by the sandbox as exit
 * code 128+n, which cannot be told apart from exit(128+n), so it is reported
 * as that exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants as C, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  OutputStream,
  ProcessesDefinition,
  type ExecRequest,
  type ProcessExit,
  type ProcessOutputResponse,
} from '../gen/hst/host/v1/processes.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import type { CallContext, DeepPartial } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { ENV_UNIX_SOCKET_DIR } from '../protocol/constants.js';
import { cleanPath, pathOfFd, PathError, type ConfinedRoot } from '../security/confine.js';
import { killTree } from '../util/process-tree.js';
import { planSandbox, reaperPrefix, SandboxUnavailableError, type SandboxPlan } from '../security/sandbox.js';
import type { Caller, ExecSandboxProfile } from './caller.js';
import { DeniedError, exhausted, invalid, notFound, toRpcError } from './errors.js';
import type { HostContext } from './host-context.js';
import { hostService } from './operation.js';

/** Signals a plugin may send; the rest (SIGSTOP, SIGSEGV, ...) have no business here. */
const ALLOWED_SIGNALS = new Set<NodeJS.Signals>(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']);

/**
 * Variables that make a program, its dynamic loader or its interpreter load
 * code other than the program itself: a plugin allowed to run one program
 * must not turn that into running anything it likes.
 */
const INJECTING_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_'];
const INJECTING_NAMES = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONSTARTUP',
  'PYTHONBREAKPOINT',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  // The host's PATH decides which programs a bare name finds, for the program's own lookups too.
  'PATH',
]);

/**
 * After a program exits, how long its output pipes may stay open before we
 * stop reading: only something that left the process group can still hold them.
 */
const OUTPUT_GRACE_MS = 200;

type Stream = OutputStream.OUTPUT_STREAM_STDOUT | OutputStream.OUTPUT_STREAM_STDERR;

interface OutputChunk {
  stream: Stream;
  data: Buffer;
}

interface OutputReader {
  queue: AsyncQueue<OutputChunk>;
  /** Bytes queued for this reader and not yet taken. */
  pending: number;
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException)?.code === code;
}

/** A started program: its output (kept up to the limit), its exit, and who is reading it. */
class ManagedProcess {
  readonly pid: number;
  exit: ProcessExit | undefined;
  /** Resolves when the program has exited. */
  readonly exited: Promise<ProcessExit>;
  /** Resolves once it has exited and its output has been read to the end. */
  readonly done: Promise<void>;
  /** Some output went past the limit and was not kept. */
  truncated = false;
  stdinOpen = true;
  private closed = false;
  private paused = false;
  private readonly kept: OutputChunk[] = [];
  private readonly keptBytes = new Map<Stream, number>();
  private readonly readers = new Set<OutputReader>();

  constructor(
    readonly child: ChildProcess & { pid: number },
    readonly program: string,
    readonly args: string[],
    private readonly maxOutputBytes: number,
  ) {
    this.pid = child.pid;
    // Without these, a program that stops reading stdin (EPIPE) or a failed kill would crash the host.
    child.stdin?.on('error', () => (this.stdinOpen = false));
    child.on('error', () => {});
    child.stdout?.on('data', (data: Buffer) => this.output(OutputStream.OUTPUT_STREAM_STDOUT, data));
    child.stderr?.on('data', (data: Buffer) => this.output(OutputStream.OUTPUT_STREAM_STDERR, data));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { exitCode: code ?? -1, signal: signal ?? '' };
        this.stdinOpen = false;
        // Whatever the program left running in its group goes with it.
        this.signalGroup('SIGKILL');
        resolve(this.exit);
      }),
    );
    this.done = new Promise((resolve) => {
      let grace: NodeJS.Timeout | undefined;
      const stopReading = () => {
        // A paused reader still wants what is in the pipe; wait for it.
        if (this.paused) grace = setTimeout(stopReading, OUTPUT_GRACE_MS);
        else for (const s of [child.stdout, child.stderr]) s?.destroy();
      };
      child.once('exit', () => (grace = setTimeout(stopReading, OUTPUT_GRACE_MS)));
      child.once('close', () => {
        clearTimeout(grace);
        this.closed = true;
        for (const r of this.readers) r.queue.end();
        resolve();
      });
    });
  }

  /** Kills the process and everything it started, sandboxed or not; false when nothing was there. */
  kill(): boolean {
    return !this.closed && killTree(this.pid, this.exit !== undefined);
  }

  /** Sends `signal` to the process group; false when nothing was there to get it. */
  signalGroup(signal: NodeJS.Signals): boolean {
    if (this.closed) return false;
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      // Usually ESRCH (the group is gone); a failed kill must never take the host down.
      return false;
    }
  }

  /** What was kept of one stream, for Exec. */
  collected(stream: Stream): Buffer {
    return Buffer.concat(this.kept.filter((c) => c.stream === stream).map((c) => c.data));
  }

  /** Kept output, then live output, then the exit status; ends early when `signal` aborts. */
  async *stream(signal: AbortSignal): AsyncGenerator<DeepPartial<ProcessOutputResponse>> {
    const truncated = this.truncated;
    const replay = [...this.kept];
    const reader: OutputReader = { queue: new AsyncQueue(), pending: 0 };
    if (this.closed) reader.queue.end();
    else this.readers.add(reader);
    const stop = () => reader.queue.end();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (const chunk of replay) yield chunk;
      for await (const chunk of reader.queue) {
        reader.pending -= chunk.data.length;
        this.adjustFlow();
        yield chunk;
      }
      if (!signal.aborted) yield { exit: this.exit, truncated };
    } finally {
      signal.removeEventListener('abort', stop);
      this.readers.delete(reader);
      this.adjustFlow();
    }
  }

  /** Writes to stdin and returns once the data is in the pipe; `close` ends stdin after it. */
  async writeStdin(data: Uint8Array, close: boolean, signal: AbortSignal): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin) return;
    if (close) this.stdinOpen = false;
    const written = new Promise<void>((resolve, reject) => {
      if (data.length === 0) resolve();
      else stdin.write(data, (err) => (err ? reject(err) : resolve()));
    });
    if (close) stdin.end();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([written, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort as () => void);
    }
  }

  private output(stream: Stream, data: Buffer): void {
    const room = this.maxOutputBytes - (this.keptBytes.get(stream) ?? 0);
    if (room > 0) {
      const part = data.length <= room ? data : data.subarray(0, room);
      this.kept.push({ stream, data: part });
      this.keptBytes.set(stream, (this.keptBytes.get(stream) ?? 0) + part.length);
    }
    if (data.length > room) this.truncated = true;
    for (const r of this.readers) {
      r.pending += data.length;
      r.queue.push({ stream, data });
    }
    this.adjustFlow();
  }

  /** Stops reading the program's output while a reader has more than the limit queued. */
  private adjustFlow(): void {
    const slow = [...this.readers].some((r) => r.pending > this.maxOutputBytes);
    if (slow === this.paused) return;
    this.paused = slow;
    for (const s of [this.child.stdout, this.child.stderr]) {
      if (slow) s?.pause();
      else s?.resume();
    }
  }
}

/** The absolute program to run: a clean absolute path, or a bare name found in the exposed PATH. */
function resolveProgram(operation: string, program: string, searchPath: string | undefined): string {
  const where = `Processes/${operation} ${JSON.stringify(program)}`;
  if (program === '' || program.includes('\0')) throw invalid(`${where}: the program must be a non-empty name or path without NUL`);
  if (!program.includes('/')) {
    // Relative PATH entries ("", ".") would search the plugin's own workspace.
    for (const dir of (searchPath ?? '').split(':').filter((d) => d.startsWith('/'))) {
      const candidate = posix.join(dir, program);
      if (isExecutableFile(candidate)) return candidate;
    }
    throw notFound(`${where}: not found in PATH`);
  }
  if (!program.startsWith('/') || program.slice(1).split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`${where}: the program must be a clean absolute path or a bare name looked up in PATH`);
  }
  let isFile: boolean;
  try {
    isFile = statSync(program).isFile();
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) throw notFound(`${where}: no such program`);
    throw toRpcError(err, `Processes/${operation}`, JSON.stringify(program));
  }
  if (!isFile || !isExecutableFile(program)) throw new RpcError(Code.PERMISSION_DENIED, `${where}: not an executable file`);
  return program;
}

/** The program as it will run, for policy and audit; as requested when it cannot be resolved (the call then fails). */
function programResource(operation: string, program: string, searchPath: string | undefined): string {
  try {
    return realpathSync(resolveProgram(operation, program, searchPath));
  } catch {
    return program;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, C.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The base environment (the host's PATH only) with the plugin's variables, minus the injecting ones. */
function childEnvironment(operation: string, caller: Caller, hostPath: string | undefined, requested: Record<string, string>): Record<string, string> {
  const env = new Map<string, string>();
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(requested)) {
    if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
      throw invalid(`Processes/${operation} env ${JSON.stringify(name)}: names must be non-empty without "=" or NUL, values without NUL`);
    }
    if (INJECTING_NAMES.has(name) || INJECTING_PREFIXES.some((p) => name.startsWith(p))) dropped.push(name);
    else env.set(name, value);
  }
  if (dropped.length > 0) caller.logger.warn({ operation, dropped }, 'dropped environment variables that inject code');
  if (hostPath !== undefined) env.set('PATH', hostPath);
  // fromEntries makes every name an own property, "__proto__" included.
  return Object.fromEntries(env);
}

/** Where a program runs: an open directory, what the program may do there, and what to remove when it is done. */
interface WorkingDir {
  fd: number;
  /** The plugin's root it lies in; none for a scratch directory. */
  root?: ConfinedRoot;
  access: 'read' | 'write';
  /** Removes a scratch directory; idempotent. */
  release(): void;
}

/**
 * The program's working directory: the plugin path it names, opened through
 * the confined root and checked (workingDirAccess), or without one an empty
 * private directory of its own, so a plugin that may run a program needs no
 * right to its workspace for that. The caller closes the fd.
 */
function workingDir(operation: string, caller: Caller, cwd: string, ctx: CallContext): WorkingDir {
  if (cwd === '') {
    const scratch = mkdtempSync(posix.join(tmpdir(), 'hst-exec-cwd-'));
    let removed = false;
    const release = () => {
      if (!removed) rmSync(scratch, { recursive: true, force: true });
      removed = true;
    };
    try {
      return { fd: openSync(scratch, C.O_RDONLY | C.O_DIRECTORY), access: 'write', release };
    } catch (err) {
      release();
      throw err;
    }
  }
  const shown = JSON.stringify(cwd);
  let opened: { fd: number; root: ConfinedRoot };
  try {
    const { root, path } = caller.resolve(cwd, ctx);
    opened = { fd: root.openDir(path).fd, root };
  } catch (err) {
    if (err instanceof PathError) throw invalid(`Processes/${operation} cwd ${shown}: ${err.details}`);
    throw toRpcError(err, `Processes/${operation}`, `cwd ${shown}`);
  }
  try {
    return { ...opened, access: workingDirAccess(operation, caller, cwd, opened.fd), release: () => {} };
  } catch (err) {
    closeSync(opened.fd);
    throw err;
  }
}

/** Names that stand for files a program could create: checked before it may write where it runs. */
const NEW_NAMES = ['hst-new-file', 'hst-new-dir/hst-new-file'];

/**
 * What a program may do in its working directory. It sees the whole
 * directory (the sandbox mounts it, and nothing else of the plugin's), so
 * the plugin must be allowed to read everything in it now; the program gets
 * it writable only where the plugin could write every entry, and new ones,
 * itself. A file with several hard links is refused as host services refuse
 * it. Past maxEntries the directory is refused as too large to check.
 */
function workingDirAccess(operation: string, caller: Caller, cwd: string, fd: number): 'read' | 'write' {
  const shown = JSON.stringify(cwd);
  const base = cleanPath(cwd);
  const pluginPath = (rel: string) => [base, rel].filter(Boolean).join('/') || '.';
  let writable = true;
  const check = (path: string) => {
    const read = caller.verdict('fs.read', path);
    if (!read.allowed) {
      throw new DeniedError(`Processes/${operation} cwd ${shown}: the program would see ${JSON.stringify(path)}, which the plugin may not read (${read.rule})`, read.rule);
    }
    writable &&= caller.permits('fs.write', path);
  };
  check(pluginPath(''));
  let seen = 0;
  const dirs = [''];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    for (const entry of readdirSync(`${pathOfFd(fd)}/${dir}`, { withFileTypes: true })) {
      if (++seen > caller.limits.maxEntries) {
        throw exhausted(`Processes/${operation} cwd ${shown}: more than ${caller.limits.maxEntries} entries to check; run the program in a smaller directory`);
      }
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      // A symbolic link resolves inside the sandbox, where only this directory is mounted.
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) dirs.push(rel);
      else if (!caller.allowsHardLinks && lstatSync(`${pathOfFd(fd)}/${rel}`).nlink > 1) {
        throw new DeniedError(`Processes/${operation} cwd ${shown}: ${JSON.stringify(pluginPath(rel))} has several hard links, which may lead outside the workspace`, 'workspace confinement');
      }
      check(pluginPath(rel));
    }
  }
  return writable && NEW_NAMES.every((name) => caller.permits('fs.write', pluginPath(name))) ? 'write' : 'read';
}

type Launch = Pick<ExecRequest, 'program' | 'args' | 'env' | 'cwd' | 'stdin'>;

/** What start() runs: everything checked and resolved. */
interface Target {
  /** As requested, resolved to an absolute path: argv[0], and the name reported back. */
  program: string;
  /** Its real file: what is executed, as the policy checked it. */
  file: string;
  args: string[];
  env: Record<string, string>;
}

interface Launched {
  child: ChildProcess;
  /** Removes what the launch set up besides the process (the sandbox's files); idempotent. */
  release(): void;
}

/**
 * Starts the program as a plain host process in `cwdFd`, the directory the
 * confined walk opened, under hst's launcher where it was built, so that it
 * and all it starts die with the host even then (reaperPrefix).
 */
function launchOnHost(target: Target, cwdFd: number): Launched {
  // The fd path, not a looked-up host path: the child enters the very directory the confined walk opened.
  const options = { cwd: pathOfFd(cwdFd), env: target.env, detached: true, stdio: 'pipe' } as const;
  const reaper = reaperPrefix(target.program);
  const child = reaper
    ? spawn(reaper[0] as string, [...reaper.slice(1), target.file, ...target.args], options)
    : spawn(target.file, target.args, { ...options, argv0: target.program });
  return { child, release: () => {} };
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/**
 * Starts the program in the plugin's sandbox (runtime binary): mounted are its
 * own file (read-only, so argv[0] is its real path), the profile's read-only
 * paths, and the working directory (writable, the only part of the plugin's
 * roots it sees). The socket directory planSandbox insists on is an empty
 * private one; the program needs none and is not told about it.
 */
async function launchSandboxed(
  operation: string,
  caller: Caller,
  profile: ExecSandboxProfile,
  target: Target,
  cwd: WorkingDir,
): Promise<Launched> {
  const where = `Processes/${operation} ${JSON.stringify(target.program)}`;
  const workDir = readlinkSync(pathOfFd(cwd.fd));
  if (cwd.root && !within(workDir, cwd.root.hostPath)) throw new RpcError(Code.PERMISSION_DENIED, `${where}: the working directory is no longer inside the plugin's roots`);
  const scratch = mkdtempSync(posix.join(tmpdir(), 'hst-exec-'));
  let plan: SandboxPlan;
  try {
    const socketDir = posix.join(scratch, 'sockets');
    mkdirSync(socketDir, { mode: 0o700 });
    plan = await planSandbox({
      runtime: 'binary',
      entry: target.file,
      args: target.args,
      pluginDir: target.file,
      readOnlyPaths: profile.readOnlyPaths,
      workDir,
      // Mounted from the fd the confined walk opened: a directory swapped in at that path changes nothing.
      workDirFd: cwd.fd,
      workDirReadOnly: cwd.access === 'read',
      socketDir,
      env: target.env,
      resources: profile.resources,
      require: profile.require,
    });
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    if (err instanceof SandboxUnavailableError) throw new RpcError(Code.FAILED_PRECONDITION, `${where}: ${err.message}`);
    // The reason names host paths the plugin must not see.
    caller.logger.warn({ operation, program: target.file, err: String(err) }, 'a program could not be sandboxed');
    throw new RpcError(Code.FAILED_PRECONDITION, `${where}: the program cannot run in the plugin's sandbox`);
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    plan.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    caller.logger.debug({ operation, program: target.file, layers: plan.layers, inactive: plan.inactive }, 'program sandbox');
    const env = { ...plan.env };
    delete env[ENV_UNIX_SOCKET_DIR];
    if (Object.hasOwn(target.env, ENV_UNIX_SOCKET_DIR)) env[ENV_UNIX_SOCKET_DIR] = target.env[ENV_UNIX_SOCKET_DIR] as string;
    const child = spawn(plan.command, plan.args, { env, cwd: pathOfFd(cwd.fd), detached: true, stdio: ['pipe', 'pipe', 'pipe', ...plan.stdio] });
    child.once('close', release);
    return { child, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** A plugin's processes: the handle table, the limit, and cleanup on disconnect. */
class ProcessTable {
  /** Spawned processes by handle, until Wait releases them. */
  readonly handles = new Map<string, ManagedProcess>();
  /** Every process not yet done, Exec's included: what disconnect must kill. */
  private readonly running = new Set<ManagedProcess>();
  private starting = 0;

  constructor(
    private readonly caller: Caller,
    private readonly host: HostContext,
  ) {
    caller.onDisconnect(async () => {
      const all = [...this.running];
      for (const p of all) p.kill();
      await Promise.all(all.map((p) => p.done));
      this.handles.clear();
    });
  }

  /** Checks everything, then starts the program in its own process group. */
  async start(operation: string, request: Launch, ctx: CallContext): Promise<ManagedProcess> {
    const { limits } = this.caller;
    const where = `Processes/${operation} ${JSON.stringify(request.program)}`;
    if (request.args.some((a) => a.includes('\0'))) throw invalid(`${where}: arguments must not contain NUL`);
    if (request.stdin.length > limits.maxWriteBytes) {
      throw new RpcError(Code.OUT_OF_RANGE, `${where}: stdin is ${request.stdin.length} bytes, more than the limit of ${limits.maxWriteBytes}`);
    }
    const program = resolveProgram(operation, request.program, this.host.env.PATH);
    const target: Target = {
      program,
      // Exec the real file, as the policy checked it, under the name it was asked by
      // (multi-call binaries such as busybox decide what to be from argv[0]).
      file: realpathSync(program),
      args: request.args,
      env: childEnvironment(operation, this.caller, this.host.env.PATH, request.env),
    };
    // A process counts until it has exited and, if it has a handle, been waited for; not until its pipes close.
    const live = [...this.running].filter((p) => !p.exit);
    const count = this.starting + new Set([...live, ...this.handles.values()]).size;
    if (count >= limits.maxProcesses) {
      throw exhausted(`${where}: the plugin already has ${count} processes, the limit; Wait for finished ones to release them`);
    }
    this.starting++;
    let launched: Launched | undefined;
    try {
      const cwd = workingDir(operation, this.caller, request.cwd, ctx);
      try {
        const profile = this.caller.execSandbox;
        launched = profile ? await launchSandboxed(operation, this.caller, profile, target, cwd) : launchOnHost(target, cwd.fd);
      } catch (err) {
        cwd.release();
        throw err;
      } finally {
        closeSync(cwd.fd);
      }
      launched.child.once('close', cwd.release);
      const { child } = launched;
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (err) {
      launched?.release();
      if (isErrno(err, 'E2BIG')) throw new RpcError(Code.OUT_OF_RANGE, `${where}: arguments and environment are too large`);
      throw toRpcError(err, `Processes/${operation}`, JSON.stringify(program));
    } finally {
      this.starting--;
    }
    const { child } = launched;
    if (this.caller.isDisconnected) {
      // The disconnect cleanup ran while this one was starting and could not see it.
      killTree(child.pid as number);
      throw new RpcError(Code.UNAVAILABLE, `${where}: the plugin disconnected`);
    }
    const proc = new ManagedProcess(child as ChildProcess & { pid: number }, program, request.args, limits.maxOutputBytes);
    this.running.add(proc);
    void proc.done.then(() => this.running.delete(proc));
    return proc;
  }

  get(operation: string, id: string): ManagedProcess {
    const proc = this.handles.get(id);
    if (!proc) throw notFound(`Processes/${operation} ${JSON.stringify(id)}: no such process handle`);
    return proc;
  }
}

/** A timeout that may only be lowered: 0 is the default, and nothing goes past the host's bound. */
function execTimeout(caller: Caller, requested: number): number {
  if (requested < 0) throw invalid(`Processes/Exec: timeout_ms must not be negative (got ${requested})`);
  return Math.min(requested || caller.limits.execTimeoutMs, caller.limits.maxExecTimeoutMs);
}

/** The exit status, or undefined when `timeoutMs` (0: never) passes first; rejects when `signal` aborts. */
async function exitWithin(proc: ManagedProcess, timeoutMs: number, signal: AbortSignal): Promise<ProcessExit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      proc.exited,
      new Promise<undefined>((resolve, reject) => {
        if (timeoutMs > 0) timer = setTimeout(() => resolve(undefined), timeoutMs);
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

const byHandle = { capability: 'process.spawn', resource: (r: { id: string }) => r.id };

export const processesService = hostService({
  definition: ProcessesDefinition,
  operations: {
    // The program as requested: a bare name resolves through the host's PATH,
    // which plugins cannot change, so it names exactly one program.
    exec: { capability: 'exec', resource: (r, { host }) => programResource('Exec', r.program, host.env.PATH) },
    spawn: { capability: 'exec', resource: (r, { host }) => programResource('Spawn', r.program, host.env.PATH) },
    processOutput: byHandle,
    writeStdin: byHandle,
    signal: byHandle,
    wait: byHandle,
    listProcesses: { capability: 'process.spawn', resource: () => '*' },
  },
  create: (caller, host) => {
    const table = new ProcessTable(caller, host);
    return {
      exec: async (request, ctx) => {
        const started = performance.now();
        const timeoutMs = execTimeout(caller, request.timeoutMs);
        const proc = await table.start('Exec', request, ctx);
        proc.child.stdin?.end(request.stdin);
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          proc.kill();
        }, timeoutMs);
        const cancel = () => proc.kill();
        ctx.signal.addEventListener('abort', cancel, { once: true });
        try {
          await proc.done;
        } finally {
          clearTimeout(timer);
          ctx.signal.removeEventListener('abort', cancel);
        }
        if (timedOut) {
          throw new RpcError(Code.DEADLINE_EXCEEDED, `Processes/Exec ${proc.program}: timed out after ${timeoutMs} ms; its process group was killed`);
        }
        if (ctx.signal.aborted) throw new RpcError(Code.CANCELLED, `Processes/Exec ${proc.program}: cancelled; its process group was killed`);
        return {
          program: proc.program,
          exit: proc.exit,
          stdout: proc.collected(OutputStream.OUTPUT_STREAM_STDOUT),
          stderr: proc.collected(OutputStream.OUTPUT_STREAM_STDERR),
          truncated: proc.truncated,
          durationMs: Math.round(performance.now() - started),
        };
      },

      spawn: async (request, ctx) => {
        const proc = await table.start('Spawn', request, ctx);
        if (request.stdin.length > 0) proc.child.stdin?.write(request.stdin);
        const id = randomUUID();
        table.handles.set(id, proc);
        return { id, program: proc.program, pid: proc.pid };
      },

      processOutput: async function* ({ id }, ctx) {
        const proc = table.get('ProcessOutput', id);
        yield* proc.stream(AbortSignal.any([ctx.signal, caller.signal]));
      },

      writeStdin: async ({ id, data, close }, ctx) => {
        const proc = table.get('WriteStdin', id);
        const where = `Processes/WriteStdin ${JSON.stringify(id)}`;
        if (data.length > caller.limits.maxWriteBytes) {
          throw new RpcError(Code.OUT_OF_RANGE, `${where}: ${data.length} bytes is more than the write limit of ${caller.limits.maxWriteBytes}`);
        }
        if (proc.exit) throw new RpcError(Code.FAILED_PRECONDITION, `${where}: the process has exited`);
        if (!proc.stdinOpen) throw new RpcError(Code.FAILED_PRECONDITION, `${where}: stdin is closed`);
        try {
          await proc.writeStdin(data, close, ctx.signal);
        } catch (err) {
          if (err instanceof RpcError) throw err;
          throw new RpcError(Code.FAILED_PRECONDITION, `${where}: the process no longer reads its stdin`, { cause: err });
        }
        return {};
      },

      signal: ({ id, signal }) => {
        const proc = table.get('Signal', id);
        const where = `Processes/Signal ${JSON.stringify(id)}`;
        if (!ALLOWED_SIGNALS.has(signal as NodeJS.Signals)) {
          throw invalid(`${where}: signal ${JSON.stringify(signal)} is not one of ${[...ALLOWED_SIGNALS].join(', ')}`);
        }
        if (proc.exit || !proc.signalGroup(signal as NodeJS.Signals)) throw new RpcError(Code.FAILED_PRECONDITION, `${where}: the process has exited`);
        return {};
      },

      wait: async ({ id, timeoutMs }, ctx) => {
        const where = `Processes/Wait ${JSON.stringify(id)}`;
        if (timeoutMs < 0) throw invalid(`${where}: timeout_ms must not be negative (got ${timeoutMs})`);
        const proc = table.get('Wait', id);
        const exit = await exitWithin(proc, timeoutMs, ctx.signal);
        if (!exit) throw new RpcError(Code.DEADLINE_EXCEEDED, `${where}: still running after ${timeoutMs} ms`);
        if (table.handles.get(id) === proc) table.handles.delete(id);
        return { exit };
      },

      listProcesses: () => ({
        processes: [...table.handles].map(([id, p]) => ({ id, program: p.program, args: p.args, pid: p.pid, running: !p.exit, exit: p.exit })),
      }),
    };
  },
});
