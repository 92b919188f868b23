/**
 * The fleet task on the TypeScript host: many plugins loaded at once, their
 * memory and the host's when idle, then call latency with all of them busy.
 * The Node floor runs the same task with bare echo processes in their place.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task, TaskResult } from './job.js';
import { keepInFlight } from './load.js';
import { pssBytes, rssBytes } from './proc-memory.js';

/** Plugins started at once: enough to keep two cores busy, few enough that none times out. */
const START_BATCH = 4;

/** One process of the fleet, as the host sees it: a plugin, or a floor echo. */
export interface Member {
  pid: number;
  echo(payload: Buffer): Promise<unknown>;
  stop(): Promise<unknown>;
}

export async function runFleet(startMember: () => Promise<Member>, task: Extract<Task, { kind: 'fleet' }>): Promise<TaskResult> {
  const hostRssBeforeBytes = rssBytes();
  const plugins: Member[] = [];
  try {
    for (let started = 0; started < task.plugins; started += START_BATCH) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(START_BATCH, task.plugins - started) }, startMember));
      for (const outcome of batch) if (outcome.status === 'fulfilled') plugins.push(outcome.value);
      const failed = batch.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
    }
    const payload = randomBytes(64);
    await Promise.all(
      plugins.map(async (member) => {
        for (let i = 0; i < task.warmup; i++) await member.echo(payload);
      }),
    );
    await sleep(task.settleMs);
    const pids = plugins.map((p) => p.pid);
    const memory = {
      hostRssBeforeBytes,
      hostRssBytes: rssBytes(),
      hostPssBytes: pssBytes(),
      pluginRssBytes: pids.map((pid) => rssBytes(pid)),
      pluginPssBytes: pids.map((pid) => pssBytes(pid)),
    };
    const samplesNs: number[] = [];
    const start = process.hrtime.bigint();
    const runs = await Promise.all(plugins.map((member) => keepInFlight(() => member.echo(payload), 1, task.durationMs, 0, samplesNs)));
    const elapsedNs = Number(process.hrtime.bigint() - start);
    return { ...memory, samplesNs, calls: runs.reduce((n, r) => n + r.calls, 0), elapsedNs };
  } finally {
    await Promise.all(plugins.map((p) => p.stop()));
  }
}
