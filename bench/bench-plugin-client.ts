/**
 * The TypeScript host's side of one bench plugin: hst's PluginClient, the
 * way an application starts a plugin, with the typed Bench client dispensed.
 * Every start is held to the transport its side measures.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allHostServices, establishHostServices, HostServices, PluginClient } from '../src/host/index.js';
import { ENV_TRANSPORT, NATIVE_PROTOCOL } from '../src/protocol/constants.js';
import { atSyscalls } from '../src/security/at-syscalls.js';
import { benchClientPlugin, handshake, PLUGIN_NAME, type BenchClient } from './contract.js';
import { DriveOp } from './gen/hst/bench/v1/bench.js';
import type { DriveOp as DriveOpName, PluginTarget, Report, TransportProtocol } from './job.js';
import type { Connected, RunnerSide } from './runner-side.js';

export interface BenchPlugin {
  client: PluginClient;
  bench: BenchClient;
}

/** Fifty plugins starting at once on two cores take a while each. */
const START_TIMEOUT_MS = 60_000;

export async function startBenchPlugin(target: PluginTarget): Promise<BenchPlugin> {
  const [path, ...args] = target.command;
  if (!path) throw new Error('plugin target has an empty command');
  const client = new PluginClient({
    handshake,
    plugins: { [PLUGIN_NAME]: benchClientPlugin() },
    command: { path, args },
    autoMTLS: target.autoMTLS,
    ...(target.native !== undefined ? { native: target.native } : {}),
    ...(target.multiplex ? { multiplex: true } : {}),
    // Our stdin carries the job; the plugin has no use for it.
    stdin: 'ignore',
    startTimeoutMs: START_TIMEOUT_MS,
  });
  try {
    const bench = await client.dispense<BenchClient>(PLUGIN_NAME);
    checkProtocol(target, client.handshake?.protocol);
    if (!!client.handshake?.multiplex !== !!target.multiplex) throw new Error(`${target.command.join(' ')}: multiplexing asked ${!!target.multiplex}, but the handshake says ${!!client.handshake?.multiplex}`);
    return { client, bench };
  } catch (err) {
    await client.kill();
    throw err;
  }
}

/** A plugin on the other transport would have its figures filed under the wrong side: refuse it. */
function checkProtocol(target: PluginTarget, protocol: string | undefined): void {
  if (protocol === target.protocol) return;
  const override = process.env[ENV_TRANSPORT] ? ` (${ENV_TRANSPORT}=${process.env[ENV_TRANSPORT]} is set)` : '';
  throw new Error(`${target.command.join(' ')} came up on protocol ${protocol ?? '(none)'}, but this side measures ${target.protocol}${override}`);
}

const driveOps: Record<DriveOpName, DriveOp> = {
  stat: DriveOp.DRIVE_OP_STAT,
  'read-file': DriveOp.DRIVE_OP_READ_FILE,
  'read-file-stream': DriveOp.DRIVE_OP_READ_FILE_STREAM,
  'fs-read': DriveOp.DRIVE_OP_FS_READ,
};

export function pluginSide(target: PluginTarget): RunnerSide {
  return {
    host: `hst PluginClient (${target.protocol === NATIVE_PROTOCOL ? 'native transport' : 'gRPC on node:http2'})`,
    connect: (checks) => connect(target, checks),
    async startMember() {
      const plugin = await startBenchPlugin(target);
      return { pid: plugin.client.pid as number, echo: (payload) => plugin.bench.echo({ payload }), stop: () => plugin.client.kill() };
    },
  };
}

/** Starts the plugin, with host services if asked, and checks what it says about the connection. */
async function connect(target: PluginTarget, checks: Report['checks']): Promise<Connected> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
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
      checks.confinement = atSyscalls.via;
    }
    const info = await plugin.bench.info({});
    checks.plugin = { language: info.language, runtime: info.runtime, tls: info.tls };
    checks.transport = plugin.client.handshake?.protocol as TransportProtocol;
    checks.multiplexed = !!plugin.client.handshake?.multiplex;
    if (info.tls !== expectsTls(target)) {
      const asked = `AutoMTLS is ${target.autoMTLS ? 'on' : 'off'}${target.protocol === NATIVE_PROTOCOL ? ' on the native transport' : ''}`;
      throw new Error(`${asked} but the plugin says its connection is ${info.tls ? '' : 'not '}TLS`);
    }
    const probe = randomBytes(64);
    const { payload } = await plugin.bench.echo({ payload: probe });
    if (!Buffer.from(payload).equals(probe)) throw new Error('Echo answered with a different payload');
    const bench = plugin.bench;
    return {
      echo: (payload) => bench.echo({ payload }),
      drive: ({ op, path, warmup, calls, durationMs, inFlight }) => bench.drive({ op: driveOps[op], path, warmup, calls, durationMs, inFlight }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The native transport is a socket pair only the two processes hold: it has no TLS, whatever AutoMTLS asked. */
function expectsTls(target: PluginTarget): boolean {
  return target.autoMTLS && target.protocol !== NATIVE_PROTOCOL;
}
