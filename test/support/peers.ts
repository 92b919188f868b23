/**
 * Where the interop tests find their peers. Go and Python peers are built
 * from the project's own sources; when a toolchain is missing the tests are
 * skipped on a developer machine, but fail in CI, where they must run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const dist = join(repo, 'dist');

/**
 * What hst hosts here offer hst plugins: the native transport unless the run
 * sets HST_TRANSPORT=grpc (scripts/test.mjs runs the ts<->ts tests both ways).
 */
export const transportUnderTest: 'native' | 'grpc' = process.env.HST_TRANSPORT === 'grpc' ? 'grpc' : 'native';

/** Two connected unix sockets, as the host's end and the plugin's end of the pair a host makes. */
export async function connectedSockets(dir: string): Promise<[Socket, Socket]> {
  const path = join(dir, `pair-${process.pid}-${++pairs}`);
  const listener = createServer();
  listener.listen(path);
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const near = connect(path);
  const [far] = await accepted;
  listener.close();
  rmSync(path, { force: true });
  return [near, far];
}
let pairs = 0;

export function fixture(name: string): string {
  return join(dist, 'test', 'fixtures', `${name}.js`);
}

/** A command that runs a compiled TS fixture plugin. */
export function nodePlugin(name: string): { path: string; args: string[] } {
  return { path: process.execPath, args: [fixture(name)] };
}

const inCI = !!process.env.CI;

/** `{ skip: reason }` off CI when the peer cannot be had; throws in CI. */
function unavailable(reason: string): { skip: string } {
  if (inCI) throw new Error(`interop peer unavailable in CI: ${reason}`);
  return { skip: reason };
}

/** Debian's chromium, for the dashboard's browser tests (Playwright's own download is not reachable here). */
export function chromium(): { executable: string } | { skip: string } {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const executable = candidates.find((p) => existsSync(p));
  return executable ? { executable } : unavailable('chromium is not installed (apt-get install chromium)');
}

/** Go itself, for what builds Go code of its own (the SDK, a skeleton): missing is a skip on a developer machine, a failure in CI. */
export function goToolchain(): { go: string } | { skip: string } {
  return spawnSync('go', ['version']).status === 0 ? { go: 'go' } : unavailable('Go is not installed');
}

let goBuilt: { bin: string } | { skip: string } | undefined;

/** Builds interop/go once per test process (go's build cache makes repeats cheap). */
export function goPeers(): { bin: string } | { skip: string } {
  if (goBuilt) return goBuilt;
  if (spawnSync('go', ['version']).status !== 0) return (goBuilt = unavailable('Go is not installed'));
  const dir = join(repo, 'interop', 'go');
  execFileSync('bash', [join(dir, 'build.sh')], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return (goBuilt = { bin: join(dir, 'bin') });
}

let python: { python: string } | { skip: string } | undefined;

export function pythonPeer(): { python: string } | { skip: string } {
  if (python) return python;
  const exe = process.env.PYTHON ?? 'python3';
  if (spawnSync(exe, ['--version']).status !== 0) return (python = unavailable('python3 is not installed'));
  const check = spawnSync(exe, ['-c', 'import grpc, grpc_health, cryptography']);
  if (check.status !== 0) {
    return (python = unavailable('Python packages missing: pip install -r sdk/python/requirements.txt'));
  }
  return (python = { python: exe });
}

/** A fresh working directory, removed when `fn` is done. */
export async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'hst-test-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of every live process in a process group (from /proc). */
export function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[0] !== 'Z' && Number(fields[2]) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export { collector } from '../../src/util/collector.js';

export { eventually } from './assertions.js';

let containers: { engine: string; runArgs: string[] } | { skip: string } | undefined;

/**
 * A container engine that runs containers here (podman or docker), and the
 * `run` arguments it needs on this machine. A sandboxed CI machine lacks
 * CAP_SYS_RESOURCE and mixes cgroup v1 and v2: crun then refuses to raise
 * rlimits or to start at all, so the probe falls back to runc with limits
 * below the machine's own.
 */
export function containerEngine(probeImage: (engine: string) => string): { engine: string; runArgs: string[] } | { skip: string } {
  if (containers) return containers;
  const engine = ['podman', 'docker'].find((e) => spawnSync(e, ['version'], { stdio: 'ignore' }).status === 0);
  if (!engine) return (containers = unavailable('no container engine answers (apt-get install podman runc)'));
  const image = probeImage(engine);
  const attempts = [[], ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024']];
  const why: string[] = [];
  for (const runArgs of attempts) {
    // Without go-plugin's cookie the plugin says what it is and exits 1: the container ran.
    const probe = spawnSync(engine, ['run', '--rm', '--network', 'none', ...runArgs, '--entrypoint', '/counter-plugin', image], { encoding: 'utf8', timeout: 60_000 });
    if (probe.stderr.includes('This binary is a plugin')) return (containers = { engine, runArgs });
    why.push(probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`);
  }
  return (containers = unavailable(`${engine} cannot run a container here: ${why.join('; ')}`));
}
