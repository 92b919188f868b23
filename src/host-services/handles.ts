/**
 * FileHandles: files a plugin keeps open between calls. Handle ids are random
 * tokens in a table that belongs to one Caller, so an id is meaningless to
 * every other plugin; the Caller closes the table's fds when it goes.
 */
import { closeSync, constants as C, fstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FileHandlesDefinition, Whence } from '../gen/hst/host/v1/handles.js';
import { Code, RpcError } from '../rpc/status.js';
import { toRpcError } from './errors.js';
import {
  DEFAULT_FILE_PERM,
  failure,
  fileInfo,
  fsyncFd,
  nonNegative,
  permOf,
  readInto,
  resolveIn,
  truncateFd,
  visiblePath,
  writeFully,
} from './filesystem.js';
import type { Caller } from './caller.js';
import { hostService } from './operation.js';

interface Rights {
  read: boolean;
  write: boolean;
  append: boolean;
}

/** One open file: its fd, the rights it was opened with, and a position we track ourselves. */
class OpenFile {
  position = 0;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    /** Plugin-visible path it was opened by. */
    readonly path: string,
    private readonly fd: number,
    readonly rights: Rights,
  ) {}

  /**
   * Runs `fn` after every earlier operation on this handle, so position
   * updates never interleave and the fd is never closed (and its number
   * reused) under a pending read or write. Errors name the operation and path.
   */
  run<T>(operation: string, fn: (fd: number) => Promise<T> | T): Promise<T> {
    const result = this.tail.then(() => {
      if (this.closed) throw failure(Code.NOT_FOUND, operation, this.path, 'the handle was closed');
      return fn(this.fd);
    });
    this.tail = result.catch(() => undefined);
    return result.catch((err: unknown) => {
      throw toRpcError(err, operation, this.path);
    });
  }

  close(): Promise<void> {
    return this.run('FileHandles/Close', (fd) => {
      this.closed = true;
      closeSync(fd);
    });
  }
}

/** Each caller's handle table, so an operation's resource can name the file a handle is open on. */
const tables = new WeakMap<Caller, Map<string, OpenFile>>();

/** The path of the caller's own handle, or the id itself when it has no such handle. */
function handleResource(request: { handle: string }, scope: { caller: Caller }): string {
  return tables.get(scope.caller)?.get(request.handle)?.path ?? request.handle;
}

export const fileHandlesService = hostService({
  definition: FileHandlesDefinition,
  operations: {
    // Open can create, truncate and write, so it needs fs.write even to read.
    open: {
      capability: 'fs.write',
      // Opening only to read needs only read rights.
      capabilityFor: (r) => (r.write || r.append || r.create || r.truncate ? 'fs.write' : 'fs.read'),
      resource: (r) => visiblePath(r.path),
    },
    close: { capability: 'fs.read', resource: handleResource },
    read: { capability: 'fs.read', resource: handleResource },
    readAt: { capability: 'fs.read', resource: handleResource },
    write: { capability: 'fs.write', resource: handleResource },
    writeAt: { capability: 'fs.write', resource: handleResource },
    seek: { capability: 'fs.read', resource: handleResource },
    sync: { capability: 'fs.write', resource: handleResource },
    truncateHandle: { capability: 'fs.write', resource: handleResource },
    statHandle: { capability: 'fs.read', resource: handleResource },
    readLines: { capability: 'fs.read', resource: handleResource },
    // Only the plugin's own handles: introspection, like asking about its permissions.
    listHandles: { capability: 'self' },
  },
  create(caller) {
    const limits = caller.limits;
    const files = new Map<string, OpenFile>();
    tables.set(caller, files);
    caller.onDisconnect(async () => {
      const open = [...files.values()];
      files.clear();
      await Promise.all(open.map((f) => f.close()));
    });
    // A revoked capability takes the handles opened under it with it.
    caller.onPermissionsChanged(() => {
      for (const file of [...files.values()]) {
        const needed = file.rights.write || file.rights.append ? 'fs.write' : 'fs.read';
        if (caller.permits(needed, file.path)) continue;
        files.delete(file.id);
        void file.close();
        caller.logger.info({ handle: file.id, path: file.path }, 'handle closed: its capability was revoked');
      }
    });

    /** The caller's own handle; any other id gets the same NOT_FOUND, whoever holds it. */
    const lookup = (operation: string, id: string): OpenFile => {
      const file = files.get(id);
      if (!file) throw new RpcError(Code.NOT_FOUND, `${operation}: no open handle ${JSON.stringify(id)}`);
      return file;
    };
    const withRight = (operation: string, id: string, right: 'read' | 'write'): OpenFile => {
      const file = lookup(operation, id);
      const allowed = right === 'read' ? file.rights.read : file.rights.write || file.rights.append;
      if (!allowed) throw failure(Code.PERMISSION_DENIED, operation, file.path, `the handle was not opened for ${right === 'read' ? 'reading' : 'writing'}`);
      return file;
    };
    const readCount = (operation: string, file: OpenFile, n: number): number => {
      if (n <= 0) throw failure(Code.INVALID_ARGUMENT, operation, file.path, 'n must be positive');
      if (n > limits.maxReadBytes) {
        throw failure(Code.OUT_OF_RANGE, operation, file.path, `${n} bytes is more than the host's limit of ${limits.maxReadBytes} for one read`);
      }
      return n;
    };
    const writeSize = (operation: string, file: OpenFile, data: Uint8Array): Uint8Array => {
      if (data.length > limits.maxWriteBytes) {
        throw failure(Code.OUT_OF_RANGE, operation, file.path, `${data.length} bytes is more than the host's limit of ${limits.maxWriteBytes} for one write`);
      }
      return data;
    };
    const readChunk = async (fd: number, n: number, position: number) => {
      const buffer = Buffer.allocUnsafe(n);
      const got = await readInto(fd, buffer, position);
      return { data: buffer.subarray(0, got), eof: got < n };
    };

    return {
      open({ path, read, write, append, create, exclusive, truncate, perm }, ctx) {
        const operation = 'FileHandles/Open';
        const target = resolveIn(caller, operation, path, ctx);
        const writing = write || append;
        if (!read && !writing) throw failure(Code.INVALID_ARGUMENT, operation, path, 'open for at least one of read, write, append');
        if (exclusive && !create) throw failure(Code.INVALID_ARGUMENT, operation, path, 'exclusive needs create');
        if (truncate && !writing) throw failure(Code.INVALID_ARGUMENT, operation, path, 'truncate needs write');
        if (files.size >= limits.maxOpenHandles) {
          throw failure(Code.RESOURCE_EXHAUSTED, operation, path, `${files.size} handles are open, the host's limit per plugin; close some first`);
        }
        const flags =
          (read && writing ? C.O_RDWR : writing ? C.O_WRONLY : C.O_RDONLY) |
          (append ? C.O_APPEND : 0) |
          (create ? C.O_CREAT : 0) |
          (exclusive ? C.O_EXCL : 0) |
          (truncate ? C.O_TRUNC : 0);
        const { fd } = target.root.open(target.path, flags, permOf(operation, path, perm, DEFAULT_FILE_PERM));
        try {
          if (fstatSync(fd).isDirectory()) throw failure(Code.FAILED_PRECONDITION, operation, path, 'is a directory; use Filesystem.ReadDir');
        } catch (err) {
          closeSync(fd);
          throw err;
        }
        const id = randomBytes(16).toString('hex');
        files.set(id, new OpenFile(id, target.visible, fd, { read, write: writing, append }));
        return { handle: id };
      },

      async close({ handle }) {
        const file = lookup('FileHandles/Close', handle);
        files.delete(handle);
        await file.close();
        return {};
      },

      read({ handle, n }) {
        const operation = 'FileHandles/Read';
        const file = withRight(operation, handle, 'read');
        readCount(operation, file, n);
        return file.run(operation, async (fd) => {
          const res = await readChunk(fd, n, file.position);
          file.position += res.data.length;
          return res;
        });
      },

      readAt({ handle, offset, n }) {
        const operation = 'FileHandles/ReadAt';
        const file = withRight(operation, handle, 'read');
        nonNegative(operation, file.path, 'offset', offset);
        readCount(operation, file, n);
        return file.run(operation, (fd) => readChunk(fd, n, offset));
      },

      write({ handle, data }) {
        const operation = 'FileHandles/Write';
        const file = withRight(operation, handle, 'write');
        writeSize(operation, file, data);
        return file.run(operation, async (fd) => {
          if (file.rights.append) {
            const written = await writeFully(fd, data, null);
            file.position = fstatSync(fd).size;
            return { bytesWritten: written };
          }
          const written = await writeFully(fd, data, file.position);
          file.position += written;
          return { bytesWritten: written };
        });
      },

      writeAt({ handle, offset, data }) {
        const operation = 'FileHandles/WriteAt';
        const file = withRight(operation, handle, 'write');
        // Linux appends a positioned write on an O_APPEND fd: refuse rather than write elsewhere.
        if (file.rights.append) throw failure(Code.FAILED_PRECONDITION, operation, file.path, 'the handle appends; positioned writes are not possible');
        nonNegative(operation, file.path, 'offset', offset);
        writeSize(operation, file, data);
        return file.run(operation, async (fd) => ({ bytesWritten: await writeFully(fd, data, offset) }));
      },

      seek({ handle, offset, whence }) {
        const operation = 'FileHandles/Seek';
        const file = lookup(operation, handle);
        return file.run(operation, (fd) => {
          let base: number;
          switch (whence) {
            case Whence.WHENCE_START:
              base = 0;
              break;
            case Whence.WHENCE_CURRENT:
              base = file.position;
              break;
            case Whence.WHENCE_END:
              base = fstatSync(fd).size;
              break;
            default:
              throw failure(Code.INVALID_ARGUMENT, operation, file.path, `unknown whence ${whence}`);
          }
          const position = base + offset;
          if (position < 0) throw failure(Code.INVALID_ARGUMENT, operation, file.path, `position ${position} is before the start of the file`);
          file.position = position;
          return { position };
        });
      },

      async sync({ handle }) {
        const operation = 'FileHandles/Sync';
        await lookup(operation, handle).run(operation, fsyncFd);
        return {};
      },

      async truncateHandle({ handle, size }) {
        const operation = 'FileHandles/TruncateHandle';
        const file = withRight(operation, handle, 'write');
        nonNegative(operation, file.path, 'size', size);
        await file.run(operation, (fd) => truncateFd(fd, size));
        return {};
      },

      statHandle({ handle }) {
        const operation = 'FileHandles/StatHandle';
        const file = lookup(operation, handle);
        return file.run(operation, (fd) => ({ info: fileInfo(fstatSync(fd), file.path) }));
      },

      async *readLines({ handle, maxLines }, ctx) {
        const operation = 'FileHandles/ReadLines';
        const file = withRight(operation, handle, 'read');
        nonNegative(operation, file.path, 'max_lines', maxLines);
        const signal = AbortSignal.any([ctx.signal, caller.signal]);
        // The file offset of `pending[0]`: the start of the line being assembled.
        let lineStart = await file.run(operation, () => file.position);
        let pending = Buffer.alloc(0);
        let scanned = 0;
        let sent = 0;
        const emit = (length: number, consumed: number) => {
          let line = pending.subarray(0, length);
          if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
          lineStart += consumed;
          file.position = lineStart;
          pending = pending.subarray(consumed);
          scanned = 0;
          sent++;
          return { line: line.toString('utf8') };
        };
        while (!signal.aborted && (maxLines === 0 || sent < maxLines)) {
          const newline = pending.indexOf(0x0a, scanned);
          if (newline >= 0) {
            yield emit(newline, newline + 1);
            continue;
          }
          if (pending.length > limits.maxReadBytes) {
            throw failure(Code.OUT_OF_RANGE, operation, file.path, `a line at offset ${lineStart} is longer than the host's limit of ${limits.maxReadBytes} bytes for one read`);
          }
          scanned = pending.length;
          const chunk = await file.run(operation, (fd) => readChunk(fd, limits.streamChunkBytes, lineStart + pending.length));
          if (chunk.data.length === 0) {
            if (pending.length > 0) yield emit(pending.length, pending.length);
            return;
          }
          pending = Buffer.concat([pending, chunk.data]);
        }
      },

      listHandles() {
        return {
          handles: [...files.values()].map((f) => ({
            handle: f.id,
            path: f.path,
            read: f.rights.read,
            write: f.rights.write,
            append: f.rights.append,
            position: f.position,
          })),
        };
      },
    };
  },
});
