/**
 * Status codes and the error type every hst call fails with, whatever the
 * transport. The numbers are gRPC's, so they cross the wire unchanged.
 */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** An error with a status code; thrown by clients and by handlers alike. */
/**
 * Marks an RpcError whichever copy of hst made it: an application's host
 * service may import the packaged bundle while the CLI that loads it runs
 * the compiled sources, and its NOT_FOUND must not turn into UNKNOWN there.
 */
const BRAND = Symbol.for('hst.RpcError');

export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly [BRAND] = true;
  constructor(
    readonly code: Code,
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${Code[code] ?? code}: ${details}`, options);
  }

  /** Turns anything thrown by a handler into a status for the peer. */
  static from(err: unknown): RpcError {
    if (err instanceof RpcError) return err;
    if (isForeignRpcError(err)) return new RpcError(err.code, err.details, { cause: err });
    if (err instanceof Error) return new RpcError(Code.UNKNOWN, err.message, { cause: err });
    return new RpcError(Code.UNKNOWN, String(err));
  }
}

/** An RpcError of this copy of hst or another's: a deliberate status, not an accident. */
export function isRpcError(err: unknown): boolean {
  return err instanceof RpcError || isForeignRpcError(err);
}

function isForeignRpcError(err: unknown): err is { code: Code; details: string } {
  const e = err as Partial<Record<typeof BRAND, unknown>> & { code?: unknown; details?: unknown } | null;
  return typeof e === 'object' && e !== null && e[BRAND] === true && typeof e.code === 'number' && typeof e.details === 'string';
}
