/**
 * The TypeScript runner: one process per job (bench/job.ts). As a host it
 * starts the bench plugin with hst's PluginClient (serving it hst's host
 * services when asked); as the Node floor it starts bench/floor-echo.js. It
 * runs the job's tasks with its own clock and prints one JSON report.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { allHostServices, establishHostServices, HostServices } from '../src/host/index.js';
import { NATIVE_PROTOCOL } from '../src/protocol/constants.js';
import { startBenchPlugin, type BenchPlugin } from './bench-plugin-client.js';
import { startFloor } from './floor-client.js';
import { runFleet, type Member } from './fleet.js';
import { DriveOp } from './gen/hst/bench/v1/bench.js';
import type { DriveOp as DriveOpName, Job, PluginTarget, Report, Task, TaskResult, TransportProtocol } from './job.js';
import { keepInFlight, timeEach } from './load.js';

const driveOps: Record<DriveOpName, DriveOp> = {
  stat: DriveOp.DRIVE_OP_STAT,
  'read-file': DriveOp.DRIVE_OP_READ_FILE,
  'read-file-stream': DriveOp.DRIVE_OP_READ_FILE_STREAM,
  'fs-read': DriveOp.DRIVE_OP_FS_READ,
};

type Echo = (payload: Buffer) => Promise<unknown>;

const job = JSON.parse(await text(process.stdin)) as Job;
const grpcJs = (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string }).version;
/** What answers on the host side: the floor's bare socket, or PluginClient on the transport the side measures. */
function hostLabel(target: Job['target']): string {
  if (target.kind === 'floor') return `node ${process.version} net`;
  return target.protocol === NATIVE_PROTOCOL ? 'hst PluginClient (native transport)' : `hst PluginClient (@grpc/grpc-js ${grpcJs})`;
}
const report: Report = { results: [], checks: { host: hostLabel(job.target) } };
const closers: Array<() => Promise<void>> = [];
try {
  let echo: Echo | undefined;
  let plugin: BenchPlugin | undefined;
  const target = job.target;
  const startOrFleetOnly = job.tasks.every((t) => t.kind === 'start' || t.kind === 'fleet');
  if (target.kind === 'floor' && !startOrFleetOnly) {
    const floor = await startFloor();
    closers.push(() => floor.stop());
    echo = (payload) => floor.echo(payload);
  } else if (target.kind === 'plugin' && !startOrFleetOnly) {
    plugin = await connect(target);
    const bench = plugin.bench;
    echo = (payload) => bench.echo({ payload });
  }
  for (const task of job.tasks) report.results.push(await run(task, echo, plugin));
  // Start and fleet jobs never connect() here, but each of their starts went through startBenchPlugin, which refuses any other protocol.
  if (target.kind === 'plugin') report.checks.transport ??= target.protocol;
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (err) {
  process.stderr.write(`runner: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  for (const close of closers.reverse()) await close();
}

/** Starts the plugin, with host services if asked, and checks what it says about the connection. */
async function connect(target: PluginTarget): Promise<BenchPlugin> {
  const plugin = await startBenchPlugin(target);
  closers.push(() => plugin.client.kill());
  if (target.hostServices) {
    const dataDir = mkdtempSync(join(tmpdir(), 'hst-bench-data-'));
    const hostServices = new HostServices({ modules: allHostServices, dataDir });
    closers.push(async () => {
      await hostServices.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const established = await establishHostServices(plugin.client, hostServices, { workspace: target.hostServices.workspace });
    if (!established) throw new Error(`${target.command.join(' ')} does not take host services`);
  }
  const info = await plugin.bench.info({});
  report.checks.plugin = { language: info.language, runtime: info.runtime, tls: info.tls };
  report.checks.transport = plugin.client.handshake?.protocol as TransportProtocol;
  if (info.tls !== expectsTls(target)) {
    const asked = `AutoMTLS is ${target.autoMTLS ? 'on' : 'off'}${target.protocol === NATIVE_PROTOCOL ? ' on the native transport' : ''}`;
    throw new Error(`${asked} but the plugin says its connection is ${info.tls ? '' : 'not '}TLS`);
  }
  const probe = randomBytes(64);
  const { payload } = await plugin.bench.echo({ payload: probe });
  if (!Buffer.from(payload).equals(probe)) throw new Error('Echo answered with a different payload');
  return plugin;
}

/** The native transport is a socket pair only the two processes hold: it has no TLS, whatever AutoMTLS asked. */
function expectsTls(target: PluginTarget): boolean {
  return target.autoMTLS && target.protocol !== NATIVE_PROTOCOL;
}

async function run(task: Task, echo: Echo | undefined, plugin: BenchPlugin | undefined): Promise<TaskResult> {
  switch (task.kind) {
    case 'latency': {
      const payload = randomBytes(task.payload);
      const call = () => (echo as Echo)(payload);
      await timeEach(call, task.warmup, 0);
      const from = monotonicUs();
      const samplesNs = await timeEach(call, 0, task.calls);
      return { samplesNs, windowUs: [from, monotonicUs()] };
    }
    case 'throughput': {
      const payload = randomBytes(task.payload);
      return keepInFlight(() => (echo as Echo)(payload), task.inFlight, task.durationMs, task.warmupMs);
    }
    case 'drive': {
      if (!plugin) throw new Error('drive needs a plugin target');
      const { op, path, warmup, calls, durationMs, inFlight } = task;
      return plugin.bench.drive({ op: driveOps[op], path, warmup, calls, durationMs, inFlight });
    }
    case 'start':
      return { samplesNs: await timeStarts(memberStarter(job.target), task.starts) };
    case 'fleet':
      return runFleet(memberStarter(job.target), task);
  }
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Starts one process of the target: a plugin through PluginClient, or the floor's bare echo. */
function memberStarter(target: Job['target']): () => Promise<Member> {
  if (target.kind === 'floor') return startFloor;
  return async () => {
    const plugin = await startBenchPlugin(target);
    return { pid: plugin.client.pid as number, echo: (payload) => plugin.bench.echo({ payload }), stop: () => plugin.client.kill() };
  };
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
