/**
 * Serves transport-independent service implementations as gRPC on
 * node:http2: to go-plugin hosts (Go, Python) and to plugins' broker
 * connections. The HTTP/2 server never listens; it is handed connections:
 * those our own listeners accept (protocol/listener.ts keeps socket
 * placement and permissions ours), or any byte stream, such as a yamux
 * stream when broker connections are multiplexed.
 */
import { createServer as createHttp2Server, type Http2Server as NodeHttp2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { methodPath, type CallContext, type Metadata, type MethodDefinition, type ServiceDefinition, type ServiceImplementation } from '../definition.js';
import { Code, RpcError } from '../status.js';
import type { ServerOptions, TransportServer } from '../transport.js';
import { FlowQueue } from './flow-queue.js';
import { endWithMessage, MessageReader, writeMessage } from './grpc-frames.js';
import { GRPC_CONTENT_TYPE, metadataOf, parseTimeout, statusHeaders } from './grpc-headers.js';
import { MAX_MESSAGE_BYTES } from '../message-limit.js';
import { decodeMessage, encodeMessageParts } from '../codec.js';
import { ForwardedServices, type Forwarder } from '../forwarding.js';
import { SESSION_OPTIONS, widenConnectionWindow } from './session-options.js';

type AnyHandler = (input: any, ctx: CallContext) => any;

interface Route {
  method: MethodDefinition;
  handler: AnyHandler;
}

const RESPONSE_HEADERS = { ':status': 200, 'content-type': GRPC_CONTENT_TYPE } as const;

export class Http2GrpcServer implements TransportServer {
  private readonly routes = new Map<string, Route>();
  private readonly forwarded = new ForwardedServices<Route>((method, handler) => ({ method, handler: handler as AnyHandler }));
  private readonly http2: NodeHttp2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly listeners: NetServer[] = [];
  private readonly secure: TlsServer | undefined;

  constructor(private readonly options: ServerOptions = {}) {
    this.http2 = createHttp2Server(SESSION_OPTIONS);
    this.http2.on('session', (session: ServerHttp2Session) => {
      if (options.widenConnectionWindow) widenConnectionWindow(session);
      this.sessions.add(session);
      session.on('error', () => undefined);
      session.once('close', () => this.sessions.delete(session));
    });
    this.http2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.dispatch(stream, headers));
    this.secure = options.tls ? this.secureServer() : undefined;
  }

  addService<D extends ServiceDefinition>(definition: D, implementation: ServiceImplementation<D>): void {
    for (const [key, method] of Object.entries(definition.methods)) {
      const handler = (implementation as Record<string, AnyHandler>)[key];
      if (typeof handler !== 'function') throw new TypeError(`${definition.fullName}: no handler for ${method.name}`);
      this.routes.set(methodPath(definition, method), { method, handler: handler.bind(implementation) });
    }
  }

  addForwarding(service: string, forward: Forwarder): void {
    this.forwarded.add(service, forward);
  }

  /** A forwarded method's route, kept after its first call. */
  private forwardedRoute(path: string): Route | undefined {
    const route = this.forwarded.entry(path);
    if (route) this.routes.set(path, route);
    return route;
  }

  serve(listener: NetServer): void {
    this.listeners.push(listener);
    listener.on('connection', (socket: Duplex) => this.accept(socket));
  }

  /** Serves one connection: a socket, or any other byte stream (a yamux stream). */
  accept(connection: Duplex): void {
    if (this.secure) this.secure.emit('connection', connection);
    else this.http2.emit('connection', connection);
  }

  forceShutdown(): void {
    for (const listener of this.listeners) listener.close();
    for (const session of this.sessions) session.destroy();
    this.sessions.clear();
  }

  /**
   * Both sides present certificates and each accepts only the one it pinned,
   * as go-plugin does. The verdict is read here (`authorized`) rather than
   * left to rejectUnauthorized, which drops a wrong certificate silently.
   */
  private secureServer(): TlsServer {
    const material = this.options.tls as NonNullable<ServerOptions['tls']>;
    const refuse = (socket: TLSSocket, reason: string) => {
      socket.destroy();
      this.options.onRefusedConnection?.(reason);
    };
    return createTlsServer({ ca: material.ca, cert: material.cert, key: material.key, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'] })
      .on('tlsClientError', (err: Error, socket: TLSSocket) => refuse(socket, err.message))
      .on('secureConnection', (socket: TLSSocket) => {
        if (socket.authorized) this.http2.emit('connection', socket);
        else refuse(socket, `client certificate refused: ${String(socket.authorizationError ?? 'none presented')}`);
      });
  }

  private dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const path = String(headers[':path'] ?? '');
    if (headers[':method'] !== 'POST') return void respondHttp(stream, 405);
    if (!String(headers['content-type'] ?? '').startsWith(GRPC_CONTENT_TYPE)) return void respondHttp(stream, 415);
    const route = this.routes.get(path) ?? this.forwardedRoute(path);
    if (!route) return void endWithStatus(stream, new RpcError(Code.UNIMPLEMENTED, `unknown method ${path}`));
    if (headers['grpc-encoding'] !== undefined && headers['grpc-encoding'] !== 'identity') {
      return void endWithStatus(stream, new RpcError(Code.UNIMPLEMENTED, `compression ${String(headers['grpc-encoding'])} is not supported`));
    }
    new ServerCall(stream, headers, path, route).run();
  }
}

function respondHttp(stream: ServerHttp2Stream, status: number): void {
  if (!stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
}

/** A status with no messages before it: the trailers-only response, headers and end in one frame. */
function endWithStatus(stream: ServerHttp2Stream, error?: RpcError): void {
  if (stream.closed || stream.destroyed) return;
  if (!stream.headersSent) stream.respond({ ...RESPONSE_HEADERS, ...statusHeaders(error) }, { endStream: true });
  else sendStatus(stream, error);
}

/** Trailers after messages; the stream was answered with waitForTrailers. */
function sendStatus(stream: ServerHttp2Stream, error?: RpcError): void {
  if (stream.closed || stream.destroyed) return;
  const send = () => stream.sendTrailers(statusHeaders(error));
  if (stream.writableEnded) stream.once('wantTrailers', send);
  else {
    stream.once('wantTrailers', send);
    stream.end();
  }
}

/**
 * One call: the context its handler sees (the abort signal made only if the
 * handler asks for it), the requests read from the stream, the responses
 * written back, and exactly one status at the end.
 */
class ServerCall implements CallContext {
  private metadataSeen: Metadata | undefined;
  private controller: AbortController | undefined;
  private abortReason: RpcError | undefined;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    readonly method: string,
    private readonly route: Route,
  ) {
    const timeout = parseTimeout(headers['grpc-timeout']);
    if (timeout !== undefined) this.timer = setTimeout(() => this.expire(), timeout);
    stream.once('close', () => {
      if (this.timer) clearTimeout(this.timer);
      if (!this.finished) this.abort(new RpcError(Code.CANCELLED, `${method}: cancelled by the caller`));
    });
  }

  /** Read from the headers when the handler first asks: most never do. */
  get metadata(): Metadata {
    this.metadataSeen ??= metadataOf(this.headers);
    return this.metadataSeen;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  get peer(): string {
    const socket = this.stream.session?.socket;
    return socket?.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort ?? ''}` : 'local';
  }

  run(): void {
    const { method, handler } = this.route;
    const requests = this.requests();
    const input = method.requestStream ? requests : first(requests, this.method);
    Promise.resolve(input)
      .then((request) => handler(request, this))
      .then((result) => (method.responseStream ? this.writeAll(result as AsyncIterable<unknown>) : this.writeOne(result)))
      .then(
        () => this.finish(),
        (err: unknown) => this.finish(RpcError.from(err)),
      );
  }

  private abort(reason: RpcError): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** The deadline passed: the handler's signal aborts and the caller gets DEADLINE_EXCEEDED now. */
  private expire(): void {
    const error = new RpcError(Code.DEADLINE_EXCEEDED, `${this.method}: the deadline passed`);
    this.abort(error);
    this.finish(error);
  }

  /** The request messages as they arrive; the stream pauses while the handler does not read. */
  private requests(): FlowQueue<unknown> {
    const { requestType } = this.route.method;
    const queue = new FlowQueue<unknown>();
    // A handler that stops reading early may still answer: the rest of its requests are dropped.
    queue.controls(this.stream, () => this.stream.resume());
    const reader = new MessageReader(MAX_MESSAGE_BYTES, (m) => queue.push(decodeMessage(requestType, m)));
    this.stream.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        const error = RpcError.from(err);
        queue.fail(error);
        this.finish(error);
      }
    });
    this.stream.once('end', () => (reader.partial ? queue.fail(new RpcError(Code.INTERNAL, `${this.method}: the request ended inside a message`)) : queue.end()));
    this.stream.once('close', () => {
      if (!queue.isEnded) queue.fail(this.abortReason ?? new RpcError(Code.CANCELLED, `${this.method}: cancelled by the caller`));
    });
    return queue;
  }

  private writeOne(result: unknown): void {
    if (this.finished || this.stream.closed) return;
    const { responseType } = this.route.method;
    const bytes = encodeMessageParts(responseType, responseType.fromPartial(result ?? {}));
    this.settle();
    this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    this.stream.once('wantTrailers', () => this.stream.sendTrailers(statusHeaders()));
    endWithMessage(this.stream, bytes);
  }

  private async writeAll(responses: AsyncIterable<unknown>): Promise<void> {
    const { responseType } = this.route.method;
    for await (const response of responses) {
      if (this.finished || this.stream.closed) return;
      if (!this.stream.headersSent) this.stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      if (!writeMessage(this.stream, encodeMessageParts(responseType, responseType.fromPartial(response ?? {})))) await drained(this.stream);
    }
  }

  /** Ends the call with its one status; later endings are ignored. */
  private finish(error?: RpcError): void {
    if (this.finished) return;
    this.settle();
    if (error || !this.stream.headersSent) endWithStatus(this.stream, error);
    else sendStatus(this.stream);
  }

  private settle(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/** The single request of a unary or server-streaming call. */
async function first(requests: FlowQueue<unknown>, path: string): Promise<unknown> {
  const { value, done } = await requests.next();
  if (done) throw new RpcError(Code.UNIMPLEMENTED, `${path}: the request carried no message`);
  return value;
}

function drained(stream: ServerHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done).off('close', done);
      resolve();
    };
    stream.once('drain', done).once('close', done);
  });
}
