/**
 * Runs transport-independent service implementations on native sessions.
 * A NativeServer is a table of handlers by method path; a session serves it
 * on a channel (session.accept(channel, server.acceptor())).
 */
import type { Server as NetServer } from 'node:net';
import { methodPath, type CallContext, type Metadata, type MethodDefinition, type ServiceDefinition, type ServiceImplementation } from '../definition.js';
import { Code, RpcError } from '../status.js';
import type { TransportServer } from '../transport.js';
import { decodeMessage, encodeMessageParts } from '../codec.js';
import { Inbox } from './inbox.js';
import type { OpenHeader } from './payloads.js';
import { ForwardedServices, type Forwarder } from '../forwarding.js';
import type { Stream, StreamAcceptor, StreamSink } from './session.js';
import { REFERENCE_PART_BYTES, type Payload } from './frame.js';

type AnyHandler = (input: any, ctx: CallContext) => any;

interface Entry {
  method: MethodDefinition;
  handler: AnyHandler;
}

const NO_METADATA: Metadata = Object.freeze({}) as Metadata;

export class NativeServer implements TransportServer {
  private readonly entries = new Map<string, Entry>();
  private readonly forwarded = new ForwardedServices<Entry>((method, handler) => ({ method, handler: handler as AnyHandler }));
  private readonly undo: Array<() => void> = [];

  addService<D extends ServiceDefinition>(definition: D, implementation: ServiceImplementation<D>): void {
    for (const [key, method] of Object.entries(definition.methods)) {
      const handler = (implementation as Record<string, AnyHandler>)[key];
      if (typeof handler !== 'function') throw new TypeError(`${definition.fullName}: no handler for ${method.name}`);
      this.entries.set(methodPath(definition, method), { method, handler: handler.bind(implementation) });
    }
  }

  addForwarding(service: string, forward: Forwarder): void {
    this.forwarded.add(service, forward);
  }

  /** A forwarded method's entry, kept after its first call. */
  private forwardedEntry(path: string): Entry | undefined {
    const entry = this.forwarded.entry(path);
    if (entry) this.entries.set(path, entry);
    return entry;
  }

  acceptor(): StreamAcceptor {
    return (stream, header) => {
      const entry = this.entries.get(header.path) ?? this.forwardedEntry(header.path);
      if (!entry) {
        stream.finish(Code.UNIMPLEMENTED, `The server does not implement the method ${header.path}`);
        return IGNORE;
      }
      return serverCall(stream, header, entry);
    };
  }

  /** Remembers how to stop serving (a channel on a session); forceShutdown undoes them all. */
  onShutdown(undo: () => void): void {
    this.undo.push(undo);
  }

  /** Native servers are served on sessions, never on listeners. */
  serve(_listener: NetServer): void {
    throw new Error('native transport: a NativeServer is served on a session, not a listener');
  }

  forceShutdown(): void {
    for (const u of this.undo.splice(0)) u();
  }
}

const IGNORE: StreamSink = { message() {}, remoteEnd() {}, status() {}, cancel() {} };

/**
 * What a handler sees of its call. The AbortController is made only when a
 * handler reads `signal`: most never do, and one per call is measurable.
 */
class NativeCallContext implements CallContext {
  private controller: AbortController | undefined;
  private abortedWith: RpcError | undefined;

  constructor(
    readonly metadata: Metadata,
    readonly peer: string,
    readonly method: string,
  ) {}

  get signal(): AbortSignal {
    if (this.abortedWith && !this.controller) return AbortSignal.abort(this.abortedWith);
    return (this.controller ??= new AbortController()).signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  abort(reason: RpcError): void {
    if (this.abortedWith) return;
    this.abortedWith = reason;
    this.controller?.abort(reason);
  }
}

function serverCall(stream: Stream, header: OpenHeader, { method, handler }: Entry): StreamSink {
  const ctx = new NativeCallContext(header.metadata ?? NO_METADATA, stream.session.peer, header.path);
  const { requestType, responseType } = method;
  const encode = (response: unknown) => encodeMessageParts(responseType, responseType.fromPartial(response ?? {}), REFERENCE_PART_BYTES);
  let timer: NodeJS.Timeout | undefined;
  const finish = (code: Code, details: string) => {
    if (timer) clearTimeout(timer);
    stream.finish(code, details);
  };
  const fail = (err: unknown) => {
    if (stream.done) return;
    const e = RpcError.from(err);
    finish(e.code, e.details);
  };
  const reply = (response: unknown) => {
    if (stream.done) return;
    let bytes: Payload;
    try {
      bytes = encode(response);
    } catch (err) {
      return fail(err);
    }
    stream.send(bytes);
    finish(Code.OK, '');
  };
  const streamOut = (responses: AsyncIterable<unknown>) =>
    stream.sendAll(responses, encode, () => ctx.aborted).then(() => finish(Code.OK, ''), fail);
  if (header.timeoutMs > 0) {
    timer = setTimeout(() => {
      ctx.abort(new RpcError(Code.DEADLINE_EXCEEDED, `${header.path}: deadline exceeded`));
      stream.finish(Code.DEADLINE_EXCEEDED, 'Deadline exceeded');
    }, header.timeoutMs);
  }

  if (!method.requestStream) {
    let request: unknown;
    let received = false;
    return {
      message(bytes) {
        if (received) return fail(new RpcError(Code.INTERNAL, `${header.path}: more than one request for a unary method`));
        try {
          request = decodeMessage(requestType, bytes);
          received = true;
        } catch (err) {
          fail(new RpcError(Code.INTERNAL, `${header.path}: request could not be decoded: ${(err as Error).message}`));
        }
      },
      remoteEnd() {
        if (stream.done) return;
        if (!received) return fail(new RpcError(Code.INTERNAL, `${header.path}: the caller sent no request`));
        if (method.responseStream) {
          Promise.resolve()
            .then(() => streamOut(handler(request, ctx)))
            .catch(fail);
          return;
        }
        let result: unknown;
        try {
          result = handler(request, ctx);
        } catch (err) {
          return fail(err);
        }
        if (result !== null && typeof (result as Promise<unknown>)?.then === 'function') (result as Promise<unknown>).then(reply, fail);
        else reply(result);
      },
      status() {},
      cancel(error) {
        if (timer) clearTimeout(timer);
        ctx.abort(error);
      },
    };
  }

  const requests = new Inbox<unknown>(stream);
  Promise.resolve()
    .then(() => (method.responseStream ? streamOut(handler(requests, ctx)) : Promise.resolve(handler(requests, ctx)).then(reply)))
    .catch(fail);
  return {
    message(bytes, credit) {
      let value: unknown;
      try {
        value = decodeMessage(requestType, bytes);
      } catch (err) {
        return fail(new RpcError(Code.INTERNAL, `${header.path}: request could not be decoded: ${(err as Error).message}`));
      }
      requests.push(value, credit);
    },
    remoteEnd: () => requests.end(),
    status() {},
    cancel(error) {
      if (timer) clearTimeout(timer);
      ctx.abort(error);
      requests.fail(error);
    },
  };
}
