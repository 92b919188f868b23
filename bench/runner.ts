/**
 * The TypeScript runner: one process per job (bench/job.ts). As a host it
 * starts the bench plugin with hst's PluginClient (serving it hst's host
 * services when asked); as the Node floor it starts bench/floor-echo.js. It
 * runs the job's tasks with its own clock and prints one JSON report.
 */
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { runFleet, type Member } from './fleet.js';
import type { Job, Report, Task, TaskResult } from './job.js';
import { keepInFlight, timeEach } from './load.js';
import type { Connected, RunnerSide } from './runner-side.js';

const job = JSON.parse(await text(process.stdin)) as Job;
const target = job.target;
const side: RunnerSide = target.kind === 'floor' ? (await import('./floor-client.js')).floorSide(target) : (await import('./bench-plugin-client.js')).pluginSide(target);
const report: Report = { results: [], checks: { host: side.host } };
let connected: Connected | undefined;
try {
  // Start and fleet tasks start their own processes; every other task runs against one.
  if (!job.tasks.every((t) => t.kind === 'start' || t.kind === 'fleet')) connected = await side.connect(report.checks);
  for (const task of job.tasks) report.results.push(await run(task, connected));
  // Start and fleet jobs never connect here, but each of their starts went through startBenchPlugin, which refuses any other protocol.
  if (target.kind === 'plugin') report.checks.transport ??= target.protocol;
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (err) {
  process.stderr.write(`runner: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await connected?.close();
}

async function run(task: Task, connected: Connected | undefined): Promise<TaskResult> {
  const echo = connected?.echo;
  switch (task.kind) {
    case 'latency': {
      const payload = randomBytes(task.payload);
      const call = () => (echo as Connected['echo'])(payload);
      await timeEach(call, task.warmup, 0);
      const from = monotonicUs();
      const samplesNs = await timeEach(call, 0, task.calls);
      return { samplesNs, windowUs: [from, monotonicUs()] };
    }
    case 'throughput': {
      const payload = randomBytes(task.payload);
      return keepInFlight(() => (echo as Connected['echo'])(payload), task.inFlight, task.durationMs, task.warmupMs);
    }
    case 'drive':
      if (!connected?.drive) throw new Error('drive needs a plugin target');
      return connected.drive(task);
    case 'start':
      return { samplesNs: await timeStarts(() => side.startMember(), task.starts) };
    case 'fleet':
      return runFleet(() => side.startMember(), task);
  }
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Each start timed from before the process exists to the first echo answered; stopping it is not timed. */
async function timeStarts(start: () => Promise<Member>, starts: number): Promise<number[]> {
  const payload = randomBytes(64);
  const samples: number[] = [];
  for (let i = 0; i < starts; i++) {
    const begin = process.hrtime.bigint();
    const member = await start();
    try {
      await member.echo(payload);
      samples.push(Number(process.hrtime.bigint() - begin));
    } finally {
      await member.stop();
    }
  }
  return samples;
}
