/**
 * Typed gRPC clients on node:http2, for go-plugin peers (Go, Python, or an
 * hst plugin told to speak gRPC). One HTTP/2 session per connection, over
 * whatever byte stream the dialer gives: a unix or TCP socket, or a yamux
 * stream when broker connections are multiplexed. Written on node:http2
 * rather than grpc-js because grpc-js can only dial addresses itself (no
 * stream of ours can carry it) and spends most of a call's time in its own
 * channel machinery; what gRPC adds to HTTP/2 for hst's calls is small.
 */
import { connect as connectHttp2, constants, type ClientHttp2Session, type ClientHttp2Stream, type Http2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as connectTls } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  typedClient,
  type CallOptions,
  type Client,
  type ClientConnection,
  type MethodDefinition,
  type ServiceDefinition,
} from '../definition.js';
import { Code, RpcError } from '../status.js';
import { retryDial } from '../dial.js';
import type { ConnectOptions } from '../transport.js';
import { FlowQueue } from './flow-queue.js';
import { endWithMessage, MessageReader, writeMessage } from './grpc-frames.js';
import { encodeTimeout, GRPC_CONTENT_TYPE, metadataHeaders, statusIn, statusOfHttp } from './grpc-headers.js';
import { MAX_MESSAGE_BYTES } from '../message-limit.js';
import { decodeMessage, encodeMessageParts } from '../codec.js';
import { SESSION_OPTIONS, widenConnectionWindow } from './session-options.js';
import { openRequest } from './lean-request.js';

/** A fresh byte stream to the server, for each HTTP/2 session the connection makes. */
export type Dialer = () => Duplex;


/** How one call ended, before it is turned into a result or an RpcError. */
interface Outcome {
  code: Code;
  message: string;
}

type Fail = (error: RpcError) => Promise<Error>;

/** Waits for the server's SETTINGS; resolves with why the session failed instead, if it did. */
function settled(session: ClientHttp2Session, timeoutMs: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(new Error(`no HTTP/2 from the server within the start timeout`)), Math.max(0, timeoutMs));
    const done = (err?: Error) => {
      clearTimeout(timer);
      session.off('remoteSettings', onSettings).off('close', onClose);
      resolve(err);
    };
    const onSettings = () => done();
    const onClose = () => done(sessionErrors.get(session) ?? new Error('the connection closed before the server spoke HTTP/2'));
    session.once('remoteSettings', onSettings).once('close', onClose);
  });
}

/** Why a session failed (a refused TLS handshake, a reset socket), for the calls it takes down. */
const sessionErrors = new WeakMap<Http2Session, Error>();
/** Sessions whose server has sent its SETTINGS: what ready() waits for. */
const spoke = new WeakSet<Http2Session>();

export class Http2Connection implements ClientConnection {
  private session: ClientHttp2Session | undefined;
  private closed = false;
  private active = 0;

  constructor(
    private readonly dial: Dialer,
    private readonly options: ConnectOptions = {},
  ) {}

  client<D extends ServiceDefinition>(definition: D): Client<D> {
    return typedClient(definition, (path, method) => this.method(path, method));
  }

  /**
   * Resolves once the server has spoken HTTP/2 (its SETTINGS came): a socket
   * that accepts and stays silent is not ready. A refused or missing socket
   * is tried again until the time is up, as the plugin may still be coming up
   * (or going down: the caller races this against the process's exit).
   */
  async ready(timeoutMs: number): Promise<void> {
    await retryDial(
      async (left) => {
        const session = this.current();
        const failure = spoke.has(session) ? undefined : await settled(session, left);
        return failure ? { failure } : { ok: undefined };
      },
      Date.now() + timeoutMs,
      () => this.closed,
    );
  }

  /** Calls already running end with the session; new ones fail. */
  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  /** The live session, or a new one: a session the peer closed is replaced on the next call. */
  private current(): ClientHttp2Session {
    if (this.closed) throw new RpcError(Code.CANCELLED, 'the connection was closed');
    const existing = this.session;
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const { tls } = this.options;
    const raw = this.dial();
    const socket = tls
      ? connectTls({ socket: raw, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName ?? 'localhost', ALPNProtocols: ['h2'] })
      : raw;
    const session = connectHttp2(tls ? 'https://localhost' : 'http://localhost', { ...SESSION_OPTIONS, createConnection: () => socket });
    // The client end of a connection is the one that widens it (see session-options.ts).
    session.once('connect', () => widenConnectionWindow(session));
    session.once('remoteSettings', () => spoke.add(session));
    // Calls learn of a failed connection when their streams close (see closedWithout).
    session.on('error', (err: Error) => sessionErrors.set(session, err));
    session.once('close', () => {
      if (this.session === session) this.session = undefined;
    });
    // An idle connection does not keep the process alive; a call in flight does (see track()).
    session.unref();
    this.session = session;
    return session;
  }

  /** Opens a call's stream; the connection's session stays referenced until the stream closes. */
  private open(headers: OutgoingHttpHeaders): ClientHttp2Stream {
    const session = this.current();
    const stream = openRequest(session, headers);
    if (this.active++ === 0) session.ref();
    stream.once('close', () => {
      if (--this.active === 0) session.unref();
    });
    return stream;
  }

  private method(path: string, method: MethodDefinition): (input: any, options?: CallOptions) => unknown {
    const { requestType, responseType } = method;
    const encode = (request: unknown) => encodeMessageParts(requestType, requestType.fromPartial(request ?? {}));
    const describe = this.options.describeError;
    const fail: Fail = (err) => Promise.resolve(describe ? describe(err, path) : err);
    const baseHeaders: OutgoingHttpHeaders = { ':method': 'POST', ':path': path, 'content-type': GRPC_CONTENT_TYPE, te: 'trailers' };

    /** Starts a call: its stream, or the RpcError that kept it from starting. */
    const start = (options: CallOptions | undefined, onMessage: (m: Buffer) => void, onEnd: (outcome: Outcome) => void): ClientHttp2Stream | RpcError => {
      const headers = requestHeaders(baseHeaders, options);
      if (headers instanceof RpcError) return headers;
      let stream: ClientHttp2Stream;
      try {
        stream = this.open(headers);
      } catch (err) {
        return err instanceof RpcError ? err : new RpcError(Code.UNAVAILABLE, (err as Error).message, { cause: err });
      }
      watch(stream, options, onMessage, onEnd);
      return stream;
    };

    const send = (stream: ClientHttp2Stream, input: unknown) =>
      method.requestStream ? void pump(input as AsyncIterable<unknown> | Iterable<unknown>, stream, encode) : endWithMessage(stream, encode(input));
    const failed = (outcome: Outcome) => fail(new RpcError(outcome.code, `${path}: ${outcome.message}`));

    if (!method.responseStream) {
      return (input, options) =>
        new Promise((resolve, reject) => {
          let response: Buffer | undefined;
          let extra = false;
          const started = start(
            options,
            (m) => (response === undefined ? (response = m) : (extra = true)),
            (outcome) => {
              if (outcome.code === Code.OK && (response === undefined || extra)) {
                outcome = { code: Code.UNIMPLEMENTED, message: `the server sent ${response === undefined ? 'no response message' : 'more than one response message'}` };
              }
              if (outcome.code !== Code.OK) void failed(outcome).then(reject);
              else resolve(decodeMessage(responseType, response as Buffer));
            },
          );
          if (started instanceof RpcError) return void fail(prefixed(started, path)).then(reject);
          send(started, input);
        });
    }
    return (input, options) => {
      const queue = new FlowQueue<unknown>();
      const started = start(options, (m) => queue.push(decodeMessage(responseType, m)), (outcome) => {
        if (outcome.code === Code.OK) queue.end();
        else void failed(outcome).then((e) => queue.fail(e));
      });
      if (started instanceof RpcError) {
        void fail(prefixed(started, path)).then((e) => queue.fail(e));
        return queue;
      }
      queue.controls(started, () => !started.closed && started.close(constants.NGHTTP2_CANCEL));
      send(started, input);
      return queue;
    };
  }
}

function prefixed(error: RpcError, path: string): RpcError {
  return new RpcError(error.code, `${path}: ${error.details}`, { cause: error });
}

/** The request's headers, or DEADLINE_EXCEEDED for a deadline already past. */
function requestHeaders(base: OutgoingHttpHeaders, options: CallOptions | undefined): OutgoingHttpHeaders | RpcError {
  if (!options || (options.deadline === undefined && !options.metadata)) return base;
  const headers = metadataHeaders(options.metadata, { ...base });
  const left = timeLeft(options.deadline);
  if (left !== undefined) {
    if (left <= 0) return new RpcError(Code.DEADLINE_EXCEEDED, 'the deadline had passed before the call started');
    headers['grpc-timeout'] = encodeTimeout(left);
  }
  return headers;
}

function timeLeft(deadline: CallOptions['deadline']): number | undefined {
  if (deadline === undefined) return undefined;
  return deadline instanceof Date ? deadline.getTime() - Date.now() : deadline;
}

/**
 * Follows one call's stream to its end: messages as they arrive, then one
 * outcome from the trailers, the HTTP status, a reset, the deadline or the
 * caller's signal, whichever comes first.
 */
function watch(stream: ClientHttp2Stream, options: CallOptions | undefined, onMessage: (m: Buffer) => void, onEnd: (outcome: Outcome) => void): void {
  let outcome: Outcome | undefined;
  let httpStatus = 0;
  const settle = (o: Outcome) => (outcome ??= o);
  const cancel = (o: Outcome) => {
    settle(o);
    if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
  };
  const reader = new MessageReader(MAX_MESSAGE_BYTES, (m) => {
    if (!outcome) onMessage(m);
  });
  stream.on('response', (headers: IncomingHttpHeaders) => {
    httpStatus = Number(headers[':status']);
    const contentType = String(headers['content-type'] ?? '');
    const status = statusIn(headers);
    if (status) settle(status);
    else if (httpStatus !== 200) cancel({ code: statusOfHttp(httpStatus), message: `the server answered HTTP ${httpStatus}` });
    else if (!contentType.startsWith(GRPC_CONTENT_TYPE)) cancel({ code: Code.UNKNOWN, message: `the server answered with content-type ${contentType || '(none)'}` });
  });
  stream.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      const e = RpcError.from(err);
      cancel({ code: e.code, message: e.details });
    }
  });
  stream.on('trailers', (trailers: IncomingHttpHeaders) => {
    settle(statusIn(trailers) ?? { code: Code.INTERNAL, message: 'the server ended the call without a status' });
  });
  // Errors are read from rstCode and the session at close; the event only needs a listener.
  stream.on('error', () => undefined);

  const signal = options?.signal;
  const onAbort = () => cancel({ code: Code.CANCELLED, message: 'cancelled by the caller' });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const left = timeLeft(options?.deadline);
  const timer = left === undefined ? undefined : setTimeout(() => cancel({ code: Code.DEADLINE_EXCEEDED, message: 'the deadline passed' }), left);

  stream.once('close', () => {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (!outcome && reader.partial) settle({ code: Code.INTERNAL, message: 'the stream ended inside a message' });
    onEnd(outcome ?? closedWithout(stream, httpStatus));
  });
}

/** The outcome of a stream that closed before any status: the connection's failure, or the reset code. */
function closedWithout(stream: ClientHttp2Stream, httpStatus: number): Outcome {
  const session = stream.session;
  const failure = session ? sessionErrors.get(session) : undefined;
  if (failure) return { code: Code.UNAVAILABLE, message: `the connection failed: ${failure.message}` };
  if (!session || session.destroyed) return { code: Code.UNAVAILABLE, message: 'the connection to the server was lost' };
  switch (stream.rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return { code: Code.UNAVAILABLE, message: 'the server refused the stream' };
    case constants.NGHTTP2_CANCEL:
      return { code: Code.CANCELLED, message: 'the server cancelled the call' };
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return { code: Code.RESOURCE_EXHAUSTED, message: 'the server asked to slow down (ENHANCE_YOUR_CALM)' };
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return { code: Code.PERMISSION_DENIED, message: 'the connection security is inadequate' };
    case constants.NGHTTP2_NO_ERROR:
      if (httpStatus !== 0) return { code: Code.INTERNAL, message: 'the server ended the call without a status' };
  }
  return { code: Code.INTERNAL, message: `the server reset the stream (HTTP/2 error ${stream.rstCode})` };
}

/** Writes requests with backpressure, then half-closes; a failing source cancels the call. */
async function pump(requests: AsyncIterable<unknown> | Iterable<unknown>, stream: ClientHttp2Stream, encode: (r: unknown) => Uint8Array | Uint8Array[]): Promise<void> {
  try {
    for await (const request of requests) {
      if (stream.closed || stream.destroyed) return;
      if (!writeMessage(stream, encode(request))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stream.off('drain', done).off('close', done);
            resolve();
          };
          stream.once('drain', done).once('close', done);
        });
      }
    }
    if (!stream.closed && !stream.destroyed) stream.end();
  } catch {
    if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
  }
}
