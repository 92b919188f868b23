/**
 * Files a workspace root keeps open for reading between calls. A file read
 * again costs one lstat of its name instead of open, fstat and close: for a
 * plugin reading a small file over and over, those three system calls were
 * most of the host's time (docs/benchmarks.md).
 *
 * Only the descriptor is kept, never content: a held file reads what the file
 * holds now. It is used only while its name still leads to it, unchanged: the
 * lstat must show the same inode with the same ctime, mode and owner, so a
 * rename, replacement, chmod, chown or write to the file means a fresh open
 * (and that open's checks). A file whose ctime is under RECENT_MS old is not
 * held: a change in the same clock tick would leave its ctime as it was.
 *
 * Calls that read the same path and arrived together (in one read of the
 * plugin's connection, so before the check) share one lstat: each sees the
 * file as it was at a moment during its call. The check counts until the
 * current turn's microtasks have run; nothing received later uses it.
 *
 * A held file not used for a while (2 s) is closed, so the space of a file
 * deleted meanwhile is not kept long; a root holds a bounded number (16).
 *
 * Node has no such cache (its fs calls open and close each time), and the
 * check that a name still leads to the file is hst's confinement, so it is
 * written here.
 */
import { closeSync } from 'node:fs';
import type { EntryStats } from './at-syscalls.js';

/** A file opened for reading, held or not: released, never closed, by its user. */
export interface BorrowedFile {
  readonly fd: number;
  readonly stats: EntryStats;
  release(): void;
}

interface Held {
  readonly fd: number;
  readonly stats: EntryStats;
  /** The lstat that found it unchanged this turn, for the calls that arrived with the one that took it. */
  checked: EntryStats | undefined;
  readonly uncheck: () => void;
  users: number;
  usedAt: number;
  /** When it was last lent, counted in lends: the least recently used goes first (makeRoom). */
  lentAs: number;
  /** No longer held: closed when its last user releases it. */
  dropped: boolean;
}

const RECENT_MS = 1_000;

export interface HeldFilesOptions {
  /** At most this many files held at once. Default 16. */
  limit?: number;
  /** A file unused this long is closed. Default 2 s. */
  idleMs?: number;
  /** The wall clock file times are compared with (tests move it). */
  now?: () => number;
}

export class HeldFiles {
  /**
   * By path inside the root. Use does not reorder it: a Map deleted from and
   * added to on every read makes V8 rebuild its table every few reads, and
   * each table it replaced would keep the next one alive into the old
   * generation (see rpc/native/stream-table.ts).
   */
  private readonly files = new Map<string, Held>();
  private lends = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly limit: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(options: HeldFilesOptions = {}) {
    this.limit = options.limit ?? 16;
    this.idleMs = options.idleMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.files.size;
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** The file held for `path` if a call that arrived with this one found it unchanged (see borrow's `shared`). */
  borrowChecked(path: string): BorrowedFile | undefined {
    const held = this.files.get(path);
    return held?.checked ? this.lend(held, held.checked) : undefined;
  }

  /**
   * The file held for `path`, if `now` (an lstat of the path just taken; none
   * if it failed) shows it still there and unchanged. `shared`: the path was
   * reached without a symlink, so the check holds for the other calls of this
   * turn (borrowChecked).
   */
  borrow(path: string, now: EntryStats | undefined, shared: boolean): BorrowedFile | undefined {
    const held = this.files.get(path);
    if (!held) return undefined;
    if (!now || !unchanged(held.stats, now)) {
      this.files.delete(path);
      this.drop(held);
      return undefined;
    }
    if (shared && !held.checked) {
      held.checked = now;
      queueMicrotask(held.uncheck);
    }
    return this.lend(held, now);
  }

  /** `fd`, just opened at `path` with `stats`, to its user: held for later calls where it may be. */
  keep(path: string | undefined, fd: number, stats: EntryStats): BorrowedFile {
    const holdable = path !== undefined && stats.isFile() && stats.ctimeMs < this.now() - RECENT_MS && !this.files.has(path);
    if (!holdable || !this.makeRoom()) return { fd, stats, release: once(() => closeSync(fd)) };
    const held: Held = { fd, stats, checked: undefined, uncheck: () => (held.checked = undefined), users: 0, usedAt: 0, lentAs: 0, dropped: false };
    this.files.set(path, held);
    this.sweeper ??= setInterval(() => this.closeIdle(), this.idleMs).unref();
    return this.lend(held, stats);
  }

  /** Lets go of the file held for `path` and of those under it (a directory removed or renamed). */
  forget(path: string): void {
    for (const [key, held] of this.files) {
      if (key !== path && !key.startsWith(`${path}/`)) continue;
      this.files.delete(key);
      this.drop(held);
    }
  }

  /** Closes every file not in use, and the rest as their users release them. */
  close(): void {
    for (const held of this.files.values()) this.drop(held);
    this.files.clear();
    this.stopSweeping();
  }

  private lend(held: Held, stats: EntryStats): BorrowedFile {
    held.users++;
    held.usedAt = this.now();
    held.lentAs = ++this.lends;
    return {
      fd: held.fd,
      stats,
      release: once(() => {
        if (--held.users === 0 && held.dropped) closeSync(held.fd);
      }),
    };
  }

  /** Lets go of the least recently used file not in use when all places are taken; false when every one is in use. */
  private makeRoom(): boolean {
    if (this.files.size < this.limit) return true;
    let oldest: Held | undefined;
    let oldestPath = '';
    for (const [path, held] of this.files) {
      if (held.users > 0 || (oldest && oldest.lentAs <= held.lentAs)) continue;
      oldest = held;
      oldestPath = path;
    }
    if (!oldest) return false;
    this.files.delete(oldestPath);
    this.drop(oldest);
    return true;
  }

  /** Closes the files not used for idleMs (every idleMs while any is held). */
  closeIdle(): void {
    const idleSince = this.now() - this.idleMs;
    for (const [path, held] of this.files) {
      if (held.users > 0 || held.usedAt > idleSince) continue;
      this.files.delete(path);
      this.drop(held);
    }
    if (this.files.size === 0) this.stopSweeping();
  }

  private stopSweeping(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** The caller has taken `held` out of the map. */
  private drop(held: Held): void {
    held.dropped = true;
    if (held.users === 0) closeSync(held.fd);
  }
}

function unchanged(then: EntryStats, now: EntryStats): boolean {
  return (
    now.ino === then.ino &&
    now.dev === then.dev &&
    now.ctimeMs === then.ctimeMs &&
    now.mode === then.mode &&
    now.uid === then.uid &&
    now.gid === then.gid
  );
}

/** A second release must not close a number the process may have reused for another file. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
