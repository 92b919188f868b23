/**
 * Typed clients on a native session: one channel of it (0 for the plugin's
 * own services, a broker id for a service the peer accepted).
 */
import {
  typedClient,
  type CallOptions,
  type Client,
  type ClientConnection,
  type MethodDefinition,
  type ServiceDefinition,
} from '../definition.js';
import { Code, RpcError } from '../status.js';
import type { ErrorDescriber } from '../transport.js';
import { decodeMessage, encodeMessageParts } from '../codec.js';
import { Inbox } from './inbox.js';
import type { Session, Stream, StreamSink } from './session.js';
import { REFERENCE_PART_BYTES, type Payload } from './frame.js';

type Fail = (error: RpcError) => Promise<Error>;

export interface NativeConnectionOptions {
  describeError?: ErrorDescriber;
  /** close() closes the whole session (the host's main connection), not just this channel. */
  ownsSession?: boolean;
}

export class NativeConnection implements ClientConnection {
  private closed = false;

  constructor(
    private readonly session: Session,
    private readonly channel: number,
    private readonly options: NativeConnectionOptions = {},
  ) {}

  client<D extends ServiceDefinition>(definition: D): Client<D> {
    return typedClient(definition, (path, method) => this.method(path, method));
  }

  /** A socket pair is connected from the start: ready unless it is already gone. */
  ready(): Promise<void> {
    const error = this.session.closed;
    return error ? Promise.reject(error) : Promise.resolve();
  }

  /** Calls already running finish; new ones fail. */
  close(): void {
    this.closed = true;
    if (this.options.ownsSession) this.session.close(new RpcError(Code.CANCELLED, 'the connection was closed'));
  }

  private method(path: string, method: MethodDefinition): (input: any, options?: CallOptions) => unknown {
    const { requestType, responseType } = method;
    const encode = (request: unknown) => encodeMessageParts(requestType, requestType.fromPartial(request ?? {}), REFERENCE_PART_BYTES);
    const decode = (bytes: Uint8Array) => decodeMessage(responseType, bytes);
    const describe = this.options.describeError;
    const fail: Fail = (err) => (describe ? Promise.resolve(describe(err, path)) : Promise.resolve(err));
    const open = (sink: StreamSink, options: CallOptions | undefined): Stream | undefined => {
      if (this.closed) {
        sink.status(Code.CANCELLED, 'the connection was closed');
        return undefined;
      }
      return this.session.open({ channel: this.channel, path, timeoutMs: timeoutOf(options), metadata: options?.metadata }, sink);
    };

    if (!method.requestStream && !method.responseStream) {
      return (request, options) =>
        new Promise((resolve, reject) => {
          const call = new UnaryCall(path, decode, resolve, reject, fail);
          const stream = open(call, options);
          if (!stream) return;
          stream.send(encode(request), true);
          call.watch(stream, options);
        });
    }
    if (!method.requestStream) {
      return (request, options) => {
        const call = new StreamingCall(path, decode, fail);
        const stream = open(call, options);
        if (!stream) return call.failed();
        stream.send(encode(request), true);
        return call.watch(stream, options);
      };
    }
    if (!method.responseStream) {
      return (requests: AsyncIterable<unknown> | Iterable<unknown>, options) =>
        new Promise((resolve, reject) => {
          const call = new UnaryCall(path, decode, resolve, reject, fail);
          const stream = open(call, options);
          if (!stream) return;
          call.watch(stream, options);
          void pump(requests, stream, encode);
        });
    }
    return (requests: AsyncIterable<unknown> | Iterable<unknown>, options) => {
      const call = new StreamingCall(path, decode, fail);
      const stream = open(call, options);
      if (!stream) return call.failed();
      void pump(requests, stream, encode);
      return call.watch(stream, options);
    };
  }
}

function timeoutOf(options: CallOptions | undefined): number {
  const d = options?.deadline;
  if (d === undefined) return 0;
  const ms = d instanceof Date ? d.getTime() - Date.now() : d;
  return Math.min(0xffff_ffff, Math.max(1, Math.ceil(ms)));
}

/** Deadline and abort signal of one call; the owner calls stop() when the call is over. */
class CallWatch {
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private onAbort: (() => void) | undefined;

  constructor(stream: Stream, options: CallOptions | undefined, end: (code: Code, details: string) => void) {
    const timeoutMs = timeoutOf(options);
    if (timeoutMs > 0) {
      this.timer = setTimeout(() => {
        stream.cancel(Code.DEADLINE_EXCEEDED, 'deadline exceeded');
        end(Code.DEADLINE_EXCEEDED, `Deadline exceeded after ${timeoutMs} ms`);
      }, timeoutMs);
    }
    const signal = options?.signal;
    if (signal) {
      this.onAbort = () => {
        stream.cancel(Code.CANCELLED, 'cancelled by the caller');
        end(Code.CANCELLED, 'Cancelled on client');
      };
      if (signal.aborted) this.onAbort();
      else {
        this.signal = signal;
        signal.addEventListener('abort', this.onAbort, { once: true });
      }
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.signal && this.onAbort) this.signal.removeEventListener('abort', this.onAbort);
  }
}

/** What both kinds of call do alike: settle once, and stop watching the deadline and signal then. */
abstract class ClientCall implements StreamSink {
  protected settled = false;
  private watcher: CallWatch | undefined;

  abstract message(bytes: Buffer, credit: number): void;
  abstract status(code: Code, details: string): void;
  /** The server's end of the stream means nothing until its status comes. */
  remoteEnd(): void {}
  /** Cancel frames go to servers; a caller hears the end as a status. */
  cancel(): void {}

  protected watchCall(stream: Stream, options: CallOptions | undefined): void {
    if (options?.deadline !== undefined || options?.signal) this.watcher = new CallWatch(stream, options, (c, d) => this.status(c, d));
  }

  /** False when the call is already over; otherwise marks it over. */
  protected settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.watcher?.stop();
    return true;
  }
}

/** A call with one response: unary and client streaming. */
class UnaryCall extends ClientCall {
  private response: unknown;
  private received = false;

  constructor(
    private readonly path: string,
    private readonly decode: (bytes: Uint8Array) => unknown,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: unknown) => void,
    private readonly fail: Fail,
  ) {
    super();
  }

  watch(stream: Stream, options: CallOptions | undefined): void {
    this.watchCall(stream, options);
  }

  message(bytes: Buffer): void {
    if (this.received) return;
    try {
      this.response = this.decode(bytes);
      this.received = true;
    } catch (err) {
      this.status(Code.INTERNAL, `response could not be decoded: ${(err as Error).message}`);
    }
  }

  status(code: Code, details: string): void {
    if (!this.settle()) return;
    if (code === Code.OK && this.received) return this.resolve(this.response);
    const error =
      code === Code.OK ? new RpcError(Code.UNIMPLEMENTED, `${this.path}: the server sent no response`) : new RpcError(code, `${this.path}: ${details}`);
    void this.fail(error).then(this.reject);
  }
}

/** A call with a stream of responses: server streaming and bidirectional. */
class StreamingCall extends ClientCall {
  private inbox: Inbox<unknown> | undefined;
  private early: RpcError | undefined;

  constructor(
    private readonly path: string,
    private readonly decode: (bytes: Uint8Array) => unknown,
    private readonly fail: Fail,
  ) {
    super();
  }

  watch(stream: Stream, options: CallOptions | undefined): AsyncIterable<unknown> {
    // A reader that stops early cancels the call: that is an end, not a failure.
    this.inbox = new Inbox(stream, () => {
      if (this.settle()) stream.cancel(Code.CANCELLED, 'the reader stopped');
    });
    this.watchCall(stream, options);
    return this.inbox;
  }

  /** The call could not even start (closed connection): a stream that fails on first read. */
  failed(): AsyncIterable<unknown> {
    const error = this.early ?? new RpcError(Code.UNAVAILABLE, `${this.path}: the connection is closed`);
    return {
      [Symbol.asyncIterator]: () => ({ next: () => this.fail(error).then((e) => Promise.reject(e)) }),
    };
  }

  message(bytes: Buffer, credit: number): void {
    if (this.settled) return;
    let value: unknown;
    try {
      value = this.decode(bytes);
    } catch (err) {
      return this.status(Code.INTERNAL, `response could not be decoded: ${(err as Error).message}`);
    }
    this.inbox?.push(value, credit);
  }

  status(code: Code, details: string): void {
    if (!this.settle()) return;
    if (!this.inbox) {
      this.early = new RpcError(code, `${this.path}: ${details}`);
      return;
    }
    if (code === Code.OK) return this.inbox.end();
    const inbox = this.inbox;
    void this.fail(new RpcError(code, `${this.path}: ${details}`)).then((e) => inbox.fail(e));
  }
}

/** Writes requests as the stream's window allows, then half-closes; a failing source cancels the call. */
async function pump(requests: AsyncIterable<unknown> | Iterable<unknown>, stream: Stream, encode: (r: unknown) => Payload): Promise<void> {
  try {
    await stream.sendAll(requests, encode);
    stream.halfClose();
  } catch (err) {
    const reason = `the request stream failed: ${(err as Error)?.message ?? String(err)}`;
    stream.cancel(Code.CANCELLED, reason);
    stream.sink?.status(Code.CANCELLED, reason);
  }
}
