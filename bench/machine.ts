/**
 * The machine and software a run measured, and how busy the machine was
 * with other work: numbers are only comparable on the same footing.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Toolchains } from './toolchains.js';

export interface Machine {
  date: string;
  cores: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  go?: string;
  python?: string;
  grpcio?: string;
  /** As interop/go/go.mod requires it; the Go host also reports what it was built with (checks). */
  goPlugin?: string;
  protobufEs: string;
  /** Share of all cores busy in the second before the run started: other work on the machine. */
  busyBeforeStart: number;
  loadAverageStart: number[];
  loadAverageEnd?: number[];
  /**
   * CPU the machine spent on anything but this run while it ran: all busy
   * CPU time (/proc/stat) minus this process's and its reaped descendants'
   * (every runner and plugin is reaped by the end).
   */
  otherWork?: { coreSeconds: number; shareOfCores: number };
}

export interface MachineWatch {
  machine: Machine;
  /** The machine with what happened during the run added. */
  finish(): Machine;
}

/** Clock ticks (USER_HZ) of this process and its reaped children: utime, stime, cutime, cstime. */
function ownTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
}

function ticksPerSecond(): number {
  const getconf = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(getconf.stdout) || 100;
}

function cpuTimes(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle and iowait
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

export async function watchMachine(repo: string, toolchains: Toolchains): Promise<MachineWatch> {
  const before = cpuTimes();
  await sleep(1000);
  const after = cpuTimes();
  const goMod = readFileSync(join(repo, 'interop', 'go', 'go.mod'), 'utf8');
  const goPlugin = /github\.com\/hashicorp\/go-plugin (v\S+)/.exec(goMod)?.[1];
  const protobufEs = JSON.parse(readFileSync(join(repo, 'node_modules', '@bufbuild', 'protobuf', 'package.json'), 'utf8')) as { version: string };
  const machine: Machine = {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    ...(toolchains.go ? { go: toolchains.go.version.replace(/^go version /, '') } : {}),
    ...(toolchains.python ? { python: toolchains.python.version, grpcio: toolchains.python.grpcio } : {}),
    ...(goPlugin ? { goPlugin } : {}),
    protobufEs: protobufEs.version,
    busyBeforeStart: Math.round(((after.busy - before.busy) / Math.max(1, after.total - before.total)) * 100) / 100,
    loadAverageStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const start = { cpu: cpuTimes(), own: ownTicks(), at: Date.now() };
  return {
    machine,
    finish() {
      const cpu = cpuTimes();
      const otherTicks = Math.max(0, cpu.busy - start.cpu.busy - (ownTicks() - start.own));
      const coreSeconds = otherTicks / ticksPerSecond();
      const wallSeconds = (Date.now() - start.at) / 1000;
      return {
        ...machine,
        loadAverageEnd: loadavg().map((l) => Math.round(l * 100) / 100),
        otherWork: { coreSeconds: Math.round(coreSeconds), shareOfCores: Math.round((coreSeconds / (wallSeconds * machine.cores)) * 100) / 100 },
      };
    },
  };
}
