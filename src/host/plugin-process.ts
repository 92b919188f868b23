/**
 * The process behind a plugin client: one we spawned, or one we reattached
 * to by pid. Either way the client learns when it is gone and can kill it,
 * together with everything it started (its process group).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { killTree } from '../util/process-tree.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface PluginProcess {
  /** Undefined where the process is not the host's to see (a container's). */
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  readonly exitInfo: ExitInfo | undefined;
  /** SIGKILL to the process and, where it leads one, its process group. */
  kill(): void;
}

export class SpawnedProcess implements PluginProcess {
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;

  constructor(private readonly child: ChildProcess) {
    // 'close' comes after the pipes drain, so nothing the plugin wrote is lost.
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  kill(): void {
    if (this.child.pid) killTree(this.child.pid, this.exitInfo !== undefined);
  }
}

/** Start time of a process in clock ticks since boot: tells a reused pid apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number, startTime?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}

/** A process we did not start: we can only poll for it. */
export class ReattachedProcess implements PluginProcess {
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    private readonly startTime: string | undefined,
    pollMs = 1_000,
  ) {
    let resolveExit!: (e: ExitInfo) => void;
    this.exited = new Promise((r) => (resolveExit = r));
    this.timer = setInterval(() => {
      if (processAlive(pid, startTime)) return;
      clearInterval(this.timer);
      this.exitInfo = { code: null, signal: null };
      resolveExit(this.exitInfo);
    }, pollMs);
    this.timer.unref();
  }

  kill(): void {
    if (processAlive(this.pid, this.startTime)) killTree(this.pid);
  }
}
