/**
 * The host's key-value database: one SQLite file (WAL, so readers never wait
 * for a writer) holding every plugin's namespace. Versions come from a single
 * counter, so a deleted and re-created key never reuses a version. Expired rows
 * are filtered out of every read and deleted by writes that meet them and by a
 * periodic sweep; each removal is announced as an `expire` change.
 */
import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';

export type KvChangeKind = 'put' | 'delete' | 'expire';

/** Emitted as `change` after the transaction that made it commits. */
export interface KvChange {
  namespace: string;
  key: string;
  kind: KvChangeKind;
  /** put: the new version; delete, expire: the version the key had. */
  version: number;
  /** put only. */
  value?: Uint8Array;
}

export interface KvEntry {
  value: Uint8Array;
  version: number;
  /** ms since the epoch; undefined: never expires. */
  expiresAtMs: number | undefined;
}

export interface KvListing {
  key: string;
  version: number;
  size: number;
  expiresAtMs: number | undefined;
}

export interface KvStoreOptions {
  /** How often expired rows are deleted; default 1 s. */
  sweepIntervalMs?: number;
}

interface Row {
  key: string;
  value: Buffer;
  version: number;
  expires_at: number | null;
}

type ListRow = Omit<Row, 'value'> & { size: number };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS entries (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (namespace, key)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS entries_by_expiry ON entries (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO counters (name, value) VALUES ('version', 0);
`;

const LIVE = '(expires_at IS NULL OR expires_at > @now)';

/** SQLite's native addon is loaded by the first store a host opens, not by every host that might. */
function openSqlite(): typeof Database {
  return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
}

export class KvStore extends EventEmitter<{ change: [KvChange] }> {
  private readonly db: Database.Database;
  private readonly sweeper: NodeJS.Timeout;
  private readonly statements: ReturnType<typeof prepare>;

  constructor(path: string, options: KvStoreOptions = {}) {
    super();
    // Every watcher listens here; the count is bounded by the subscription limit, not by this.
    this.setMaxListeners(0);
    this.db = new (openSqlite())(path);
    this.db.pragma('journal_mode = WAL');
    // Another host process may hold the write lock for a moment.
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.statements = prepare(this.db);
    this.sweeper = setInterval(() => {
      try {
        this.sweep();
      } catch {
        // Busy with another process, most likely: expired rows stay invisible, and the next sweep retries.
      }
    }, options.sweepIntervalMs ?? 1000).unref();
  }

  get(namespace: string, key: string): KvEntry | undefined {
    const row = this.statements.get.get({ ns: namespace, key, now: Date.now() });
    return row && { value: row.value, version: row.version, expiresAtMs: row.expires_at ?? undefined };
  }

  /** Writes the key and returns its new version. `ttlMs` 0: never expires. */
  put(namespace: string, key: string, value: Uint8Array, ttlMs: number): number {
    return this.write((changes) => {
      this.expireKey(namespace, key, changes);
      return this.store(namespace, key, value, ttlMs, changes);
    });
  }

  /** Removes the key; false when it did not exist (or had expired). */
  delete(namespace: string, key: string): boolean {
    return this.write((changes) => {
      if (this.expireKey(namespace, key, changes)) return false;
      const row = this.statements.remove.get({ ns: namespace, key });
      if (row) changes.push({ namespace, key, kind: 'delete', version: row.version });
      return row !== undefined;
    });
  }

  /** Writes the key only if its version is `expectedVersion` (0: absent); returns the version it has afterwards (0: absent). */
  compareAndSwap(namespace: string, key: string, expectedVersion: number, value: Uint8Array, ttlMs: number): { swapped: boolean; version: number } {
    return this.write((changes) => {
      this.expireKey(namespace, key, changes);
      const current = this.statements.get.get({ ns: namespace, key, now: Date.now() })?.version ?? 0;
      if (current !== expectedVersion) return { swapped: false, version: current };
      return { swapped: true, version: this.store(namespace, key, value, ttlMs, changes) };
    });
  }

  /** Up to `limit` keys starting with `prefix`, after the key `after` (which must start with it) if given, in byte order. */
  list(namespace: string, prefix: string, after: string | undefined, limit: number): { entries: KvListing[]; more: boolean } {
    const query = after === undefined ? this.statements.listFrom : this.statements.listAfter;
    const rows = query.all({ ns: namespace, bound: after ?? prefix, now: Date.now(), limit: limit + 1 });
    // Keys with the prefix sort together from the prefix itself: stop at the first without it.
    const end = rows.findIndex((r) => !r.key.startsWith(prefix));
    const matching = end === -1 ? rows : rows.slice(0, end);
    return {
      entries: matching.slice(0, limit).map((r) => ({ key: r.key, version: r.version, size: r.size, expiresAtMs: r.expires_at ?? undefined })),
      more: matching.length > limit,
    };
  }

  /** Deletes every expired row now and returns how many. */
  sweep(): number {
    const now = Date.now();
    // Checked first so an idle store never takes the write lock.
    if (!this.statements.anyExpired.get({ now })) return 0;
    return this.write((changes) => {
      const rows = this.statements.removeExpired.all({ now });
      for (const r of rows) changes.push({ namespace: r.namespace, key: r.key, kind: 'expire', version: r.version });
      return rows.length;
    });
  }

  close(): void {
    clearInterval(this.sweeper);
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in a write transaction and announces its changes once it has committed. */
  private write<R>(fn: (changes: KvChange[]) => R): R {
    const changes: KvChange[] = [];
    // IMMEDIATE takes the write lock up front, so a read-then-write cannot be overtaken by another process.
    const result = this.db.transaction(() => fn(changes)).immediate();
    for (const c of changes) this.emit('change', c);
    return result;
  }

  /** Removes the key if it has expired, recording that; true if it did. */
  private expireKey(namespace: string, key: string, changes: KvChange[]): boolean {
    const row = this.statements.removeIfExpired.get({ ns: namespace, key, now: Date.now() });
    if (row) changes.push({ namespace, key, kind: 'expire', version: row.version });
    return row !== undefined;
  }

  private store(namespace: string, key: string, value: Uint8Array, ttlMs: number, changes: KvChange[]): number {
    const version = (this.statements.nextVersion.get() as { value: number }).value;
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.statements.upsert.run({ ns: namespace, key, value: bytes, version, expiresAt: ttlMs > 0 ? Date.now() + ttlMs : null });
    changes.push({ namespace, key, kind: 'put', version, value });
    return version;
  }
}

function prepare(db: Database.Database) {
  return {
    get: db.prepare<{ ns: string; key: string; now: number }, Row>(
      `SELECT key, value, version, expires_at FROM entries WHERE namespace = @ns AND key = @key AND ${LIVE}`,
    ),
    // Two statements rather than one with an OR, so each range is an index seek.
    listFrom: db.prepare<{ ns: string; bound: string; now: number; limit: number }, ListRow>(
      `SELECT key, version, length(value) AS size, expires_at FROM entries
       WHERE namespace = @ns AND key >= @bound AND ${LIVE} ORDER BY key LIMIT @limit`,
    ),
    listAfter: db.prepare<{ ns: string; bound: string; now: number; limit: number }, ListRow>(
      `SELECT key, version, length(value) AS size, expires_at FROM entries
       WHERE namespace = @ns AND key > @bound AND ${LIVE} ORDER BY key LIMIT @limit`,
    ),
    nextVersion: db.prepare<[], { value: number }>(`UPDATE counters SET value = value + 1 WHERE name = 'version' RETURNING value`),
    upsert: db.prepare<{ ns: string; key: string; value: Buffer; version: number; expiresAt: number | null }>(
      `INSERT INTO entries (namespace, key, value, version, expires_at) VALUES (@ns, @key, @value, @version, @expiresAt)
       ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
    ),
    remove: db.prepare<{ ns: string; key: string }, { version: number }>(
      `DELETE FROM entries WHERE namespace = @ns AND key = @key RETURNING version`,
    ),
    removeIfExpired: db.prepare<{ ns: string; key: string; now: number }, { version: number }>(
      `DELETE FROM entries WHERE namespace = @ns AND key = @key AND expires_at <= @now RETURNING version`,
    ),
    anyExpired: db.prepare<{ now: number }, { found: number }>(`SELECT 1 AS found FROM entries WHERE expires_at <= @now LIMIT 1`),
    removeExpired: db.prepare<{ now: number }, { namespace: string; key: string; version: number }>(
      `DELETE FROM entries WHERE expires_at <= @now RETURNING namespace, key, version`,
    ),
  };
}
