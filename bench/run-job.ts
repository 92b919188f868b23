/**
 * Runs one job in a fresh runner process and returns its report. Every
 * process the benchmark starts carries RUN_MARKER in its environment (and
 * passes it on to the plugins it starts), which is how leftovers.ts finds
 * anything still running at the end.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import type { Job, Report } from './job.js';
import { BUNDLED_RUNNER, type Layout, type Side } from './sides.js';
import type { Toolchains } from './toolchains.js';
import { Ring } from '../src/util/ring.js';

export const RUN_MARKER = 'HST_BENCH_RUN';

export interface RunContext {
  layout: Layout;
  toolchains: Toolchains;
  runId: string;
  /** Extra node flags for the TypeScript runner (the profile passes --cpu-prof). */
  nodeArgs?: string[];
  /** A runner still going after this long is killed and its job fails. */
  timeoutMs: number;
  /** Run the TypeScript runner bundled (BUNDLED_RUNNER), as the sections do; the profile runs it unbundled. */
  bundled?: boolean;
}

const STDERR_LINES = 20;

export async function runJob(side: Side, job: Job, ctx: RunContext): Promise<Report> {
  const [command, ...args] = runnerCommand(side, ctx);
  const child = spawn(command as string, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, [RUN_MARKER]: ctx.runId },
  });
  const stderr = new Ring<string>(STDERR_LINES);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim()) stderr.push(line);
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const timer = setTimeout(() => child.kill('SIGKILL'), ctx.timeoutMs);
  try {
    child.stdin.end(JSON.stringify(job));
    const [stdout, [code, signal]] = await Promise.all([text(child.stdout), exited]);
    if (code !== 0) {
      const how = signal === 'SIGKILL' ? `was killed after ${ctx.timeoutMs / 1000} s` : `exited with ${signal ?? `code ${code}`}`;
      throw new Error(`the ${side.runner} runner ${how}: ${stderr.toArray().slice(-3).join(' | ') || 'no stderr'}`);
    }
    return JSON.parse(stdout) as Report;
  } finally {
    clearTimeout(timer);
  }
}

function runnerCommand(side: Side, ctx: RunContext): string[] {
  const bin = ctx.toolchains.go?.bin ?? '';
  switch (side.runner) {
    case 'node':
      return [process.execPath, ...(ctx.nodeArgs ?? []), join(ctx.layout.distBench, ctx.bundled ? BUNDLED_RUNNER : 'runner.js')];
    case 'go-host':
      return [join(bin, 'bench-host')];
    case 'go-floor':
      return [join(bin, 'bench-floor')];
  }
}
