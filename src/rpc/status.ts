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
export class RpcError extends Error {
  override readonly name = 'RpcError';
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
    if (err instanceof Error) return new RpcError(Code.UNKNOWN, err.message, { cause: err });
    return new RpcError(Code.UNKNOWN, String(err));
  }
}
