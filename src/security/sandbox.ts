/**
 * The OS sandbox around a plugin process. planSandbox turns "run this
 * plugin" into the command line, environment and extra file descriptors that
 * run it inside the strongest isolation this machine offers:
 *
 * - always: an environment of exactly the given variables, its own session
 *   (the caller spawns detached), and, where the tools exist, prlimit limits
 *   and a watchdog that kills the plugin when its host dies, even by SIGKILL;
 * - isolation: new user, mount, pid, ipc, uts and network namespaces (only
 *   `lo`), no capabilities, a filesystem of /usr plus the plugin's own
 *   directories, and a seccomp filter (seccomp.ts); built by bubblewrap
 *   where it is installed, else by hst's own launcher (native/hst-sandbox.c),
 *   which reads the same options;
 * - Landlock, by the launcher (inside bubblewrap too): file access only
 *   beneath the mounted paths, no TCP, and no signal or abstract socket
 *   reaching past the sandbox;
 * - with neither, `unshare --user --net` for network isolation and
 *   `setpriv` for the watchdog, no_new_privs and dropped capabilities: not
 *   isolation, so the manager refuses to run plugins on it unless told to;
 * - for node plugins, Node's permission flags as an inner layer.
 *
 * Every directory is mounted at the same path inside as outside, so paths in
 * the environment and in the handshake mean the same on both sides.
 * translateAddress still checks each address a plugin announces, because a
 * plugin must not steer the host into dialling some other socket.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, linkSync, lstatSync, mkdtempSync, openSync, readlinkSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, sep } from 'node:path';
import type { Writable } from 'node:stream';
import type { Address } from '../rpc/transport.js';
import { buildSeccompFilter, hostSeccompArch } from './seccomp.js';
import { packageRoot } from '../util/package-root.js';

export type SandboxLayer =
  /** The plugin sees only the variables it was given. */
  | 'env'
  /** Its own session and process group (the caller spawns with `detached: true`). */
  | 'session'
  /** Resource limits (core dumps off, plus whatever `resources` asks for). */
  | 'prlimit'
  /** no_new_privs and an empty capability set. */
  | 'privileges'
  /** Node's --permission flags: file access only to the plugin's own directories, no child processes, workers or addons. */
  | 'node-permissions'
  /** Own user, mount, pid, ipc, uts and network namespaces and a minimal filesystem: it cannot see, signal or trace anything outside. */
  | 'isolation'
  /** Isolation built by bubblewrap (else by hst's launcher). */
  | 'bwrap'
  /** Landlock: file access beneath the mounted paths only, no TCP, no signals or abstract sockets past the sandbox. */
  | 'landlock'
  /** The syscall filter of seccomp.ts. */
  | 'seccomp'
  /** Own user and network namespace through unshare(1), when there is no isolation. A `require` of it is also met by isolation. */
  | 'unshare'
  /** The plugin dies with its host, even when the host is killed with SIGKILL. */
  | 'watchdog';

export type SandboxRuntime = 'node' | 'python' | 'binary';

type ProbeKey = 'bwrap' | 'launcher' | 'seccomp' | 'landlock' | 'unshareUser' | 'unshareNet' | 'prlimit' | 'setpriv';
type Tool = 'bwrap' | 'launcher' | 'prlimit' | 'setpriv' | 'unshare';

export interface SandboxProbe {
  bwrap: boolean;
  /** hst's launcher builds the sandbox itself (where bwrap is missing). */
  launcher: boolean;
  /** The launcher that will be used (bwrap, else hst's) loads the seccomp filter. */
  seccomp: boolean;
  /** Landlock's ABI version as the launcher sees it; 0 when it cannot apply Landlock. */
  landlock: number;
  unshareUser: boolean;
  unshareNet: boolean;
  prlimit: boolean;
  /** setpriv(1): the watchdog (parent-death signal) and privilege drop without bwrap. */
  setpriv: boolean;
  /** bwrap can cap the size of the sandbox's /tmp (--size, bwrap 0.8 and later). */
  bwrapTmpfsSize?: boolean;
  /** Absolute paths of the tools found. */
  tools: Partial<Record<Tool, string>>;
  /** Why each unavailable feature is missing. */
  reasons: Partial<Record<ProbeKey, string>>;
}

export interface SandboxResources {
  /** Node: its whole heap (nodeHeapFlags); python and binary: RLIMIT_DATA. */
  memoryMb?: number;
  /** RLIMIT_CPU: SIGKILL after this much CPU time. */
  cpuSeconds?: number;
  /** RLIMIT_NOFILE. */
  maxOpenFiles?: number;
  /**
   * RLIMIT_NPROC. The kernel counts every process and thread of the user,
   * not just the plugin's, and does not apply it to root: set it only when
   * the host runs as a dedicated user.
   */
  maxProcesses?: number;
}

export interface SandboxRequest {
  runtime: SandboxRuntime;
  /** Absolute: the .js/.mjs/.cjs entry for node, the .py for python, the executable for binary. */
  entry: string;
  args: string[];
  /** The node or python executable; default this process's node, or `python3` on the host's PATH. */
  interpreter?: string;
  /** The plugin's directory: read-only inside. */
  pluginDir: string;
  /**
   * What is mounted at pluginDir, when not pluginDir itself: a copy made
   * while its signature was checked, so the plugin runs from the very bytes
   * that were verified, at the path its modules expect.
   */
  pluginDirSource?: string;
  /** More read-only directories the plugin needs (a shared node_modules, PYTHONPATH entries). */
  readOnlyPaths?: string[];
  /** The plugin's private, writable working directory; also its cwd. */
  workDir: string;
  /**
   * An open fd of workDir (from a confined walk). With bwrap the directory is
   * then bound from this fd (`--bind-fd`), not looked up by path, so nothing
   * swapped in at that path afterwards can be mounted instead.
   */
  workDirFd?: number;
  /** Mount workDir read-only (a program whose plugin may only read its working directory). */
  workDirReadOnly?: boolean;
  /** Host-owned 0700 directory, writable inside, where the plugin puts its unix sockets (PLUGIN_UNIX_SOCKET_DIR). */
  socketDir: string;
  /** The complete environment: the host's own environment is not added. */
  env: Record<string, string>;
  resources?: SandboxResources;
  /**
   * An open fd of the already-verified binary (SecureConfig) to run instead
   * of opening `entry` again: it is passed to the child and executed as
   * /proc/self/fd/N, which also works inside the sandbox's own /proc.
   */
  executableFd?: number;
  /** Refuse to start unless all of these layers are active. */
  require?: SandboxLayer[];
}

export interface SandboxPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Appended to the spawn stdio array after stdin, stdout and stderr: they become fds 3, 4, ... in the child. */
  stdio: number[];
  /** The layers actually active, for the audit log. */
  layers: SandboxLayer[];
  /** Every other layer and why it is off, for the same log line. */
  inactive: Array<{ layer: SandboxLayer; reason: string }>;
  /**
   * Checks an address the plugin announced (handshake or broker) and gives
   * the one the host should dial. Throws SandboxAddressError for a unix
   * socket outside socketDir, for anything that is not a socket, and for tcp
   * when the plugin has its own network namespace.
   */
  translateAddress(address: Address): Address;
  /** Closes the fds kept for the child and removes the plan's private files; call once the process is gone. */
  cleanup(): void;
}

export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
  constructor(readonly missing: Array<{ layer: SandboxLayer; reason: string }>) {
    super(`plugin sandbox: required ${missing.length === 1 ? 'layer' : 'layers'} unavailable: ${missing.map((m) => `${m.layer} (${m.reason})`).join('; ')}`);
  }
}

export class SandboxAddressError extends Error {
  override readonly name = 'SandboxAddressError';
}

/** hst's launcher, compiled by `npm install` into dist/native (scripts/build-native.mjs). */
const LAUNCHER = join(packageRoot, 'dist', 'native', 'hst-sandbox');
const LAUNCHER_MISSING = `hst's launcher ${LAUNCHER} was not built (it needs a C compiler when npm install runs: apt-get install gcc, then npm rebuild)`;
const TOOL_PACKAGES: Record<Exclude<Tool, 'launcher'>, string> = {
  bwrap: 'apt-get install bubblewrap',
  prlimit: 'install util-linux',
  setpriv: 'install util-linux',
  unshare: 'install util-linux',
};

/** Where bwrap, prlimit, setpriv and unshare are looked for besides PATH: a host's PATH may lack sbin. */
const TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];
const PROBE_TIMEOUT_MS = 10_000;
/** Size of the sandbox's /tmp when the plugin declares no memory limit. */
const DEFAULT_TMP_MB = 64;
/** Top-level system paths mirrored read-only: enough for node, python and any dynamically linked binary. */
const SYSTEM_PATHS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc/ld.so.cache', '/etc/localtime'];
/** Mounting over these would hide what bwrap itself sets up, or expose the whole host. */
const FORBIDDEN_PREFIXES = ['/proc', '/dev', '/sys'];
const NODE_OPTIONS_VAR = 'NODE_OPTIONS';
const SOCKET_DIR_VAR = 'PLUGIN_UNIX_SOCKET_DIR';
const SOCKET_GROUP_VAR = 'PLUGIN_UNIX_SOCKET_GROUP';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d)), ...TOOL_DIRS];
  return dirs.map((dir) => join(dir, name)).find(executable);
}

/** A quick command every tool can run: this very node, which is certainly present. */
const PROBE_COMMAND = [process.execPath, '--version'];
/** Under the seccomp filter a TCP socket must fail with EAFNOSUPPORT: proof the filter is in force. */
const SECCOMP_PROBE_COMMAND = [
  process.execPath,
  '-e',
  "require('net').createServer().on('error', (e) => process.exit(e.code === 'EAFNOSUPPORT' ? 0 : 2)).listen(0, '127.0.0.1', () => process.exit(3))",
];

/** Runs a probe command; `fd3` is written to the child's fd 3 (how bwrap gets its seccomp program). */
function run(command: string, args: string[], fd3?: Buffer): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: {}, cwd: '/', stdio: ['ignore', 'ignore', 'pipe', fd3 ? 'pipe' : 'ignore'], timeout: PROBE_TIMEOUT_MS });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (fd3) {
      const pipe = child.stdio[3] as Writable;
      // A bwrap that fails before reading it closes the pipe: its exit status is the answer, not this EPIPE.
      pipe.on('error', () => {});
      pipe.end(fd3);
    }
    const describe = (outcome: string) => {
      const firstLine = stderr.split('\n').find((l) => l.trim())?.trim();
      return `${basename(command)} ${outcome}${firstLine ? `: ${firstLine}` : ''}`;
    };
    child.once('error', (err) => resolve(describe(`could not run (${err.message})`)));
    child.once('close', (code, signal) => resolve(code === 0 ? undefined : describe(signal ? `was killed by ${signal}` : `exited with code ${code}`)));
  });
}

let cachedProbe: Promise<SandboxProbe> | undefined;

/** Tries each tool once, for real, and remembers the answer for the life of the process. */
export function probeSandbox(): Promise<SandboxProbe> {
  cachedProbe ??= runProbe();
  return cachedProbe;
}

async function runProbe(): Promise<SandboxProbe> {
  const tools: SandboxProbe['tools'] = {};
  for (const name of ['bwrap', 'prlimit', 'setpriv', 'unshare'] as const) {
    const path = findTool(name);
    if (path) tools[name] = path;
  }
  if (executable(LAUNCHER)) tools.launcher = LAUNCHER;
  const reasons: SandboxProbe['reasons'] = {};
  const check = async (key: ProbeKey, tool: Tool, args: string[]): Promise<boolean> => {
    const path = tools[tool];
    if (!path) {
      reasons[key] = tool === 'launcher' ? LAUNCHER_MISSING : `${tool} not found on PATH or in ${TOOL_DIRS.join(', ')} (${TOOL_PACKAGES[tool]})`;
      return false;
    }
    const failure = await run(path, args);
    if (failure) reasons[key] = failure;
    return !failure;
  };

  const mounts = withRuntimeDirs(systemMounts(), [interpreterPrefix(realpathSync(process.execPath))]);
  const arch = hostSeccompArch();
  const filter = arch ? buildSeccompFilter(arch) : undefined;
  const [bwrap, launcher, unshareUser, prlimit, setpriv, bwrapHelp, landlockAbi] = await Promise.all([
    check('bwrap', 'bwrap', [...bwrapBaseArgs(mounts, '/'), '--', ...PROBE_COMMAND]),
    check('launcher', 'launcher', [...launcherArgs(bwrapBaseArgs(mounts, '/')), '--', ...PROBE_COMMAND]),
    check('unshareUser', 'unshare', ['--user', '--map-root-user', '--', ...PROBE_COMMAND]),
    check('prlimit', 'prlimit', ['--core=0', '--', ...PROBE_COMMAND]),
    check('setpriv', 'setpriv', [...setprivArgs(process.getuid?.() === 0), '--', ...PROBE_COMMAND]),
    tools.bwrap ? execText(tools.bwrap, ['--help']).catch(() => '') : '',
    tools.launcher ? execText(tools.launcher, ['--landlock-abi']).then(Number, () => 0) : 0,
  ]);
  const unshareNet = await check('unshareNet', 'unshare', [...(unshareUser ? ['--user', '--map-root-user'] : []), '--net', '--', ...PROBE_COMMAND]);

  // Seccomp and Landlock are tried the way plans will use them: through bwrap where it works, else the launcher.
  const isolation: Isolation | undefined = bwrap ? 'bwrap' : launcher ? 'launcher' : undefined;
  let seccomp = false;
  let landlock = 0;
  if (isolation) {
    const attempt = (extra: string[], layers: { landlock: boolean }, command: string[], fd3?: Buffer) => {
      const [first, ...rest] = [...isolationPrefix(isolation, tools, withLauncherMounted(mounts, isolation, layers.landlock), '/', extra, layers), ...command];
      return run(first as string, rest, fd3);
    };
    const [withSeccomp, withLandlock] = await Promise.all([
      filter ? attempt(['--seccomp', '3'], { landlock: false }, SECCOMP_PROBE_COMMAND, filter) : Promise.resolve(`no seccomp filter for CPU architecture ${process.arch}`),
      landlockAbi > 0 ? attempt([], { landlock: true }, PROBE_COMMAND) : Promise.resolve(tools.launcher ? 'Landlock is not enabled in this kernel' : LAUNCHER_MISSING),
    ]);
    seccomp = !withSeccomp;
    if (withSeccomp) reasons.seccomp = withSeccomp;
    landlock = withLandlock ? 0 : landlockAbi;
    if (withLandlock) reasons.landlock = withLandlock;
  } else {
    reasons.seccomp = reasons.landlock = `needs bwrap or hst's launcher (${reasons.bwrap}; ${reasons.launcher})`;
  }
  return { bwrap, launcher, seccomp, landlock, unshareUser, unshareNet, prlimit, setpriv, bwrapTmpfsSize: bwrapHelp.includes('--size'), tools, reasons };
}

type Isolation = 'bwrap' | 'launcher';

/**
 * The words that run a program outside any sandbox yet tied to this host:
 * hst's launcher as its subreaper, which kills the program and everything it
 * started when this process dies or the program ends. Undefined where the
 * launcher was not built.
 */
export function reaperPrefix(argv0: string): string[] | undefined {
  return executable(LAUNCHER) ? [LAUNCHER, '--reaper', '--parent-pid', String(process.pid), '--argv0', argv0, '--'] : undefined;
}

/** Why no isolation can be had here, and how to get it. */
function isolationMissing(p: SandboxProbe): string {
  return `neither bubblewrap nor hst's launcher works here (${p.reasons.bwrap ?? 'bwrap unavailable'}; ${p.reasons.launcher ?? 'launcher unavailable'})`;
}

/** The launcher's options in front of a bwrap-style argument list: it must know which process to die with. */
function launcherArgs(sandboxArgs: string[]): string[] {
  return ['--parent-pid', String(process.pid), ...sandboxArgs];
}

/** Inside bwrap the launcher itself must be visible to be run. */
function withLauncherMounted(mounts: Mount[], isolation: Isolation, landlock: boolean): Mount[] {
  return isolation === 'bwrap' && landlock ? withRuntimeDirs(mounts, [LAUNCHER]) : mounts;
}

/**
 * The command line that isolates: bwrap (with the launcher inside it adding
 * Landlock), or the launcher alone. `extra` goes among the sandbox options
 * (`--seccomp N`); the plugin's command follows the returned words.
 */
function isolationPrefix(isolation: Isolation, tools: SandboxProbe['tools'], mounts: Mount[], chdir: string, extra: string[], layers: { landlock: boolean }): string[] {
  const args = [...bwrapBaseArgs(mounts, chdir), ...extra];
  if (isolation === 'launcher') return [tools.launcher as string, ...launcherArgs(args), ...(layers.landlock ? ['--landlock'] : []), '--'];
  const inner = layers.landlock ? [tools.launcher as string, '--confine-only', '--landlock', ...landlockRules(mounts), '--'] : [];
  // The launcher in front, as bwrap's subreaper, catches what bwrap's own parent-death signals miss.
  const guard = tools.launcher ? [tools.launcher, '--reaper', '--forward-signals', '--parent-pid', String(process.pid), '--'] : [];
  return [...guard, tools.bwrap as string, ...args, '--', ...inner];
}

/** The mounts as the launcher's Landlock rules inside bwrap: each path with its mount's rights, nothing mounted again. */
function landlockRules(mounts: Mount[]): string[] {
  return mounts.flatMap((m): string[] => {
    if (m.kind === 'ro') return ['--ro-bind', m.path, m.path];
    if (m.kind === 'rw') return ['--bind', m.path, m.path];
    if (m.kind === 'symlink') return [];
    return [`--${m.kind}`, m.path];
  });
}

type Mount =
  | { kind: 'proc' | 'dev'; path: string }
  /** `fd`: bind from this inherited fd instead of the path. */
  | { kind: 'ro' | 'rw'; path: string; fd?: number; source?: string }
  | { kind: 'tmpfs'; path: string; bytes?: number }
  | { kind: 'symlink'; path: string; target: string };

/**
 * /usr and friends as the host has them (merged-/usr symlinks stay symlinks,
 * missing paths are skipped), and a private /tmp of at most `tmpBytes`.
 */
function systemMounts(tmpBytes?: number): Mount[] {
  const mounts: Mount[] = [
    { kind: 'tmpfs', path: '/tmp', ...(tmpBytes ? { bytes: tmpBytes } : {}) },
    { kind: 'proc', path: '/proc' },
    { kind: 'dev', path: '/dev' },
  ];
  for (const path of SYSTEM_PATHS) {
    try {
      const st = lstatSync(path);
      mounts.push(st.isSymbolicLink() ? { kind: 'symlink', path, target: readlinkSync(path) } : { kind: 'ro', path });
    } catch {
      // not on this system
    }
  }
  return mounts;
}

/** Adds an interpreter's installation directory read-only, unless a system mount already covers it. */
function withRuntimeDirs(mounts: Mount[], dirs: string[]): Mount[] {
  const covered = (dir: string) => mounts.some((m) => m.kind === 'ro' && (dir === m.path || dir.startsWith(m.path + sep)));
  return [...mounts, ...[...new Set(dirs)].filter((dir) => !covered(dir)).map((path) => ({ kind: 'ro' as const, path }))];
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}

function bwrapBaseArgs(mounts: Mount[], chdir: string): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  // Parents before children, so a nested directory is mounted on top of its parent, not hidden under it.
  for (const m of [...mounts].sort((a, b) => depth(a.path) - depth(b.path))) {
    if (m.kind === 'rw' || m.kind === 'ro') {
      const option = m.kind === 'rw' ? '--bind' : '--ro-bind';
      args.push(...(m.fd !== undefined ? [`${option}-fd`, String(m.fd), m.path] : [option, m.source ?? m.path, m.path]));
    } else if (m.kind === 'symlink') args.push('--symlink', m.target, m.path);
    else if (m.kind === 'tmpfs' && m.bytes) args.push('--size', String(m.bytes), '--tmpfs', m.path);
    else args.push(`--${m.kind}`, m.path);
  }
  // The root itself is a tmpfs bwrap made: without this the plugin could fill memory through it.
  args.push('--remount-ro', '/', '--chdir', chdir);
  return args;
}

function setprivArgs(dropCapabilities: boolean): string[] {
  // A capability set can only be emptied by someone holding CAP_SETPCAP; an ordinary user has none to drop.
  return ['--pdeathsig', 'KILL', '--no-new-privs', ...(dropCapabilities ? ['--inh-caps=-all', '--bounding-set=-all'] : [])];
}

/** The installation directory of an interpreter binary (…/bin/node -> …). */
function interpreterPrefix(realExecutable: string): string {
  return dirname(dirname(realExecutable));
}

function resolveExecutable(command: string): string {
  if (isAbsolute(command)) return command;
  const found = findTool(command);
  if (!found) throw new Error(`plugin sandbox: ${command} not found on the host's PATH`);
  return found;
}

export interface NodeInfo {
  executable: string;
  permissionFlag: string | undefined;
  disableWarning: boolean;
  reason: string;
}

/** Asks an interpreter about itself once; a failure is not remembered, so a fixed installation is seen next time. */
function remembered<T>(cache: Map<string, Promise<T>>, key: string, ask: () => Promise<T>): Promise<T> {
  let answer = cache.get(key);
  if (!answer) {
    answer = ask();
    cache.set(key, answer);
    answer.catch(() => cache.delete(key));
  }
  return answer;
}

const nodeInfos = new Map<string, Promise<NodeInfo>>();

function nodeInfo(interpreter: string): Promise<NodeInfo> {
  const executable = realpathSync(resolveExecutable(interpreter));
  return remembered(nodeInfos, executable, async () => {
    if (executable === realpathSync(process.execPath)) return describeNode(executable, process.version, process.allowedNodeEnvironmentFlags);
    const [version = '', ...flags] = (await execText(executable, ['-p', "[process.version, ...process.allowedNodeEnvironmentFlags].join('\\n')"])).trim().split('\n');
    return describeNode(executable, version, new Set(flags));
  });
}

/**
 * What this node's permission model is called, decided by the flags the node
 * says it accepts rather than by its version: --experimental-permission
 * (20.7 to 22.12, where --allow-fs-read is repeatable) became --permission
 * (22.13, 23.5), and Node 24 accepts only the new name.
 */
export function describeNode(executable: string, version: string, flags: ReadonlySet<string>): NodeInfo {
  const permissionFlag = !flags.has('--allow-fs-read') ? undefined : flags.has('--permission') ? '--permission' : flags.has('--experimental-permission') ? '--experimental-permission' : undefined;
  return {
    executable,
    permissionFlag,
    disableWarning: flags.has('--disable-warning'),
    reason: permissionFlag ? '' : `node ${version} has no usable permission model (--permission or --experimental-permission with --allow-fs-read)`,
  };
}

interface PythonInfo {
  /** Run by this path, not its target: a venv finds its pyvenv.cfg through it. */
  executable: string;
  /** Installation and venv directories, all needed read-only. */
  prefixes: string[];
}

const pythonInfos = new Map<string, Promise<PythonInfo>>();

function pythonInfo(interpreter: string): Promise<PythonInfo> {
  const resolved = resolveExecutable(interpreter);
  return remembered(pythonInfos, resolved, async () => {
    // -I: neither the cwd nor the user's site directory on sys.path, so nothing but the installation runs.
    const out = await execText(resolved, ['-I', '-c', 'import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix); print(sys.exec_prefix); print(sys.base_exec_prefix)'], process.env);
    const [executable = '', ...prefixes] = out.trim().split('\n');
    if (!isAbsolute(executable)) throw new Error(`plugin sandbox: ${interpreter} did not report its executable`);
    return { executable, prefixes: [...new Set(prefixes.filter((p) => isAbsolute(p)).map((p) => realpathSync(p)))] };
  });
}

function execText(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { env, cwd: '/', timeout: PROBE_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) =>
      err ? reject(new Error(`plugin sandbox: ${command} ${args[0] ?? ''} failed: ${err.message}`, { cause: err })) : resolve(stdout),
    ),
  );
}

/** A real, absolute directory or file that may be mounted into the sandbox. */
function mountablePath(path: string, what: string): string {
  if (!isAbsolute(path)) throw new Error(`plugin sandbox: ${what} ${JSON.stringify(path)} is not an absolute path`);
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new Error(`plugin sandbox: ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (real === '/' || FORBIDDEN_PREFIXES.some((p) => real === p || real.startsWith(p + sep))) {
    throw new Error(`plugin sandbox: ${what} ${real} cannot be mounted into the sandbox`);
  }
  return real;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

interface RuntimeCommand {
  /** The plugin's own command line, before any wrapper. */
  argv: string[];
  /** Interpreter installation directories: mounted read-only, not granted to the plugin's own file access. */
  runtimeDirs: string[];
  /** Why Node's permission layer is off, when it is. */
  noNodePermissions?: string;
}

async function runtimeCommand(req: SandboxRequest, entry: string, readable: string[], writable: string[], stdio: number[]): Promise<RuntimeCommand> {
  if (req.runtime === 'node') {
    const node = await nodeInfo(req.interpreter ?? process.execPath);
    const flags: string[] = [];
    if (node.permissionFlag) {
      flags.push(node.permissionFlag);
      if (node.disableWarning) flags.push('--disable-warning=ExperimentalWarning');
      for (const path of [...readable, ...writable]) flags.push(`--allow-fs-read=${path}`);
      for (const path of writable) flags.push(`--allow-fs-write=${path}`);
    }
    if (req.resources?.memoryMb !== undefined) flags.push(...nodeHeapFlags(req.resources.memoryMb));
    return {
      argv: [node.executable, ...flags, entry, ...req.args],
      runtimeDirs: [interpreterPrefix(node.executable)],
      ...(node.permissionFlag ? {} : { noNodePermissions: node.reason }),
    };
  }
  const noNodePermissions = `runtime ${req.runtime}: Node's permission model applies to node plugins only`;
  if (req.runtime === 'python') {
    const python = await pythonInfo(req.interpreter ?? 'python3');
    return { argv: [python.executable, entry, ...req.args], runtimeDirs: python.prefixes, noNodePermissions };
  }
  const executable = req.executableFd === undefined ? entry : `/proc/self/fd/${3 + pushFd(stdio, req.executableFd)}`;
  return { argv: [executable, ...req.args], runtimeDirs: [], noNodePermissions };
}

/** Adds `fd` to the extra stdio list; returns its index there (its fd in the child is 3 + index). */
function pushFd(stdio: number[], fd: number): number {
  stdio.push(fd);
  return stdio.length - 1;
}

function prlimitArgs(prlimit: string, runtime: SandboxRuntime, resources: SandboxResources): string[] {
  const args = [prlimit, '--core=0'];
  if (resources.maxOpenFiles !== undefined) args.push(`--nofile=${resources.maxOpenFiles}`);
  if (resources.maxProcesses !== undefined) args.push(`--nproc=${resources.maxProcesses}`);
  if (resources.cpuSeconds !== undefined) args.push(`--cpu=${resources.cpuSeconds}`);
  // V8 reserves far more than it uses, so node is held by --max-old-space-size instead.
  if (resources.memoryMb !== undefined && runtime !== 'node') args.push(`--data=${resources.memoryMb * 1024 * 1024}`);
  return [...args, '--'];
}

/** Turns a request into a command line wrapped in every available layer; see the module comment. */
export async function planSandbox(req: SandboxRequest, probe?: SandboxProbe): Promise<SandboxPlan> {
  const p = probe ?? (await probeSandbox());
  const pluginDir = mountablePath(req.pluginDir, 'pluginDir');
  const workDir = mountablePath(req.workDir, 'workDir');
  const socketDir = mountablePath(req.socketDir, 'socketDir');
  const readable = [...new Set([pluginDir, ...(req.readOnlyPaths ?? []).map((path) => mountablePath(path, 'read-only path'))])];
  const pluginDirSource = req.pluginDirSource === undefined ? undefined : mountablePath(req.pluginDirSource, 'pluginDirSource');
  const writable = [...new Set([workDir, socketDir])];
  const entry = mountablePath(req.entry, 'entry');
  if (!readable.some((dir) => within(entry, dir))) {
    throw new Error(`plugin sandbox: entry ${entry} is outside pluginDir ${pluginDir} and the read-only paths, so the plugin could not load it`);
  }
  if (req.executableFd !== undefined && req.runtime !== 'binary') {
    throw new Error('plugin sandbox: executableFd applies to runtime binary only (an interpreter finds its libraries through its own path)');
  }

  const layers: SandboxLayer[] = ['env', 'session'];
  const unavailable = new Map<SandboxLayer, string>();
  const env: Record<string, string> = { ...req.env, [SOCKET_DIR_VAR]: socketDir };
  // Group ownership means nothing in a host-private socket directory, and the plugin's chown fails in a user namespace.
  delete env[SOCKET_GROUP_VAR];

  const stdio: number[] = [];
  const runtime = await runtimeCommand(req, entry, readable, writable, stdio);
  if (runtime.noNodePermissions) {
    unavailable.set('node-permissions', runtime.noNodePermissions);
  } else {
    // NODE_OPTIONS may carry --allow-fs-read=/ and undo the whole layer.
    delete env[NODE_OPTIONS_VAR];
    layers.push('node-permissions');
  }

  const prefix: string[] = [];
  if (p.prlimit && p.tools.prlimit) {
    prefix.push(...prlimitArgs(p.tools.prlimit, req.runtime, req.resources ?? {}));
    layers.push('prlimit');
  } else {
    unavailable.set('prlimit', p.reasons.prlimit ?? 'prlimit unavailable');
  }

  // The dial links (translateAddress) must share the socket directory's filesystem and be out of the plugin's reach.
  let privateDir: string | undefined = mkdtempSync(join(dirname(socketDir), '.hst-sandbox-'));
  let seccompFd: number | undefined;
  const cleanup = () => {
    if (seccompFd !== undefined) closeSync(seccompFd);
    seccompFd = undefined;
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    privateDir = undefined;
  };
  let netIsolated = false;
  try {
    const arch = hostSeccompArch();
    const isolation: Isolation | undefined = p.bwrap && p.tools.bwrap ? 'bwrap' : p.launcher && p.tools.launcher ? 'launcher' : undefined;
    if (isolation) {
      // /tmp lives in memory, so it gets the plugin's memory budget.
      const tmpBytes = isolation === 'launcher' || p.bwrapTmpfsSize ? (req.resources?.memoryMb ?? DEFAULT_TMP_MB) * 1024 * 1024 : undefined;
      const landlock = p.landlock > 0;
      const mounts = withLauncherMounted(withRuntimeDirs(systemMounts(tmpBytes), runtime.runtimeDirs), isolation, landlock);
      for (const path of readable) mounts.push({ kind: 'ro', path, ...(path === pluginDir && pluginDirSource ? { source: pluginDirSource } : {}) });
      for (const path of writable) {
        const fd = path === workDir && req.workDirFd !== undefined ? 3 + pushFd(stdio, req.workDirFd) : undefined;
        mounts.push({ kind: path === workDir && req.workDirReadOnly ? 'ro' : 'rw', path, ...(fd !== undefined ? { fd } : {}) });
      }
      layers.push('isolation', ...(isolation === 'bwrap' ? (['bwrap'] as const) : []), 'privileges', 'watchdog');
      if (isolation === 'launcher') unavailable.set('bwrap', p.reasons.bwrap ?? 'bwrap unavailable');
      const extra: string[] = [];
      if (p.seccomp && arch) {
        // A file, not a pipe: the program is in place before the launcher starts, nothing to write after spawn.
        const file = join(privateDir, 'seccomp.bpf');
        writeFileSync(file, buildSeccompFilter(arch), { mode: 0o600 });
        seccompFd = openSync(file, 'r');
        unlinkSync(file);
        extra.push('--seccomp', String(3 + pushFd(stdio, seccompFd)));
        layers.push('seccomp');
      } else {
        unavailable.set('seccomp', p.reasons.seccomp ?? 'seccomp unavailable');
      }
      if (landlock) layers.push('landlock');
      else unavailable.set('landlock', p.reasons.landlock ?? 'Landlock unavailable');
      prefix.push(...isolationPrefix(isolation, p.tools, mounts, workDir, extra, { landlock }));
      netIsolated = true;
    } else {
      const noIsolation = isolationMissing(p);
      for (const layer of ['isolation', 'bwrap', 'seccomp', 'landlock'] as const) unavailable.set(layer, noIsolation);
      if (p.unshareNet && p.tools.unshare) {
        prefix.push(p.tools.unshare, ...(p.unshareUser ? ['--user', '--map-root-user'] : []), '--net', '--');
        layers.push('unshare');
        netIsolated = true;
      } else {
        unavailable.set('unshare', p.reasons.unshareNet ?? 'unshare unavailable');
      }
      if (p.setpriv && p.tools.setpriv) {
        // Last before the plugin: the parent-death signal belongs to the very process the host spawned
        // (every wrapper execs in place), and no later credential change clears it.
        const rootInside = (layers.includes('unshare') && p.unshareUser) || process.getuid?.() === 0;
        prefix.push(p.tools.setpriv, ...setprivArgs(rootInside), '--');
        layers.push('privileges', 'watchdog');
      } else {
        const why = p.reasons.setpriv ?? 'setpriv unavailable';
        unavailable.set('privileges', why);
        unavailable.set('watchdog', why);
      }
    }
    const missing = (req.require ?? [])
      .filter((layer) => !layers.includes(layer) && !(layer === 'unshare' && layers.includes('isolation')))
      .map((layer) => ({ layer, reason: unavailable.get(layer) ?? 'not available for this plugin' }));
    if (missing.length) throw new SandboxUnavailableError(missing);
  } catch (err) {
    cleanup();
    throw err;
  }

  const argv = [...prefix, ...runtime.argv];
  let dials = 0;
  return {
    command: argv[0] as string,
    args: argv.slice(1),
    env,
    cwd: workDir,
    stdio,
    layers,
    inactive: [...unavailable].map(([layer, reason]) => ({ layer, reason })),
    translateAddress(address: Address): Address {
      if (address.network === 'tcp') {
        if (netIsolated) {
          throw new SandboxAddressError(
            `plugin announced tcp address ${address.address}, but it runs in its own network namespace, unreachable from the host: it must listen on a unix socket in ${SOCKET_DIR_VAR}`,
          );
        }
        return address;
      }
      const name = address.address.slice(socketDir.length + 1);
      if (!address.address.startsWith(socketDir + sep) || !name || name.includes(sep) || name === '.' || name === '..') {
        throw new SandboxAddressError(`plugin announced unix socket ${address.address}, which is not in its socket directory ${socketDir}`);
      }
      if (!privateDir) throw new SandboxAddressError(`plugin announced unix socket ${address.address} after its sandbox was cleaned up`);
      // A hard link to the entry itself (link(2) does not follow symlinks), checked where the plugin cannot
      // swap it: what is verified to be a socket is exactly what gets dialled.
      const dial = join(privateDir, `dial${++dials}`);
      try {
        linkSync(address.address, dial);
      } catch (err) {
        throw new SandboxAddressError(`plugin announced unix socket ${address.address}, which cannot be used: ${(err as Error).message}`, { cause: err });
      }
      if (!lstatSync(dial).isSocket()) {
        unlinkSync(dial);
        throw new SandboxAddressError(`plugin announced ${address.address}, which is not a unix socket`);
      }
      return { network: 'unix', address: dial };
    },
    cleanup,
  };
}

/**
 * V8 flags that hold a Node plugin's whole heap to `memoryMb`. The heap is
 * the old space plus three semi-spaces of the young generation, and the
 * young generation's default grew (Node 24's is 192 MiB, so
 * --max-old-space-size alone let a 96 MiB plugin reach 288): the semi-space
 * is set too, to about a sixteenth of the budget (a power of two from 1 to
 * 16 MiB), and the old space
 * gets the rest, whatever the version's defaults.
 */
export function nodeHeapFlags(memoryMb: number): string[] {
  // V8 rounds the semi-space up to a power of two: ask for one.
  const semiMb = 2 ** Math.floor(Math.log2(Math.max(1, Math.min(16, memoryMb / 16))));
  const oldMb = Math.max(16, memoryMb - 3 * semiMb);
  return [`--max-old-space-size=${oldMb}`, `--max-semi-space-size=${semiMb}`];
}
