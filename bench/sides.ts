/**
 * Who talks to whom. A pair names host and plugin: "ts" is hst (PluginClient,
 * serve()), "go" is go-plugin; the floor is two processes and a bare unix
 * socket, measured between two Node processes and between two Go processes.
 * ts->ts is hst's host and plugin as users get them, on hst's native
 * transport; ts->ts/grpc is the same two programs told to speak go-plugin's
 * gRPC instead (PluginClient `native: false`).
 */
import { join } from 'node:path';
import type { FloorTarget } from './job.js';
import type { Toolchains } from './toolchains.js';

export const pairs = ['ts->ts', 'ts->ts/grpc', 'ts->go', 'go->ts', 'go->go', 'floor'] as const;
export type Pair = (typeof pairs)[number];

export type PluginLanguage = 'ts' | 'go' | 'python';

export interface Side {
  pair: Pair;
  /** The process that runs a job: bench/runner.js, bench-host or bench-floor. */
  runner: 'node' | 'go-host' | 'go-floor';
  plugin?: PluginLanguage;
  /** Floor sides: which language's two processes; their metric names end in .node or .go. */
  floor?: 'node' | 'go';
  /** TypeScript host: PluginClient's `native` option, set only where the side departs from hst's default. */
  native?: false;
}

export const tsTs: Side = { pair: 'ts->ts', runner: 'node', plugin: 'ts' };
export const tsTsGrpc: Side = { pair: 'ts->ts/grpc', runner: 'node', plugin: 'ts', native: false };
export const tsGo: Side = { pair: 'ts->go', runner: 'node', plugin: 'go' };
export const goTs: Side = { pair: 'go->ts', runner: 'go-host', plugin: 'ts' };
export const goGo: Side = { pair: 'go->go', runner: 'go-host', plugin: 'go' };
export const floorNode: Side = { pair: 'floor', runner: 'node', floor: 'node' };
export const floorGo: Side = { pair: 'floor', runner: 'go-floor', floor: 'go' };
/** The hst host starting a plugin on the hst Python SDK (start-up only; reported under ts->ts). */
export const tsPython: Side = { pair: 'ts->ts', runner: 'node', plugin: 'python' };

export const pluginPairs = [tsTs, tsTsGrpc, tsGo, goTs, goGo];

export function sideName(side: Side): string {
  if (side.floor) return `floor (${side.floor})`;
  return side.plugin === 'python' ? 'ts->python' : side.pair;
}

/** Whether the toolchains this side needs are there. */
export function available(side: Side, toolchains: Toolchains): boolean {
  const needsGo = side.runner !== 'node' || side.plugin === 'go';
  return (!needsGo || !!toolchains.go) && (side.plugin !== 'python' || !!toolchains.python);
}

/** Metric names of floor sides say which floor they are. */
export function metricName(side: Side, metric: string): string {
  return side.floor ? `${metric}.${side.floor}` : metric;
}

/** The TypeScript bench plugin as `hst build` ships plugins: bundled by esbuild (bench/main.ts makes it). */
export const BUNDLED_PLUGIN = 'bundled/plugin.js';
/** The TypeScript runner, bundled the same way, so the host side runs as compact as the plugin side. */
export const BUNDLED_RUNNER = 'bundled-runner/runner.js';

/** The floor's echo peer; the TypeScript runner starts it (the Go floor has its own). */
export function floorTarget(layout: Layout): FloorTarget {
  return { kind: 'floor', echo: join(layout.distBench, 'floor-echo.js') };
}

export interface Layout {
  repo: string;
  /** dist/bench, where the compiled runner and plugin are. */
  distBench: string;
}

/** The command that starts this side's plugin from the repository (fresh copies are made elsewhere). */
export function pluginCommand(language: PluginLanguage, layout: Layout, toolchains: Toolchains): string[] {
  switch (language) {
    case 'ts':
      return [process.execPath, join(layout.distBench, BUNDLED_PLUGIN)];
    case 'go':
      return [join(toolchains.go?.bin ?? '', 'bench-plugin')];
    case 'python':
      return [toolchains.python?.exe ?? 'python3', join(layout.repo, 'bench', 'python', 'bench_plugin.py')];
  }
}
