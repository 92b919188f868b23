/**
 * Typed clients over a grpc-js channel. One channel per connection; every
 * typed client made on it shares that channel.
 */
import * as grpc from '@grpc/grpc-js';
import {
  methodPath,
  type CallOptions,
  type Client,
  type ClientConnection,
  type MethodDefinition,
  type ServiceDefinition,
} from '../definition.js';
import { Code, RpcError } from '../status.js';
import type { Address, ErrorDescriber, TlsMaterial } from '../transport.js';
import { AsyncQueue } from '../async-queue.js';
import { channelOptions } from './options.js';
import { deserializer, serializer } from './codec.js';

export function grpcTarget(address: Address): string {
  return address.network === 'unix' ? `unix://${address.address}` : `ipv4:${address.address}`;
}

/** The longest single wait for a connection to come up; see ready(). */
const READY_SLICE_MS = 250;

export class GrpcJsConnection implements ClientConnection {
  private readonly channel: grpc.Client;
  private closed = false;
  private readonly describeError: ErrorDescriber;

  constructor(address: Address, options: { tls?: TlsMaterial; describeError?: ErrorDescriber } = {}) {
    const { tls } = options;
    const credentials = tls
      ? grpc.credentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert))
      : grpc.credentials.createInsecure();
    const serverName = tls?.serverName ?? 'localhost';
    this.channel = new grpc.Client(grpcTarget(address), credentials, {
      ...channelOptions,
      ...(tls ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
    });
    this.describeError = options.describeError ?? ((e) => e);
  }

  client<D extends ServiceDefinition>(definition: D): Client<D> {
    const client: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(definition.methods)) {
      client[key] = this.method(methodPath(definition, method), method);
    }
    return client as Client<D>;
  }

  /**
   * Waits in short slices: grpc-js keeps a pending wait's timer running after
   * close(), so one long wait would hold the process open for its whole
   * length after the dial was given up.
   */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const until = Math.min(deadline, Date.now() + READY_SLICE_MS);
      const err = await new Promise<Error | undefined>((resolve) => this.channel.waitForReady(until, (e) => resolve(e)));
      if (!err) return;
      if (this.closed) throw new Error('the connection was closed before it was ready');
      if (Date.now() >= deadline) throw err;
    }
  }

  close(): void {
    this.closed = true;
    this.channel.close();
  }

  private method(path: string, method: MethodDefinition): (input: any, options?: CallOptions) => unknown {
    const serialize = serializer(method.requestType);
    const deserialize = deserializer(method.responseType);
    const toRequest = (r: unknown) => method.requestType.fromPartial(r ?? {});
    const fail = (err: unknown) => Promise.resolve(this.describeError(toRpcError(err, path), path));
    const ch = this.channel;

    if (!method.requestStream && !method.responseStream) {
      return (request, options) =>
        new Promise((resolve, reject) => {
          const call = ch.makeUnaryRequest(path, serialize, deserialize, toRequest(request), toMetadata(options), callOptions(options), (err, res) =>
            err ? fail(err).then(reject) : resolve(res),
          );
          cancelOnAbort(call, options?.signal);
        });
    }
    if (!method.requestStream) {
      return (request, options) => {
        const call = ch.makeServerStreamRequest(path, serialize, deserialize, toRequest(request), toMetadata(options), callOptions(options));
        cancelOnAbort(call, options?.signal);
        return readStream(call, fail);
      };
    }
    if (!method.responseStream) {
      return (requests: AsyncIterable<unknown> | Iterable<unknown>, options) =>
        new Promise((resolve, reject) => {
          const call = ch.makeClientStreamRequest(path, serialize, deserialize, toMetadata(options), callOptions(options), (err, res) =>
            err ? fail(err).then(reject) : resolve(res),
          );
          cancelOnAbort(call, options?.signal);
          void pump(requests, call, toRequest);
        });
    }
    return (requests: AsyncIterable<unknown> | Iterable<unknown>, options) => {
      const call = ch.makeBidiStreamRequest(path, serialize, deserialize, toMetadata(options), callOptions(options));
      cancelOnAbort(call, options?.signal);
      void pump(requests, call, toRequest);
      return readStream(call, fail);
    };
  }
}

function toMetadata(options?: CallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(options?.metadata ?? {})) md.set(k, v);
  return md;
}

function callOptions(options?: CallOptions): grpc.CallOptions {
  const d = options?.deadline;
  if (d === undefined) return {};
  return { deadline: d instanceof Date ? d : Date.now() + d };
}

function cancelOnAbort(call: grpc.Call, signal?: AbortSignal): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', () => call.cancel(), { once: true });
}

/** Writes requests with backpressure, then half-closes; stops if the call dies. */
async function pump(
  requests: AsyncIterable<unknown> | Iterable<unknown>,
  call: grpc.ClientWritableStream<any> | grpc.ClientDuplexStream<any, any>,
  toRequest: (r: unknown) => unknown,
): Promise<void> {
  let finished = false;
  const stop = () => (finished = true);
  call.once('error', stop);
  call.once('close', stop);
  try {
    for await (const r of requests) {
      if (finished) break;
      if (!call.write(toRequest(r))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            call.off('close', done);
            resolve();
          };
          call.once('drain', done);
          call.once('close', done);
        });
      }
    }
    if (!finished) call.end();
  } catch (err) {
    // The request source failed: cancel the call so the peer is not left waiting.
    call.cancel();
  }
}

function readStream<T>(
  call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<any, T>,
  fail: (e: unknown) => Promise<Error>,
): AsyncIterable<T> {
  const queue = new AsyncQueue<T>();
  let abandoned = false;
  let failed = false;
  call.on('data', (m: T) => queue.push(m));
  // grpc-js ends the readable before it emits the error status; the error must win.
  call.on('end', () => {
    if (!failed) queue.end();
  });
  call.on('error', (err) => {
    // The reader stopping early cancels the call; that is an end, not a failure.
    if (abandoned) return queue.end();
    failed = true;
    void fail(err).then((e) => queue.fail(e));
  });
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => queue.next(),
      return: () => {
        abandoned = true;
        call.cancel();
        return queue.return();
      },
    }),
  };
}

function toRpcError(err: unknown, path: string): RpcError {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code === 'number') return new RpcError(e.code as number as Code, `${path}: ${e.details ?? e.message ?? ''}`, { cause: err });
  return new RpcError(Code.UNKNOWN, `${path}: ${String((err as Error)?.message ?? err)}`, { cause: err });
}
