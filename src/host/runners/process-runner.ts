/**
 * The default runner: the plugin as a child process of the host, in its own
 * process group so that killing it takes whatever it started along.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { SpawnedProcess } from '../plugin-process.js';
import type { Runner, RunnerLaunch, RunningPlugin } from './runner.js';

class RunningProcess extends SpawnedProcess implements RunningPlugin {
  readonly id: string;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly extraStreams: ReadonlyArray<Readable | Writable | null>;

  constructor(child: ReturnType<typeof spawn>) {
    super(child);
    this.id = String(child.pid);
    this.stdout = child.stdout as Readable;
    this.stderr = child.stderr as Readable;
    this.extraStreams = child.stdio.slice(3) as Array<Readable | Writable | null>;
  }
}

/** Resolves once `child` runs; rejects with the spawn error when it never did (a missing file, a bad cwd). */
export function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
}

export const processRunner: Runner = {
  name: 'process',
  passesDescriptors: true,
  async start(launch: RunnerLaunch): Promise<RunningPlugin> {
    const child = spawn(launch.file, launch.args, {
      ...(launch.argv0 ? { argv0: launch.argv0 } : {}),
      env: launch.env,
      ...(launch.cwd ? { cwd: launch.cwd } : {}),
      stdio: [launch.stdin, 'pipe', 'pipe', ...(launch.extraStdio ?? [])],
      detached: true,
    });
    const running = new RunningProcess(child);
    await spawned(child);
    return running;
  },
};
