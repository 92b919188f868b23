/**
 * A directory a plugin may touch, and nothing outside it. We walk one path
 * component at a time, each name opened relative to the directory before it
 * with O_NOFOLLOW (at-syscalls.ts: openat through hst's addon, or
 * /proc/self/fd/<dirfd>/<name> where it was not built), so the kernel never
 * follows a symlink for us. Symlinks we meet are read and resolved lexically
 * inside the root (as Go's os.Root does), so a link that stays inside works
 * and one that leads out, or is swapped in mid-walk, is refused. No library
 * does this: Node has no fd-relative opens.
 *
 * The walk is synchronous: metadata syscalls on a local disk take microseconds,
 * and a thread-pool round trip per component would cost more than the call.
 */
import { closeSync, constants as C, fstatSync, ftruncateSync, openSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { Code, RpcError } from '../rpc/status.js';
import { HeldFiles, type BorrowedFile, type HeldFilesOptions } from './held-files.js';
import { atSyscalls, fdPath, type AtSyscalls, type EntryStats } from './at-syscalls.js';

/** Linux O_PATH: a handle on a name without opening the file (absent from fs.constants). */
export const O_PATH = 0o10000000;
const MAX_SYMLINK_HOPS = 40;

/** A plugin path that is refused before it gets near the filesystem. */
export class PathError extends RpcError {
  constructor(path: string, why: string) {
    super(Code.INVALID_ARGUMENT, `invalid path ${JSON.stringify(path)}: ${why}`);
  }
}

/**
 * Splits a plugin path into clean segments. Refused: empty, NUL, absolute,
 * `..`, empty segments. `.` segments are dropped; "." alone is the root.
 */
export function normalizePath(path: string): readonly string[] {
  return normalized(path).segments;
}

/** The clean path: normalizePath's segments joined with '/', '' for the root. */
export function cleanPath(path: string): string {
  return normalized(path).clean;
}

/** Both forms of a plugin path, for a caller that needs both: normalizePath's segments and cleanPath's string. */
export interface Normalized {
  readonly segments: readonly string[];
  readonly clean: string;
}

/**
 * Paths normalised lately. A plugin names the same few paths again and
 * again, and one call normalises its path several times (the dispatcher's
 * resource, the caller's resolve, the handler's visible name, the root's
 * walk): splitting and joining each time was ~5 % of the host's time for a
 * 4 KiB ReadFile at 32 in flight. Shared by all plugins, as it holds only
 * what anyone can work out from a name; bounded in count and length, and
 * replaced when full (not cleared: a cleared Map's table keeps its successor
 * alive through young collections, see rpc/native/stream-table.ts).
 */
let recentPaths = new Map<string, Normalized>();
const RECENT_PATHS = 256;
const RECENT_PATH_LENGTH = 1024;

export function normalized(path: string): Normalized {
  const known = recentPaths.get(path);
  if (known) return known;
  const segments = split(path);
  const entry = Object.freeze({ segments: Object.freeze(segments), clean: segments.join('/') });
  if (path.length <= RECENT_PATH_LENGTH) {
    if (recentPaths.size >= RECENT_PATHS) recentPaths = new Map();
    recentPaths.set(path, entry);
  }
  return entry;
}

function split(path: string): string[] {
  if (typeof path !== 'string' || path === '') throw new PathError(String(path), 'empty');
  if (path.includes('\0')) throw new PathError(path, 'contains NUL');
  if (path.startsWith('/')) throw new PathError(path, 'absolute paths are not allowed; paths are relative to the workspace');
  if (path === '.') return [];
  const segments = path.split('/');
  // A single trailing slash ("dir/") is harmless; anything else empty is not.
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  const out: string[] = [];
  for (const s of segments) {
    if (s === '') throw new PathError(path, 'empty path segment');
    if (s === '..') throw new PathError(path, '".." is not allowed');
    if (s !== '.') out.push(s);
  }
  return out;
}

/** A refusal by the confinement itself: a symlink that leads out, or to a place the call may not go. */
export class ConfinementError extends Error {
  override readonly name = 'ConfinementError';
  readonly code = 'EACCES';
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  const e = new Error(message) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/** An open directory inside the root, and the clean path it was reached by. */
export interface DirRef {
  fd: number;
  /** Segments from the root to this directory, symlinks resolved. */
  segments: string[];
}

/** The parent directory of a path, open, and the final name in it. */
export interface ParentRef extends DirRef {
  name: string;
  close(): void;
}

export interface ConfinedRootOptions {
  /**
   * A regular file with more than one link may be the same file as one
   * outside the root (a hard link keeps no trace of where it came from), so
   * it is refused unless allowed here. Default false.
   */
  allowHardLinks?: boolean;
  /** How each step opens and stats a name: the addon's openat where built (the default), else /proc. */
  syscalls?: AtSyscalls;
  /** How files are held open between reads (openForReading). */
  heldFiles?: HeldFilesOptions;
}

export class ConfinedRoot {
  readonly hostPath: string;
  private readonly rootFd: number;
  /** Shared with the views of this root (forCall): closed for all at once. */
  private readonly state: { closed: boolean; held: HeldFiles };
  /** A view (forCall) leaves closing to the root it was made from. */
  private readonly isView: boolean;
  private readonly at: AtSyscalls;

  /**
   * `onFollow` sees the path a symlink leads to, before it is taken, and may
   * throw: the policy checks that path, so the path checked is the path opened.
   * `viewOf` is forCall's: the view shares that root's open directory.
   */
  constructor(
    hostPath: string,
    private readonly onFollow?: (segments: readonly string[]) => void,
    private readonly options: ConfinedRootOptions = {},
    viewOf?: ConfinedRoot,
  ) {
    this.at = options.syscalls ?? atSyscalls;
    if (viewOf) {
      this.hostPath = viewOf.hostPath;
      this.rootFd = viewOf.rootFd;
      this.state = viewOf.state;
      this.isView = true;
      return;
    }
    this.hostPath = realpathSync(hostPath);
    this.rootFd = openSync(this.hostPath, C.O_RDONLY | C.O_DIRECTORY);
    this.state = { closed: false, held: new HeldFiles(options.heldFiles) };
    this.isView = false;
  }

  /**
   * This root as one call sees it: the symlinks the call meets go to
   * `onFollow` (its own policy check) instead of the root's. The view shares
   * the root's open directory; closing is left to the root itself.
   */
  forCall(onFollow: (segments: readonly string[]) => void): ConfinedRoot {
    return new ConfinedRoot(this.hostPath, onFollow, this.options, this);
  }

  close(): void {
    if (this.isView || this.state.closed) return;
    this.state.closed = true;
    this.state.held.close();
    closeSync(this.rootFd);
  }

  /** Opens the directory at `segments`, following in-root symlinks. Caller closes `fd`. */
  openDir(path: string | readonly string[]): DirRef {
    const segments = typeof path === 'string' ? normalizePath(path) : path;
    return this.walk(segments, 0);
  }

  /** Opens the parent of `path` and names the last segment; `path` must not be the root. */
  parent(path: string, hops = 0): ParentRef {
    const segments = normalizePath(path);
    if (segments.length === 0) throw new PathError(path, 'the workspace root itself cannot be used here');
    return this.parentOf(segments, hops);
  }

  private parentOf(segments: readonly string[], hops: number): ParentRef {
    const name = segments[segments.length - 1] as string;
    // A name in the root itself: the root's own fd serves, without opening it again (most calls are here).
    if (segments.length === 1) {
      this.assertOpen();
      return { fd: this.rootFd, segments: [], name, close: () => {} };
    }
    const dir = this.walk(segments.slice(0, -1), hops);
    return { ...dir, name, close: () => closeSync(dir.fd) };
  }

  /**
   * Walks from the root to the directory at `segments`. Each step opens one
   * name under the previous directory with O_NOFOLLOW; a symlink is read and
   * its target spliced into the path, which must stay inside the root.
   */
  private walk(segments: readonly string[], hops: number): DirRef {
    this.assertOpen();
    let fd = this.at.openAt(this.rootFd, '.', C.O_RDONLY | C.O_DIRECTORY);
    const done: string[] = [];
    try {
      for (let i = 0; i < segments.length; i++) {
        const name = segments[i] as string;
        let next: number;
        try {
          next = this.at.openAt(fd, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
          const target = this.linkTarget(fd, name);
          if (target === undefined) throw err;
          if (++hops > MAX_SYMLINK_HOPS) throw errno('ELOOP', 'too many levels of symbolic links');
          const rest = [...this.splice(done, target), ...segments.slice(i + 1)];
          this.onFollow?.(rest);
          closeSync(fd);
          fd = -1;
          return this.walk(rest, hops);
        }
        closeSync(fd);
        fd = next;
        done.push(name);
      }
      return { fd, segments: done };
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      throw err;
    }
  }

  /** The target of `name` under `dirFd` if it is a symlink, else undefined. */
  private linkTarget(dirFd: number, name: string): string | undefined {
    try {
      return readlinkSync(fdPath(dirFd, name));
    } catch {
      return undefined;
    }
  }

  /** Resolves a link target against the directory holding the link; refuses escapes. */
  private splice(dirSegments: readonly string[], target: string): string[] {
    if (target.startsWith('/')) throw new ConfinementError('a symbolic link on the way points outside the workspace');
    const out = [...dirSegments];
    for (const s of target.split('/')) {
      if (s === '' || s === '.') continue;
      if (s === '..') {
        if (out.length === 0) throw new ConfinementError('a symbolic link on the way points outside the workspace');
        out.pop();
      } else out.push(s);
    }
    return out;
  }

  /**
   * Opens a file or directory by path. With `follow`, a final symlink is
   * resolved inside the root; otherwise it is an error (ELOOP). FIFOs and
   * devices are refused so a plugin cannot make the host block or touch hardware.
   */
  open(path: string, flags: number, mode = 0o666, follow = true): { fd: number; segments: string[]; stats: Stats } {
    let segments = normalizePath(path);
    for (let hops = 0; ; hops++) {
      if (segments.length === 0) {
        const dir = this.walk([], 0);
        return { fd: dir.fd, segments: [], stats: fstatSync(dir.fd) };
      }
      const parent = this.parentOf(segments, hops);
      try {
        // Truncation waits for the checks below: a file refused here must come out unchanged.
        const fd = this.at.openAt(parent.fd, parent.name, (flags & ~C.O_TRUNC) | C.O_NOFOLLOW | C.O_NONBLOCK, mode);
        const st = fstatSync(fd);
        try {
          this.assertUsable(st);
        } catch (err) {
          closeSync(fd);
          throw err;
        }
        if (flags & C.O_TRUNC) {
          ftruncateSync(fd, 0);
          st.size = 0;
        }
        return { fd, segments: [...parent.segments, parent.name], stats: st };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const target = follow && code === 'ELOOP' ? this.linkTarget(parent.fd, parent.name) : undefined;
        if (target === undefined) throw err;
        if (hops >= MAX_SYMLINK_HOPS) throw errno('ELOOP', 'too many levels of symbolic links');
        segments = this.splice(parent.segments, target);
        this.onFollow?.(segments);
      } finally {
        parent.close();
      }
    }
  }

  /**
   * Opens a file or directory for reading, as open(path, O_RDONLY) does, or
   * lends a file held open since an earlier call if an lstat shows its name
   * still leads to it unchanged (HeldFiles). The user releases it, never
   * closes it, and reads it only with positions (others may share it).
   */
  openForReading(path: string): BorrowedFile {
    const held = this.state.held;
    const { segments, clean: key } = normalized(path);
    if (held.has(key)) {
      const checked = held.borrowChecked(key);
      if (checked) return checked;
      let now: EntryStats | undefined;
      let direct = false;
      try {
        const parent = this.parentOf(segments, 0);
        try {
          now = this.at.lstatAt(parent.fd, parent.name);
          // Resolved as asked, so no symlink was taken (one that led back to the same path would loop).
          direct = parent.segments.length === segments.length - 1 && parent.segments.every((s, i) => s === segments[i]);
        } finally {
          parent.close();
        }
      } catch {
        // Gone or out of reach now: the open below meets the same and says so as open() does.
      }
      const borrowed = held.borrow(key, now, direct);
      if (borrowed) return borrowed;
    }
    const opened = this.open(path, C.O_RDONLY);
    // Only a file reached by its own name is held: the lstat above checks that name, not a symlink's target.
    return held.keep(opened.segments.join('/') === key ? key : undefined, opened.fd, opened.stats);
  }

  /**
   * Lets go of files held at `path` or under it, once hst itself removed or
   * replaced them: their space is freed now, not at the idle close.
   */
  forget(path: string): void {
    this.state.held.forget(cleanPath(path));
  }

  /** What open() refuses once it holds the file: FIFOs, devices, sockets, and unallowed hard links. */
  private assertUsable(st: EntryStats): void {
    if (!st.isFile() && !st.isDirectory()) {
      // O_PATH opens a symlink itself instead of failing with ELOOP.
      throw errno(st.isSymbolicLink() ? 'ELOOP' : 'EACCES', 'not a regular file or directory');
    }
    if (st.isFile() && st.nlink > 1 && !this.options.allowHardLinks) {
      throw new ConfinementError(`it is one of ${st.nlink} hard links to one file, which may lie outside the workspace; the operator can allow hard links`);
    }
  }

  /** stat (follow = true) or lstat of a path inside the root. */
  stat(path: string, follow: boolean): EntryStats {
    const segments = normalizePath(path);
    if (segments.length === 0) return this.statOpened('.');
    const parent = this.parentOf(segments, 0);
    let st: EntryStats;
    try {
      st = this.at.lstatAt(parent.fd, parent.name);
    } finally {
      parent.close();
    }
    if (!follow) return st;
    // Most names are not symlinks: the lstat is then the answer, with open()'s refusals applied to it,
    // in one syscall instead of open, fstat and close. A symlink takes open()'s way through the root.
    if (st.isSymbolicLink()) return this.statOpened(path);
    this.assertUsable(st);
    return st;
  }

  /** The stats open() took of `path`, symlinks followed inside the root; the handle is closed again. */
  private statOpened(path: string): Stats {
    const { fd, stats } = this.open(path, O_PATH);
    closeSync(fd);
    return stats;
  }

  /** Runs `fn` with a host-usable path for the final name under its confined parent. */
  withParent<T>(path: string, fn: (namePath: string, parent: ParentRef) => T): T {
    const parent = this.parent(path);
    try {
      return fn(fdPath(parent.fd, parent.name), parent);
    } finally {
      parent.close();
    }
  }

  /** Runs `fn` with a host-usable path to an opened directory (for readdir and friends). */
  withDir<T>(path: string, fn: (dirPath: string, dir: DirRef) => T): T {
    const dir = this.openDir(path);
    try {
      return fn(fdPath(dir.fd), dir);
    } finally {
      closeSync(dir.fd);
    }
  }

  private assertOpen(): void {
    if (this.state.closed) throw new RpcError(Code.FAILED_PRECONDITION, 'the workspace is closed');
  }
}

/** `/proc/self/fd/<fd>`: how the rest of the host reaches an fd opened by the walk. */
export function pathOfFd(fd: number): string {
  return fdPath(fd);
}
