/**
 * What a section of the benchmark is: its rows (metrics), its columns
 * (sides), and the jobs of one repetition, each with how its report turns
 * into measurements. bench/sections/ holds one file per section.
 */
import type { Fixtures } from './fixtures.js';
import type { Job, Report, TaskResult } from './job.js';
import type { Measurement } from './measurements.js';
import type { Settings } from './settings.js';
import { metricName, type Layout, type Pair, type Side } from './sides.js';
import { quantile } from './stats.js';
import type { Toolchains } from './toolchains.js';

export interface Row {
  /** The metric name, without a floor side's .node/.go. */
  id: string;
  label: string;
  unit: string;
}

export interface Planned {
  side: Side;
  job: Job;
  collect(report: Report): Measurement[];
}

export interface SectionContext {
  settings: Settings;
  layout: Layout;
  toolchains: Toolchains;
  fixtures: Fixtures;
}

export interface Baseline {
  pair: Pair;
  metric: string;
}

export interface Section {
  id: string;
  title: string;
  /** The table's columns, left to right. */
  columns: Side[];
  rows(settings: Settings): Row[];
  reps(settings: Settings): number;
  /** The jobs of one repetition: one (or more) per side. */
  plan(ctx: SectionContext): Promise<Planned[]>;
  /** What a cell's ratio compares with, and how the table names it. */
  ratio: { label: string; baseline(side: Side, row: Row): Baseline | undefined };
  /** A second ratio printed after the first, for tables where a floor is the yardstick too. */
  alsoRatio?: Section['ratio'];
  /** Printed under the table: what a reader would otherwise misread in it. */
  note?: string;
}

/** The anchor: the same metric between go-plugin's own host and plugin. */
export const versusGoGo: Section['ratio'] = {
  label: '× go->go',
  baseline: (side, row) => (side.pair === 'go->go' ? undefined : { pair: 'go->go', metric: row.id }),
};

/** What any Node process pays: the same metric for the bare Node floor. */
export const versusNodeFloor: Section['ratio'] = {
  label: '× floor (node)',
  baseline: (side, row) => (side.floor === 'node' || side.plugin === 'go' || side.plugin === 'python' ? undefined : { pair: 'floor', metric: `${row.id}.node` }),
};

const NS_PER_US = 1e3;

/** p50 and p99 of a task's samples, in µs. */
export function latencies(side: Side, prefix: string, result: TaskResult | undefined): Measurement[] {
  const samples = required(result?.samplesNs, prefix);
  return [
    { pair: side.pair, metric: metricName(side, `${prefix}.p50`), value: quantile(samples, 0.5) / NS_PER_US, unit: 'µs' },
    { pair: side.pair, metric: metricName(side, `${prefix}.p99`), value: quantile(samples, 0.99) / NS_PER_US, unit: 'µs' },
  ];
}

export function callsPerSecond(side: Side, metric: string, result: TaskResult | undefined): Measurement {
  const calls = required(result?.calls, metric);
  const elapsedNs = required(result?.elapsedNs, metric);
  return { pair: side.pair, metric: metricName(side, metric), value: calls / (elapsedNs / 1e9), unit: 'calls/s' };
}

export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) throw new Error(`the runner reported nothing for ${what}`);
  return value;
}
