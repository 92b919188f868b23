/**
 * Filesystem: whole-file and metadata operations on the plugin's workspace
 * and temp directory. Every path goes through caller.resolve and the
 * ConfinedRoot it names; recursive operations descend from an open directory
 * fd one name at a time with O_NOFOLLOW, so a symlink (or a directory swapped
 * for one mid-walk) is never entered.
 */
import {
  chmodSync,
  closeSync,
  constants as C,
  fstatSync,
  fsync,
  ftruncate,
  mkdirSync,
  opendirSync,
  read,
  readlinkSync,
  readSync,
  renameSync,
  rmdirSync,
  statfsSync,
  unlinkSync,
  write,
  type Stats,
} from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FSWatcher } from 'chokidar';
import picomatch from 'picomatch';
import {
  FileType,
  FilesystemDefinition,
  WatchEventKind,
  WriteMode,
  type FileInfo,
  type WatchResponse,
} from '../gen/hst/host/v1/filesystem.js';
import type { CallContext, DeepPartial } from '../rpc/definition.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import { handOver } from '../rpc/codec.js';
import { Code, RpcError } from '../rpc/status.js';
import { atSyscalls, type EntryStats } from '../security/at-syscalls.js';
import { cleanPath, O_PATH, pathOfFd, type ConfinedRoot } from '../security/confine.js';
import type { BorrowedFile } from '../security/held-files.js';
import type { Caller } from './caller.js';
import { hostService } from './operation.js';
import { allocFromSlab } from '../util/slab.js';

/** Directory levels a recursive operation descends; each level holds one fd while below it. */
const MAX_TREE_DEPTH = 256;
/** Entries handled synchronously before a recursive operation lets other calls run. */
const ENTRIES_PER_TURN = 256;
const COPY_BUFFER_BYTES = 1024 * 1024;
export const DEFAULT_FILE_PERM = 0o644;
const DEFAULT_DIR_PERM = 0o755;

/** `Service/Method op path: reason` with a code: the shape dispatch gives errno errors. */
export function failure(code: Code, operation: string, path: string, reason: string): RpcError {
  return new RpcError(code, `${operation} ${path}: ${reason}`);
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** A plugin path in the form responses use: normalized, `$tmp` kept. */
export function visiblePath(path: string): string {
  return cleanPath(path) || '.';
}

function joinVisible(dir: string, name: string): string {
  return dir === '.' ? name : `${dir}/${name}`;
}

export interface Resolved {
  root: ConfinedRoot;
  /** Root-relative path. */
  path: string;
  /** What the plugin would call it. */
  visible: string;
}

/** caller.resolve for the call `ctx`, with path errors naming the operation. */
export function resolveIn(caller: Caller, operation: string, path: string, ctx: CallContext): Resolved {
  try {
    const { root, path: inRoot } = caller.resolve(path, ctx);
    return { root, path: inRoot, visible: visiblePath(path) };
  } catch (err) {
    if (err instanceof RpcError) throw new RpcError(err.code, `${operation}: ${err.details}`);
    throw err;
  }
}

export function fileInfo(st: EntryStats, visible: string): DeepPartial<FileInfo> {
  return {
    name: visible.split('/').pop() ?? visible,
    path: visible,
    type: st.isFile()
      ? FileType.FILE_TYPE_FILE
      : st.isDirectory()
        ? FileType.FILE_TYPE_DIRECTORY
        : st.isSymbolicLink()
          ? FileType.FILE_TYPE_SYMLINK
          : FileType.FILE_TYPE_OTHER,
    size: st.size,
    mode: st.mode & 0o7777,
    mtimeMs: Math.floor(st.mtimeMs),
  };
}

/** Permission bits for something new; 0 takes the default. No setuid, setgid or sticky bits. */
export function permOf(operation: string, path: string, perm: number, fallback: number): number {
  if (perm === 0) return fallback;
  if (perm < 0 || perm > 0o777) throw failure(Code.INVALID_ARGUMENT, operation, path, `permission bits must be within 0777, got 0${perm.toString(8)}`);
  return perm;
}

export function nonNegative(operation: string, path: string, name: string, value: number): number {
  if (value < 0) throw failure(Code.INVALID_ARGUMENT, operation, path, `${name} must not be negative`);
  return value;
}

/**
 * ReadFileStream's chunks read while an earlier one is being sent, one per
 * thread of libuv's default pool (quick runs, 32 MiB: 4 ahead against 1,
 * ts->ts/grpc ~260 -> ~285 MiB/s, ts->go ~250 -> ~270, ts->ts within its noise).
 */
const READ_AHEAD = 4;
/** Files under this size are read synchronously by ReadFile (see there). */
const SYNC_READ_BYTES = 64 * 1024;

/** Reads into `buffer` from `position` until it is full or the file ends; returns the bytes read. */
export async function readInto(fd: number, buffer: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < buffer.length) {
    const n = await new Promise<number>((resolve, reject) =>
      read(fd, buffer, done, buffer.length - done, position + done, (err, bytes) => (err ? reject(err) : resolve(bytes))),
    );
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of `data` at `position`, or at the fd's offset when null (append). */
export async function writeFully(fd: number, data: Uint8Array, position: number | null): Promise<number> {
  let done = 0;
  while (done < data.length) {
    done += await new Promise<number>((resolve, reject) =>
      write(fd, data, done, data.length - done, position === null ? null : position + done, (err, bytes) => (err ? reject(err) : resolve(bytes))),
    );
  }
  return done;
}

export function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function truncateFd(fd: number, size: number): Promise<void> {
  return new Promise((resolve, reject) => ftruncate(fd, size, (err) => (err ? reject(err) : resolve())));
}

function writeFlags(operation: string, path: string, mode: WriteMode): number {
  switch (mode) {
    case WriteMode.WRITE_MODE_CREATE_OR_TRUNCATE:
      return C.O_WRONLY | C.O_CREAT | C.O_TRUNC;
    case WriteMode.WRITE_MODE_EXCLUSIVE:
      return C.O_WRONLY | C.O_CREAT | C.O_EXCL;
    case WriteMode.WRITE_MODE_TRUNCATE_EXISTING:
      return C.O_WRONLY | C.O_TRUNC;
    default:
      throw failure(Code.INVALID_ARGUMENT, operation, path, `unknown write mode ${mode}`);
  }
}

/** Opens a subdirectory of an open directory without following a symlink; undefined if it is not (or no longer) a directory. */
function openChildDir(dirFd: number, name: string): number | undefined {
  try {
    return atSyscalls.openAt(dirFd, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Names in an open directory, sorted; with `cap`, more than `cap.limit` fails with `cap.error()`. */
function listNames(dirFd: number, cap?: { limit: number; error: () => Error }): string[] {
  const dir = opendirSync(pathOfFd(dirFd));
  const names: string[] = [];
  try {
    for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
      if (cap && names.length >= cap.limit) throw cap.error();
      names.push(entry.name);
    }
  } finally {
    dir.closeSync();
  }
  return names.sort();
}

/** lstat of a name in an open directory; undefined if it went away meanwhile. */
function lstatIn(dirFd: number, name: string): EntryStats | undefined {
  try {
    return atSyscalls.lstatAt(dirFd, name);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

interface TreeEntry {
  name: string;
  /** Plugin-visible path. */
  path: string;
  stats: EntryStats;
  /** 1 for entries of the starting directory. */
  depth: number;
}

interface TreeOptions {
  /** 0: no limit. */
  maxDepth: number;
  signal: AbortSignal;
  /** Whether to descend into a directory entry. */
  descend?: (entry: TreeEntry) => boolean;
  tooDeep: () => Error;
}

/** Lets other calls run every ENTRIES_PER_TURN entries of one whole recursive operation. */
class Pacer {
  private handled = 0;
  async step(): Promise<void> {
    if (++this.handled % ENTRIES_PER_TURN === 0) await nextTurn();
  }
}

/** Depth-first, name-ordered entries below an open directory; symlinks are yielded, never entered. */
async function* walkTree(dirFd: number, visible: string, options: TreeOptions, depth = 1, pacer = new Pacer()): AsyncGenerator<TreeEntry> {
  if (depth > MAX_TREE_DEPTH) throw options.tooDeep();
  for (const name of listNames(dirFd)) {
    if (options.signal.aborted) return;
    await pacer.step();
    const stats = lstatIn(dirFd, name);
    if (!stats) continue;
    const entry = { name, path: joinVisible(visible, name), stats, depth };
    yield entry;
    if (!stats.isDirectory() || (options.maxDepth !== 0 && depth >= options.maxDepth)) continue;
    if (options.descend && !options.descend(entry)) continue;
    const child = openChildDir(dirFd, name);
    if (child === undefined) continue;
    try {
      yield* walkTree(child, entry.path, options, depth + 1, pacer);
    } finally {
      closeSync(child);
    }
  }
}

/** Removes `name` in an open directory and, for a directory, all below it; returns how many entries went. */
async function removeEntry(dirFd: number, name: string, tooDeep: () => Error, depth = 0, pacer = new Pacer()): Promise<number> {
  await pacer.step();
  const path = `${pathOfFd(dirFd)}/${name}`;
  try {
    unlinkSync(path);
    return 1;
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return 0;
    if (code !== 'EISDIR') throw err;
  }
  if (depth >= MAX_TREE_DEPTH) throw tooDeep();
  const child = openChildDir(dirFd, name);
  // Gone or replaced by a non-directory since unlink: try again as whatever it is now.
  if (child === undefined) return removeEntry(dirFd, name, tooDeep, depth + 1, pacer);
  let removed = 0;
  try {
    for (const entry of listNames(child)) removed += await removeEntry(child, entry, tooDeep, depth + 1, pacer);
  } finally {
    closeSync(child);
  }
  rmdirSync(path);
  return removed + 1;
}

/** Whether a glob can match anything inside a directory whose name starts with a dot. */
function namesDotSegments(glob: string): boolean {
  return /(^|[/{,(|])\./.test(glob);
}

export const filesystemService = hostService({
  definition: FilesystemDefinition,
  // Resources are normalized plugin paths, so "./secret/x" and "secret/x" are
  // one resource to a policy; an invalid path throws, which dispatch records
  // as `<invalid>`, and the handler then refuses it.
  operations: {
    readDir: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    readFile: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    writeFile: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    appendFile: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    stat: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    lstat: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    exists: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    mkdir: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    remove: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    removeAll: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    rename: { capability: 'fs.write', resource: (r) => [visiblePath(r.from), visiblePath(r.to)] },
    // Copy reads one path and writes the other; both are checked as writes, the stricter reading.
    copy: { capability: 'fs.write', resource: (r) => [visiblePath(r.from), visiblePath(r.to)] },
    chmod: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    truncate: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    readlink: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    glob: { capability: 'fs.read', resource: (r) => r.pattern.replace(/^(\.\/)+/, '') },
    walk: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    readFileStream: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    writeFileStream: { capability: 'fs.write', resource: (r) => visiblePath(r.path) },
    watch: { capability: 'fs.read', resource: (r) => visiblePath(r.path) },
    diskUsage: { capability: 'fs.read', resource: (r) => visiblePath(r.path || '.') },
  },
  create(caller) {
    const limits = caller.limits;
    const watchers = new Set<FSWatcher>();
    caller.onDisconnect(async () => {
      await Promise.all([...watchers].map((w) => w.close()));
      watchers.clear();
    });

    const tooMany = (operation: string, path: string) => () =>
      failure(Code.RESOURCE_EXHAUSTED, operation, path, `more than ${limits.maxEntries} entries, the host's limit for one listing`);
    const tooDeep = (operation: string, path: string) => () =>
      failure(Code.RESOURCE_EXHAUSTED, operation, path, `more than ${MAX_TREE_DEPTH} directory levels`);
    const checkWriteSize = (operation: string, path: string, bytes: number, instead: string) => {
      if (bytes > limits.maxWriteBytes) {
        throw failure(Code.OUT_OF_RANGE, operation, path, `${bytes} bytes is more than the host's limit of ${limits.maxWriteBytes} for one write; ${instead}`);
      }
    };
    /** Ends when the call is cancelled or the plugin goes. */
    const callSignal = (signal: AbortSignal) => AbortSignal.any([signal, caller.signal]);

    /** Opens a regular file for reading (maybe one held open, see HeldFiles); directories are refused. */
    const openFile = (operation: string, target: Resolved, path: string): BorrowedFile => {
      const opened = target.root.openForReading(target.path);
      if (opened.stats.isDirectory()) {
        opened.release();
        throw failure(Code.FAILED_PRECONDITION, operation, path, 'is a directory');
      }
      return opened;
    };

    return {
      readDir({ path }, ctx) {
        const operation = 'Filesystem/ReadDir';
        const dir = resolveIn(caller, operation, path, ctx);
        const entries = dir.root.withDir(dir.path, (_dirPath, ref) =>
          listNames(ref.fd, { limit: limits.maxEntries, error: tooMany(operation, path) }).flatMap((name) => {
            const st = lstatIn(ref.fd, name);
            return st ? [fileInfo(st, joinVisible(dir.visible, name))] : [];
          }),
        );
        return { entries };
      },

      async readFile({ path }, ctx) {
        const operation = 'Filesystem/ReadFile';
        const file = openFile(operation, resolveIn(caller, operation, path, ctx), path);
        const { fd, stats } = file;
        const size = stats.size;
        const tooBig = (size: string) =>
          failure(Code.OUT_OF_RANGE, operation, path, `${size} is more than the host's limit of ${limits.maxReadBytes} bytes for one read; use ReadFileStream`);
        try {
          if (size > limits.maxReadBytes) throw tooBig(`${size} bytes`);
          // One byte more than expected tells a file that grew since fstat.
          let buffer = allocFromSlab(size + 1);
          // A small file (always a regular one here) is read at once, as it was opened and stat'ed: a trip
          // through the thread pool costs more than such a read. A short read of a regular file is its end.
          let length = size < SYNC_READ_BYTES ? readSync(fd, buffer, 0, buffer.length, 0) : await readInto(fd, buffer, 0);
          while (length === buffer.length) {
            if (length > limits.maxReadBytes) throw tooBig('the file, which grew while being read,');
            const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, limits.maxReadBytes + 1));
            buffer.copy(grown);
            buffer = grown;
            length += await readInto(fd, buffer.subarray(length), length);
          }
          // Read into memory of this call's own (large) or cut from the slab: not written again either way.
          handOver(buffer);
          return { data: buffer.subarray(0, length) };
        } finally {
          file.release();
        }
      },

      async writeFile({ path, data, mode, perm }, ctx) {
        const operation = 'Filesystem/WriteFile';
        checkWriteSize(operation, path, data.length, 'use WriteFileStream');
        const target = resolveIn(caller, operation, path, ctx);
        const flags = writeFlags(operation, path, mode);
        const { fd } = target.root.open(target.path, flags, permOf(operation, path, perm, DEFAULT_FILE_PERM));
        try {
          return { bytesWritten: await writeFully(fd, data, 0) };
        } finally {
          closeSync(fd);
        }
      },

      async appendFile({ path, data, perm }, ctx) {
        const operation = 'Filesystem/AppendFile';
        checkWriteSize(operation, path, data.length, 'append in smaller pieces');
        const target = resolveIn(caller, operation, path, ctx);
        const mode = permOf(operation, path, perm, DEFAULT_FILE_PERM);
        const { fd } = target.root.open(target.path, C.O_WRONLY | C.O_APPEND | C.O_CREAT, mode);
        try {
          return { bytesWritten: await writeFully(fd, data, null) };
        } finally {
          closeSync(fd);
        }
      },

      stat({ path }, ctx) {
        const target = resolveIn(caller, 'Filesystem/Stat', path, ctx);
        return { info: fileInfo(target.root.stat(target.path, true), target.visible) };
      },

      lstat({ path }, ctx) {
        const target = resolveIn(caller, 'Filesystem/Lstat', path, ctx);
        return { info: fileInfo(target.root.stat(target.path, false), target.visible) };
      },

      exists({ path }, ctx) {
        const target = resolveIn(caller, 'Filesystem/Exists', path, ctx);
        try {
          target.root.stat(target.path, true);
          return { exists: true };
        } catch (err) {
          const code = errnoOf(err);
          if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
          throw err;
        }
      },

      mkdir({ path, recursive, perm }, ctx) {
        const operation = 'Filesystem/Mkdir';
        const target = resolveIn(caller, operation, path, ctx);
        const mode = permOf(operation, path, perm, DEFAULT_DIR_PERM);
        if (!recursive) {
          if (target.path === '.') throw failure(Code.ALREADY_EXISTS, operation, path, 'already exists');
          target.root.withParent(target.path, (namePath) => mkdirSync(namePath, mode));
          return {};
        }
        const segments = target.path === '.' ? [] : target.path.split('/');
        // One level at a time, each through the confined walk, so no level is created through a link out.
        for (let i = 1; i <= segments.length; i++) {
          const level = segments.slice(0, i).join('/');
          try {
            target.root.withParent(level, (namePath) => mkdirSync(namePath, mode));
          } catch (err) {
            if (errnoOf(err) !== 'EEXIST') throw err;
            if (!target.root.stat(level, true).isDirectory()) {
              throw failure(Code.FAILED_PRECONDITION, operation, path, `${level} exists and is not a directory`);
            }
          }
        }
        return {};
      },

      remove({ path }, ctx) {
        const operation = 'Filesystem/Remove';
        const target = resolveIn(caller, operation, path, ctx);
        if (target.path === '.') throw failure(Code.INVALID_ARGUMENT, operation, path, 'the root directory cannot be removed');
        target.root.withParent(target.path, (namePath) => {
          try {
            unlinkSync(namePath);
          } catch (err) {
            if (errnoOf(err) !== 'EISDIR') throw err;
            rmdirSync(namePath);
          }
        });
        target.root.forget(target.path);
        return {};
      },

      async removeAll({ path }, ctx) {
        const operation = 'Filesystem/RemoveAll';
        const target = resolveIn(caller, operation, path, ctx);
        if (target.path === '.') throw failure(Code.INVALID_ARGUMENT, operation, path, 'the root directory cannot be removed');
        let parent;
        try {
          parent = target.root.parent(target.path);
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') return { removed: 0 };
          throw err;
        }
        try {
          return { removed: await removeEntry(parent.fd, parent.name, tooDeep(operation, path)) };
        } finally {
          parent.close();
          target.root.forget(target.path);
        }
      },

      rename({ from, to }, ctx) {
        const operation = 'Filesystem/Rename';
        const source = resolveIn(caller, operation, from, ctx);
        const dest = resolveIn(caller, operation, to, ctx);
        for (const [t, p] of [[source, from], [dest, to]] as const) {
          if (t.path === '.') throw failure(Code.INVALID_ARGUMENT, operation, p, 'the root directory cannot be renamed or replaced');
        }
        source.root.withParent(source.path, (fromPath) => dest.root.withParent(dest.path, (toPath) => renameSync(fromPath, toPath)));
        source.root.forget(source.path);
        dest.root.forget(dest.path);
        return {};
      },

      async copy({ from, to, overwrite }, ctx) {
        const operation = 'Filesystem/Copy';
        const source = resolveIn(caller, operation, from, ctx);
        const dest = resolveIn(caller, operation, to, ctx);
        const file = openFile(operation, source, from);
        const { fd: input, stats: st } = file;
        try {
          // No O_TRUNC yet: the destination may turn out to be the source itself.
          const flags = C.O_WRONLY | C.O_CREAT | (overwrite ? 0 : C.O_EXCL);
          const { fd: output } = dest.root.open(dest.path, flags, st.mode & 0o777);
          try {
            const out = fstatSync(output);
            if (out.dev === st.dev && out.ino === st.ino) {
              throw failure(Code.INVALID_ARGUMENT, operation, `${from} -> ${to}`, 'source and destination are the same file');
            }
            await truncateFd(output, 0);
            const buffer = Buffer.allocUnsafe(COPY_BUFFER_BYTES);
            let copied = 0;
            for (;;) {
              const n = await readInto(input, buffer, copied);
              if (n === 0) break;
              copied += await writeFully(output, buffer.subarray(0, n), copied);
              if (n < buffer.length) break;
            }
            return { bytesCopied: copied };
          } finally {
            closeSync(output);
          }
        } finally {
          file.release();
        }
      },

      chmod({ path, mode }, ctx) {
        const operation = 'Filesystem/Chmod';
        const target = resolveIn(caller, operation, path, ctx);
        if (mode < 0 || mode > 0o777) throw failure(Code.INVALID_ARGUMENT, operation, path, `mode must be within 0777, got 0${mode.toString(8)}`);
        // An O_PATH fd needs no read or write access to the file, and chmod
        // through its /proc magic link acts on that very inode (fchmod refuses O_PATH fds).
        const { fd } = target.root.open(target.path, O_PATH);
        try {
          chmodSync(pathOfFd(fd), mode);
        } finally {
          closeSync(fd);
        }
        return {};
      },

      async truncate({ path, size }, ctx) {
        const operation = 'Filesystem/Truncate';
        nonNegative(operation, path, 'size', size);
        const target = resolveIn(caller, operation, path, ctx);
        const { fd } = target.root.open(target.path, C.O_WRONLY);
        try {
          await truncateFd(fd, size);
        } finally {
          closeSync(fd);
        }
        return {};
      },

      readlink({ path }, ctx) {
        const operation = 'Filesystem/Readlink';
        const target = resolveIn(caller, operation, path, ctx);
        if (target.path === '.') throw failure(Code.INVALID_ARGUMENT, operation, path, 'not a symbolic link');
        return target.root.withParent(target.path, (namePath) => {
          try {
            return { target: readlinkSync(namePath) };
          } catch (err) {
            if (errnoOf(err) === 'EINVAL') throw failure(Code.INVALID_ARGUMENT, operation, path, 'not a symbolic link');
            throw err;
          }
        });
      },

      async glob({ pattern }, ctx) {
        const operation = 'Filesystem/Glob';
        if (pattern === '' || pattern.includes('\0') || pattern.startsWith('/')) {
          throw failure(Code.INVALID_ARGUMENT, operation, JSON.stringify(pattern), 'a pattern must be a non-empty relative path without NUL');
        }
        const normalized = pattern.replace(/^(\.\/)+/, '');
        if (normalized.split('/').includes('..')) throw failure(Code.INVALID_ARGUMENT, operation, pattern, '".." is not allowed');
        const scan = picomatch.scan(normalized);
        if (scan.negated) throw failure(Code.INVALID_ARGUMENT, operation, pattern, 'negated patterns are not supported');
        const base = resolveIn(caller, operation, scan.base || '.', ctx);
        if (!scan.isGlob) {
          try {
            return { matches: [fileInfo(base.root.stat(base.path, false), base.visible)] };
          } catch (err) {
            const code = errnoOf(err);
            if (code === 'ENOENT' || code === 'ENOTDIR') return { matches: [] };
            throw err;
          }
        }
        let dir;
        try {
          dir = base.root.openDir(base.path);
        } catch (err) {
          const code = errnoOf(err);
          if (code === 'ENOENT' || code === 'ENOTDIR') return { matches: [] };
          throw err;
        }
        const isMatch = picomatch(normalized);
        // Without `**` or braces a pattern has a fixed number of segments below its base.
        const maxDepth = /\*\*|[{}]/.test(scan.glob) ? 0 : scan.glob.split('/').length;
        const intoDotDirs = namesDotSegments(scan.glob);
        const matches: TreeEntry[] = [];
        try {
          const entries = walkTree(dir.fd, base.visible, {
            maxDepth,
            signal: callSignal(ctx.signal),
            descend: (e) => intoDotDirs || !e.name.startsWith('.'),
            tooDeep: tooDeep(operation, pattern),
          });
          for await (const entry of entries) {
            if (!isMatch(entry.path)) continue;
            if (matches.length >= limits.maxEntries) throw tooMany(operation, pattern)();
            matches.push(entry);
          }
        } finally {
          closeSync(dir.fd);
        }
        matches.sort((a, b) => (a.path < b.path ? -1 : 1));
        return { matches: matches.map((m) => fileInfo(m.stats, m.path)) };
      },

      async *walk({ path, maxDepth }, ctx) {
        const operation = 'Filesystem/Walk';
        nonNegative(operation, path, 'max_depth', maxDepth);
        const start = resolveIn(caller, operation, path, ctx);
        const dir = start.root.openDir(start.path);
        try {
          let sent = 0;
          const entries = walkTree(dir.fd, start.visible, { maxDepth, signal: callSignal(ctx.signal), tooDeep: tooDeep(operation, path) });
          for await (const entry of entries) {
            if (++sent > limits.maxEntries) throw tooMany(operation, path)();
            yield { entry: fileInfo(entry.stats, entry.path), depth: entry.depth };
          }
        } finally {
          closeSync(dir.fd);
        }
      },

      async *readFileStream({ path, offset, length }, ctx) {
        const operation = 'Filesystem/ReadFileStream';
        nonNegative(operation, path, 'offset', offset);
        nonNegative(operation, path, 'length', length);
        const file = openFile(operation, resolveIn(caller, operation, path, ctx), path);
        const { fd } = file;
        const signal = callSignal(ctx.signal);
        const readAt = async (at: number, want: number) => {
          const chunk = Buffer.allocUnsafe(want);
          // Each chunk is its own and never written again: the transport may send it from where it lies.
          handOver(chunk);
          return chunk.subarray(0, await readInto(fd, chunk, at));
        };
        // Reads run up to READ_AHEAD chunks ahead of the one being sent: the file and the socket work at once.
        const reads: Array<{ at: number; want: number; data: Promise<Buffer> }> = [];
        let next = offset;
        let left = length === 0 ? Infinity : length;
        const readAhead = () => {
          while (reads.length < READ_AHEAD && left > 0) {
            const want = Math.min(limits.streamChunkBytes, left);
            reads.push({ at: next, want, data: readAt(next, want) });
            next += want;
            left -= want;
          }
        };
        try {
          readAhead();
          while (reads.length > 0 && !signal.aborted) {
            const { at, want, data: pending } = reads.shift()!;
            const data = await pending;
            if (data.length === 0) return;
            // A short read is the end of the file: what was read past it is dropped.
            const atEnd = data.length < want;
            if (!atEnd) readAhead();
            yield { data, offset: at };
            if (atEnd) return;
          }
        } finally {
          // A read still running holds the descriptor: closed only after it, so no later file reuses its number mid-read.
          await Promise.all(reads.map((r) => r.data.catch(() => undefined)));
          file.release();
        }
      },

      async writeFileStream(requests, ctx) {
        const operation = 'Filesystem/WriteFileStream';
        let fd: number | undefined;
        let path = '';
        let written = 0;
        try {
          for await (const request of requests) {
            if (fd === undefined) {
              path = request.path;
              const target = resolveIn(caller, operation, path, ctx);
              const flags = writeFlags(operation, path, request.mode);
              fd = target.root.open(target.path, flags, permOf(operation, path, request.perm, DEFAULT_FILE_PERM)).fd;
            }
            checkWriteSize(operation, path, request.data.length, 'send smaller messages');
            written += await writeFully(fd, request.data, written);
          }
        } finally {
          if (fd !== undefined) closeSync(fd);
        }
        if (fd === undefined) throw new RpcError(Code.INVALID_ARGUMENT, `${operation}: no messages; the first must name the file`);
        return { bytesWritten: written };
      },

      async *watch({ path, recursive }, ctx) {
        const operation = 'Filesystem/Watch';
        const target = resolveIn(caller, operation, path, ctx);
        // The host path of what the confined walk reached, checked to be inside
        // the root, so the watcher starts on the same file the plugin may see.
        const { fd } = target.root.open(target.path, O_PATH);
        let hostPath: string;
        try {
          hostPath = readlinkSync(pathOfFd(fd));
        } finally {
          closeSync(fd);
        }
        const rootPath = target.root.hostPath;
        if (hostPath !== rootPath && !hostPath.startsWith(`${rootPath}/`)) {
          throw failure(Code.PERMISSION_DENIED, operation, path, 'resolves outside the workspace');
        }
        // chokidar loads with the first watch, not with every host.
        const { watch: watchTree } = await import('chokidar');
        const release = caller.claimSubscription(`${operation} ${path}`);
        const events = new AsyncQueue<DeepPartial<WatchResponse>>();
        const watcher = watchTree(hostPath, {
          followSymlinks: false,
          ignoreInitial: true,
          persistent: true,
          ...(recursive ? {} : { depth: 0 }),
        });
        watchers.add(watcher);
        const report = (kind: WatchEventKind, directory: boolean) => (changed: string) => {
          const rel = relative(hostPath, changed);
          if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) return;
          events.push({ kind, path: rel === '' ? target.visible : joinVisible(target.visible, rel), directory });
        };
        watcher
          .on('add', report(WatchEventKind.WATCH_EVENT_KIND_CREATED, false))
          .on('addDir', report(WatchEventKind.WATCH_EVENT_KIND_CREATED, true))
          .on('change', report(WatchEventKind.WATCH_EVENT_KIND_MODIFIED, false))
          .on('unlink', report(WatchEventKind.WATCH_EVENT_KIND_REMOVED, false))
          .on('unlinkDir', report(WatchEventKind.WATCH_EVENT_KIND_REMOVED, true))
          .on('ready', () => events.push({ kind: WatchEventKind.WATCH_EVENT_KIND_READY }))
          .on('error', (err) => events.fail(err));
        const signal = callSignal(ctx.signal);
        const stop = () => events.end();
        signal.addEventListener('abort', stop, { once: true });
        try {
          yield* events;
        } finally {
          signal.removeEventListener('abort', stop);
          watchers.delete(watcher);
          release();
          await watcher.close();
        }
      },

      async diskUsage({ path, subtree }, ctx) {
        const operation = 'Filesystem/DiskUsage';
        const target = resolveIn(caller, operation, path || '.', ctx);
        const { fd } = target.root.open(target.path, O_PATH);
        let space;
        let top: Stats;
        try {
          space = statfsSync(pathOfFd(fd));
          top = fstatSync(fd);
        } finally {
          closeSync(fd);
        }
        const usage = {
          totalBytes: space.blocks * space.bsize,
          freeBytes: space.bfree * space.bsize,
          availableBytes: space.bavail * space.bsize,
        };
        if (!subtree) return usage;
        if (!top.isDirectory()) return { ...usage, subtreeBytes: top.isFile() ? top.size : 0, subtreeFiles: top.isFile() ? 1 : 0 };
        const dir = target.root.openDir(target.path);
        let bytes = 0;
        let files = 0;
        try {
          const entries = walkTree(dir.fd, target.visible, { maxDepth: 0, signal: callSignal(ctx.signal), tooDeep: tooDeep(operation, path) });
          for await (const entry of entries) {
            if (!entry.stats.isFile()) continue;
            bytes += entry.stats.size;
            files++;
          }
        } finally {
          closeSync(dir.fd);
        }
        return { ...usage, subtreeBytes: bytes, subtreeFiles: files };
      },
    };
  },
});
