/**
 * Several plugins calling the shared host services at once, as the demo and
 * the TUI show it: each running example plugin runs a command that calls the
 * host, ROUNDS times, all plugins together. Every call is reported as it
 * ends; at the end come the calls, errors, p50/p99 latency and wall time,
 * and a check that each call left its audit record.
 */
import { readdirSync } from 'node:fs';
import type { PluginManager } from '../manager/manager.js';
import { readAudit } from '../security/audit.js';
import { failureText, runToOutcome, summarize } from './command-outcome.js';

export interface ConcurrentCall {
  plugin: string;
  command: string;
  /** The audit record (op) each call must leave. */
  audited: string;
}

/** The calls each plugin makes. */
export const CONCURRENT_CALLS: ConcurrentCall[] = [
  { plugin: 'filelister', command: 'list', audited: 'Filesystem/ReadDir' },
  { plugin: 'hostdemo', command: 'kv', audited: 'KeyValue/Put' },
  { plugin: 'golister', command: 'list', audited: 'Filesystem/ReadDir' },
  { plugin: 'pylelister', command: 'list', audited: 'Filesystem/ReadDir' },
  { plugin: 'colorlister', command: 'list', audited: 'Filesystem/ReadDir' },
];

export const ROUNDS = 8;

export interface ConcurrencyPlan {
  calls: ConcurrentCall[];
  /** Plugins of CONCURRENT_CALLS that are not running, so left out. */
  left: string[];
}

/** One call, as it ended. */
export interface CallReport {
  plugin: string;
  command: string;
  round: number;
  /** When it ended, from the start of the run. */
  atMs: number;
  ms: number;
  ok: boolean;
  /** The result in one line, or what was wrong with it. */
  text: string;
}

export interface ConcurrencySummary {
  calls: number;
  errors: number;
  p50: number;
  p99: number;
  wallMs: number;
  /** Entries of the workspace every listing must have seen. */
  expectedEntries: number;
  /** Plugins whose calls did not each leave their audit record, with what was found. */
  unaudited: string[];
}

type Manager = Pick<PluginManager, 'list' | 'runCommand' | 'auditPath'>;

/** The calls of the plugins that are running; throws when fewer than two are. */
export function planConcurrentCalls(manager: Pick<PluginManager, 'list'>): ConcurrencyPlan {
  const running = new Set(manager.list().filter((p) => p.status === 'running').map((p) => p.name));
  const calls = CONCURRENT_CALLS.filter((c) => running.has(c.plugin));
  if (calls.length < 2) throw new Error(`too few plugins are running for this (${[...running].join(', ') || 'none'})`);
  return { calls, left: CONCURRENT_CALLS.filter((c) => !running.has(c.plugin)).map((c) => c.plugin) };
}

export async function runConcurrentCalls(manager: Manager, plan: ConcurrencyPlan, workspace: string, onCall: (call: CallReport) => void): Promise<ConcurrencySummary> {
  // Nothing writes to the workspace meanwhile, so every listing must see exactly this.
  const expectedEntries = readdirSync(workspace).length;
  const audited = (c: ConcurrentCall) => readAudit(manager.auditPath, { plugin: c.plugin }).filter((r) => r.op === c.audited && r.decision === 'allow').length;
  const before = plan.calls.map(audited);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    plan.calls.map(async (call) => {
      for (let round = 1; round <= ROUNDS; round++) {
        const outcome = await runToOutcome(manager, call.plugin, call.command, {});
        const problem = outcome.ok ? checkResult(call.command, outcome.value, expectedEntries) : failureText(outcome);
        latencies.push(outcome.ms);
        if (problem) errors++;
        const atMs = performance.now() - started;
        onCall({ plugin: call.plugin, command: call.command, round, atMs, ms: outcome.ms, ok: !problem, text: problem ?? summarize(outcome.value, 40) });
      }
    }),
  );
  const wallMs = performance.now() - started;
  const unaudited = plan.calls.flatMap((c, i) => {
    const found = audited(c) - (before[i] ?? 0);
    return found === ROUNDS ? [] : [`${c.plugin}: expected ${ROUNDS} new ${c.audited} audit records, found ${found}`];
  });
  return { calls: latencies.length, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99), wallMs, expectedEntries, unaudited };
}

/** "40 calls in 186 ms, 0 errors, p50 11.9 ms, p99 59.2 ms" */
export function summaryLine(s: ConcurrencySummary): string {
  return `${s.calls} calls in ${Math.round(s.wallMs)} ms, ${s.errors} errors, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`;
}

/** The nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Why a concurrent call's result is wrong, or undefined when it is right. */
function checkResult(command: string, value: unknown, expectedEntries: number): string | undefined {
  const v = (value ?? {}) as { entries?: unknown[]; operations?: unknown[]; failed?: number };
  if (command === 'list') {
    const seen = Array.isArray(v.entries) ? v.entries.length : 'no';
    return seen === expectedEntries ? undefined : `expected ${expectedEntries} entries, got ${seen}`;
  }
  return Array.isArray(v.operations) && v.operations.length > 0 && v.failed === 0 ? undefined : `operations failed: ${JSON.stringify(value)}`;
}
