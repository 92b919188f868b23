/**
 * Maps what Node's fs and child_process throw to status codes whose message
 * names the operation and the resource, never a host path the plugin cannot see.
 */
import { Code, RpcError } from '../rpc/status.js';
import { ConfinementError, PathError } from '../security/confine.js';

const ERRNO_CODES: Record<string, [Code, string]> = {
  ENOENT: [Code.NOT_FOUND, 'no such file or directory'],
  EEXIST: [Code.ALREADY_EXISTS, 'already exists'],
  EACCES: [Code.PERMISSION_DENIED, 'permission denied'],
  EPERM: [Code.PERMISSION_DENIED, 'operation not permitted'],
  ENOTDIR: [Code.FAILED_PRECONDITION, 'not a directory'],
  EISDIR: [Code.FAILED_PRECONDITION, 'is a directory'],
  ENOTEMPTY: [Code.FAILED_PRECONDITION, 'directory not empty'],
  ELOOP: [Code.PERMISSION_DENIED, 'is a symbolic link, which is not followed'],
  EXDEV: [Code.FAILED_PRECONDITION, 'cross-device link'],
  ENOSPC: [Code.RESOURCE_EXHAUSTED, 'no space left on device'],
  EMFILE: [Code.RESOURCE_EXHAUSTED, 'too many open files'],
  EFBIG: [Code.OUT_OF_RANGE, 'file too large'],
  EINVAL: [Code.INVALID_ARGUMENT, 'invalid argument'],
  ENAMETOOLONG: [Code.INVALID_ARGUMENT, 'name too long'],
  EBADF: [Code.FAILED_PRECONDITION, 'bad file descriptor'],
  ESRCH: [Code.NOT_FOUND, 'no such process'],
  ETIMEDOUT: [Code.DEADLINE_EXCEEDED, 'timed out'],
  EAGAIN: [Code.UNAVAILABLE, 'resource temporarily unavailable'],
  ENXIO: [Code.FAILED_PRECONDITION, 'no reader on the other end (FIFO or socket)'],
  // better-sqlite3 reports SQLite's result codes the same way.
  SQLITE_BUSY: [Code.UNAVAILABLE, 'the store is busy, try again'],
  SQLITE_LOCKED: [Code.UNAVAILABLE, 'the store is busy, try again'],
  SQLITE_FULL: [Code.RESOURCE_EXHAUSTED, 'the store is full'],
};

/** A refusal, carrying the rule that decided it for the audit record. */
export class DeniedError extends RpcError {
  constructor(
    details: string,
    readonly rule: string,
  ) {
    super(Code.PERMISSION_DENIED, details);
  }
}

/** `op resource: reason`, with the right code; RpcErrors pass through. */
export function toRpcError(err: unknown, operation: string, resource: string): RpcError {
  // A refused path says which operation refused it.
  if (err instanceof PathError && !err.details.startsWith(operation)) return new RpcError(err.code, `${operation}: ${err.details}`, { cause: err });
  if (err instanceof RpcError) return err;
  // The confined root's own refusals (a link out of the workspace) are decisions too.
  if (err instanceof ConfinementError) return new DeniedError(`${operation} ${resource}: ${err.message}`, 'workspace confinement');
  const errno = (err as NodeJS.ErrnoException)?.code;
  const mapped = errno ? ERRNO_CODES[errno] : undefined;
  const where = resource ? `${operation} ${resource}` : operation;
  if (mapped) return new RpcError(mapped[0], `${where}: ${mapped[1]}`, { cause: err });
  return new RpcError(Code.INTERNAL, `${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

export function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

export function notFound(message: string): RpcError {
  return new RpcError(Code.NOT_FOUND, message);
}

export function exhausted(message: string): RpcError {
  return new RpcError(Code.RESOURCE_EXHAUSTED, message);
}
