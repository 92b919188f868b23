/**
 * The audit log: one JSON line per decision, allowed or denied, in the
 * host's data directory (never a plugin-writable place). A denial is synced
 * to disk before the refused call returns, so a crash cannot lose one;
 * allowed records are synced in batches. Files rotate by size:
 * audit.jsonl, audit.jsonl.1, ...
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, watch, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CallRecord } from '../host-services/dispatch.js';
import { makeDirs } from '../util/make-dirs.js';

export interface AuditRecord {
  time: string;
  plugin: string;
  instance: string;
  /** sha256 of the plugin's executable, when known. */
  binary_sha256?: string;
  op: string;
  capability: string;
  resource: string;
  decision: 'allow' | 'deny';
  rule: string;
  request_id: string;
  duration_us: number;
  /** Set when the call was allowed but then failed. */
  error?: string;
  /** A client id the plugin claimed for itself, when it was not its own. */
  claimed_instance?: string;
  /** Non-call decisions: grants, revocations, sandbox layers, signature checks. */
  event?: string;
  detail?: Record<string, unknown>;
}

/** Where a host keeps its audit log: inside its data directory, never a plugin workspace. */
export function auditLogPath(dataDir: string): string {
  return join(dataDir, 'audit', 'audit.jsonl');
}

export interface AuditOptions {
  path: string;
  /** Rotate when the file passes this size (default 10 MiB). */
  maxBytes?: number;
  /** Rotated files kept (default 5). */
  keep?: number;
  /** How long an allowed record may wait for fsync (default 200 ms). */
  syncDelayMs?: number;
}

export class AuditLog {
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly syncDelayMs: number;
  private syncTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: AuditOptions) {
    makeDirs(dirname(options.path), 0o700);
    this.fd = openSync(options.path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 5;
    this.syncDelayMs = options.syncDelayMs ?? 200;
  }

  get path(): string {
    return this.options.path;
  }

  write(record: AuditRecord): void {
    if (this.closed) return;
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    if (this.size > 0 && this.size + line.length > this.maxBytes) this.rotate();
    writeSync(this.fd, line);
    this.size += line.length;
    if (record.decision === 'deny') {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      fsyncSync(this.fd);
    } else {
      this.syncTimer ??= setTimeout(() => {
        this.syncTimer = undefined;
        if (!this.closed) fsyncSync(this.fd);
      }, this.syncDelayMs).unref();
    }
  }

  /** The audit record for one host call. */
  recordCall(call: CallRecord, binarySha256?: string): void {
    const denied = call.code === 7 && call.rule !== undefined;
    this.write({
      time: new Date().toISOString(),
      plugin: call.owner,
      instance: call.clientId,
      ...(binarySha256 ? { binary_sha256: binarySha256 } : {}),
      op: call.operation,
      capability: call.capability,
      resource: call.resource,
      decision: denied ? 'deny' : 'allow',
      rule: call.rule ?? 'no policy',
      request_id: call.requestId,
      duration_us: call.durationUs,
      ...(!denied && call.error ? { error: call.error } : {}),
      ...(call.claimedClientId ? { claimed_instance: call.claimedClientId } : {}),
    });
  }

  /** A decision that is not a host call: sandbox layers at start, a signature check, a grant. */
  recordEvent(plugin: string, event: string, detail: Record<string, unknown>, decision: 'allow' | 'deny' = 'allow', rule = 'host'): void {
    this.write({
      time: new Date().toISOString(),
      plugin,
      instance: '',
      op: `Host/${event}`,
      capability: '',
      resource: '',
      decision,
      rule,
      request_id: '',
      duration_us: 0,
      event,
      detail,
    });
  }

  private rotate(): void {
    closeSync(this.fd);
    const p = this.options.path;
    rmSync(`${p}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) if (existsSync(`${p}.${i}`)) renameSync(`${p}.${i}`, `${p}.${i + 1}`);
    renameSync(p, `${p}.1`);
    this.fd = openSync(p, 'a', 0o600);
    this.size = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.syncTimer);
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

export interface AuditQuery {
  plugin?: string;
  denied?: boolean;
}

function matches(r: AuditRecord, q: AuditQuery): boolean {
  return (!q.plugin || r.plugin === q.plugin) && (!q.denied || r.decision === 'deny');
}

/** Records from the rotated files (oldest first) and the current one. Lines that do not parse are skipped. */
export function readAudit(path: string, query: AuditQuery = {}): AuditRecord[] {
  const files: string[] = [];
  for (let i = 20; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  if (existsSync(path)) files.push(path);
  return files.flatMap((f) => parseLines(readFileSync(f, 'utf8'))).filter((r) => matches(r, query));
}

function parseLines(text: string): AuditRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as AuditRecord];
      } catch {
        return [];
      }
    });
}

/** Calls `onRecord` for each record appended after now, until the signal aborts. */
export function followAudit(path: string, query: AuditQuery, onRecord: (r: AuditRecord) => void, signal: AbortSignal): void {
  let offset = existsSync(path) ? fstatSize(path) : 0;
  let pending = '';
  const poll = () => {
    if (!existsSync(path)) return;
    const size = fstatSize(path);
    if (size < offset) offset = 0; // rotated
    if (size === offset) return;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      pending += buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const r of parseLines(lines.join('\n'))) if (matches(r, query)) onRecord(r);
  };
  // A host that has not audited anything yet has no directory to watch: it is the host's, made as the log would make it.
  makeDirs(dirname(path), 0o700);
  const watcher = watch(dirname(path), () => poll());
  const timer = setInterval(poll, 500);
  signal.addEventListener('abort', () => {
    watcher.close();
    clearInterval(timer);
  });
}

function fstatSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
