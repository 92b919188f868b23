/**
 * Runs transport-independent service implementations on a grpc-js server.
 * Listeners are ours (see protocol/listener.ts): grpc-js only gets the
 * accepted connections, which keeps socket placement, permissions and the
 * port scan under our control and lets other byte streams be served later.
 */
import * as grpc from '@grpc/grpc-js';
import type { Server as NetServer, Socket } from 'node:net';
import { once } from 'node:events';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import {
  methodPath,
  type CallContext,
  type MethodDefinition,
  type ServiceDefinition,
  type ServiceImplementation,
  type Metadata,
} from '../definition.js';
import { RpcError } from '../status.js';
import type { ServerOptions, TlsMaterial, TransportServer } from '../transport.js';
import { channelOptions } from './options.js';
import { deserializer, serializer } from './codec.js';

type AnyHandler = (input: any, ctx: CallContext) => any;

/**
 * With TLS, the handshake is done here, by a node:tls server that never
 * listens but is handed each accepted socket, rather than by grpc-js: so a
 * connection refused for its certificate is seen (and reported through
 * onRefusedConnection) instead of vanishing inside http2. grpc-js then gets
 * the verified stream as an ordinary connection.
 */
export class GrpcJsServer implements TransportServer {
  private readonly server = new grpc.Server(channelOptions);
  private readonly tls: TlsMaterial | undefined;
  private readonly injectors: grpc.ConnectionInjector[] = [];
  private readonly listeners: NetServer[] = [];

  constructor(private readonly options: ServerOptions = {}) {
    this.tls = options.tls;
  }

  addService<D extends ServiceDefinition>(definition: D, implementation: ServiceImplementation<D>): void {
    const service: Record<string, grpc.MethodDefinition<any, any>> = {};
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [key, method] of Object.entries(definition.methods)) {
      const handler = (implementation as Record<string, AnyHandler>)[key];
      if (typeof handler !== 'function') {
        throw new TypeError(`${definition.fullName}: no handler for ${method.name}`);
      }
      const path = methodPath(definition, method);
      service[key] = {
        path,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
        requestSerialize: serializer(method.requestType),
        requestDeserialize: deserializer(method.requestType),
        responseSerialize: serializer(method.responseType),
        responseDeserialize: deserializer(method.responseType),
        originalName: method.name,
      };
      handlers[key] = adaptHandler(method, path, handler.bind(implementation));
    }
    this.server.addService(service, handlers);
  }

  serve(listener: NetServer): void {
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injectors.push(injector);
    this.listeners.push(listener);
    if (!this.tls) {
      listener.on('connection', (socket: Socket) => injector.injectConnection(socket));
      return;
    }
    const tls = this.secureServer(this.tls, (secure) => injector.injectConnection(secure));
    listener.on('connection', (socket: Socket) => tls.emit('connection', socket));
  }

  /**
   * Both sides present certificates and each accepts only the one it pinned,
   * as go-plugin does. The verdict is read here (`authorized`) rather than
   * left to rejectUnauthorized, which drops a wrong certificate silently.
   */
  private secureServer(material: TlsMaterial, accept: (socket: TLSSocket) => void): TlsServer {
    const refuse = (socket: TLSSocket, reason: string) => {
      socket.destroy();
      this.options.onRefusedConnection?.(reason);
    };
    return createTlsServer({ ca: material.ca, cert: material.cert, key: material.key, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'] })
      .on('tlsClientError', (err: Error, socket: TLSSocket) => refuse(socket, err.message))
      .on('secureConnection', (socket: TLSSocket) => {
        if (socket.authorized) accept(socket);
        else refuse(socket, `client certificate refused: ${String(socket.authorizationError ?? 'none presented')}`);
      });
  }

  forceShutdown(): void {
    for (const l of this.listeners) l.close();
    for (const i of this.injectors) i.destroy();
    this.server.forceShutdown();
  }
}

/** The part of every grpc-js server call that a handler context needs. */
interface AnyServerCall {
  readonly metadata: grpc.Metadata;
  getPeer(): string;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}

function contextFor(call: AnyServerCall, path: string): { ctx: CallContext; done: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort(new RpcError(1, `${path}: cancelled by the caller`));
  call.on('cancelled', abort);
  const metadata: Metadata = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) {
    metadata[k] = typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('base64');
  }
  const ctx: CallContext = { signal: controller.signal, metadata, peer: call.getPeer(), method: path };
  return { ctx, done: () => call.off('cancelled', abort) };
}

function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const e = RpcError.from(err);
  return { code: e.code as number as grpc.status, details: e.details };
}

async function writeAll(
  call: grpc.ServerWritableStream<any, any> | grpc.ServerDuplexStream<any, any>,
  responses: AsyncIterable<unknown>,
  method: MethodDefinition,
  signal: AbortSignal,
): Promise<void> {
  for await (const response of responses) {
    if (signal.aborted) return;
    if (!call.write(method.responseType.fromPartial(response))) {
      // `signal` removes the abort listener again when drain wins.
      await once(call, 'drain', { signal }).catch(() => undefined);
    }
  }
}

function readAll<T>(call: grpc.ServerReadableStream<T, any> | grpc.ServerDuplexStream<T, any>): AsyncIterable<T> {
  // Readable streams are async iterables; an aborted call ends iteration with an error.
  return call as AsyncIterable<T>;
}

function adaptHandler(method: MethodDefinition, path: string, handler: AnyHandler): grpc.UntypedHandleCall {
  if (!method.requestStream && !method.responseStream) {
    return (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
      const { ctx, done } = contextFor(call, path);
      Promise.resolve()
        .then(() => handler(call.request, ctx))
        .then(
          (res) => callback(null, method.responseType.fromPartial(res ?? {})),
          (err) => callback(toServiceError(err)),
        )
        .finally(done);
    };
  }
  if (!method.requestStream) {
    return (call: grpc.ServerWritableStream<any, any>) => {
      const { ctx, done } = contextFor(call, path);
      // A handler may throw before it returns its stream: that is the call's status too.
      Promise.resolve()
        .then(() => writeAll(call, handler(call.request, ctx), method, ctx.signal))
        .then(() => call.end(), (err) => call.emit('error', toServiceError(err)))
        .finally(done);
    };
  }
  if (!method.responseStream) {
    return (call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) => {
      const { ctx, done } = contextFor(call, path);
      Promise.resolve()
        .then(() => handler(readAll(call), ctx))
        .then(
          (res) => callback(null, method.responseType.fromPartial(res ?? {})),
          (err) => callback(toServiceError(err)),
        )
        .finally(done);
    };
  }
  return (call: grpc.ServerDuplexStream<any, any>) => {
    const { ctx, done } = contextFor(call, path);
    Promise.resolve()
      .then(() => writeAll(call, handler(readAll(call), ctx), method, ctx.signal))
      .then(() => call.end(), (err) => call.emit('error', toServiceError(err)))
      .finally(done);
  };
}
