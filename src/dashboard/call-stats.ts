/**
 * Calls per plugin and operation, both ways: the host's calls to plugins
 * (the manager's `call` events) and plugins' calls to host services (the
 * audit log, which times each and records its outcome). Counts, errors,
 * refusals and latency percentiles over the most recent calls of each.
 */
import type { AuditRecord } from '../security/audit.js';

/** Latency percentiles come from the last this-many calls of each operation. */
const WINDOW = 512;

export type CallDirection = 'host->plugin' | 'plugin->host';

export interface CallStat {
  plugin: string;
  direction: CallDirection;
  operation: string;
  calls: number;
  errors: number;
  denied: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  lastError?: string;
}

interface Entry {
  stat: Omit<CallStat, 'p50Ms' | 'p95Ms' | 'maxMs'>;
  recent: number[];
  next: number;
}

export class CallStats {
  private readonly entries = new Map<string, Entry>();

  record(plugin: string, direction: CallDirection, operation: string, ms: number, outcome: { error?: string; denied?: boolean } = {}): void {
    const key = `${plugin}\0${direction}\0${operation}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { stat: { plugin, direction, operation, calls: 0, errors: 0, denied: 0 }, recent: [], next: 0 };
      this.entries.set(key, entry);
    }
    entry.stat.calls++;
    if (outcome.denied) entry.stat.denied++;
    else if (outcome.error !== undefined) {
      entry.stat.errors++;
      entry.stat.lastError = outcome.error;
    }
    if (entry.recent.length < WINDOW) entry.recent.push(ms);
    else entry.recent[entry.next] = ms;
    entry.next = (entry.next + 1) % WINDOW;
  }

  /** A plugin's call to a host service, from its audit record; grants, sandbox reports and the like are not calls. */
  recordAudit(record: AuditRecord): void {
    if (record.event !== undefined) return;
    this.record(record.plugin, 'plugin->host', record.op, record.duration_us / 1000, {
      ...(record.decision === 'deny' ? { denied: true } : {}),
      ...(record.error !== undefined ? { error: record.error } : {}),
    });
  }

  snapshot(): CallStat[] {
    return [...this.entries.values()]
      .map(({ stat, recent }) => {
        const sorted = [...recent].sort((a, b) => a - b);
        const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
        return { ...stat, p50Ms: at(0.5), p95Ms: at(0.95), maxMs: sorted.at(-1) ?? 0 };
      })
      .sort((a, b) => a.plugin.localeCompare(b.plugin) || a.direction.localeCompare(b.direction) || a.operation.localeCompare(b.operation));
  }
}
