/**
 * Transport-independent service types. Generated code (ts-proto's generic
 * definitions) describes each service as data; handlers and clients are typed
 * from that description alone, so the same handler runs on any transport.
 */
import type { BinaryWriter } from '@bufbuild/protobuf/wire';

/** What generated message objects offer: binary codec plus partial construction. */
export interface MessageType<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: Uint8Array, length?: number): T;
  fromPartial(object: any): T;
}

export interface MethodDefinition {
  readonly name: string;
  readonly requestType: MessageType<any>;
  readonly requestStream: boolean;
  readonly responseType: MessageType<any>;
  readonly responseStream: boolean;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly fullName: string;
  readonly methods: { readonly [key: string]: MethodDefinition };
}

export type RequestOf<M extends MethodDefinition> = M['requestType'] extends MessageType<infer T> ? T : never;
export type ResponseOf<M extends MethodDefinition> = M['responseType'] extends MessageType<infer T> ? T : never;

/** Messages may be given with fields left out; they take their proto3 defaults. */
export type DeepPartial<T> = T extends Uint8Array | string | number | boolean | bigint | undefined | Date
  ? T
  : T extends ReadonlyArray<infer U>
    ? ReadonlyArray<DeepPartial<U>>
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

export type Metadata = Record<string, string>;

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Aborted when the caller cancels or the connection goes away. */
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  /** Transport-level peer description, for logs only: never an identity. */
  readonly peer: string;
  /** `/package.Service/Method`. */
  readonly method: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Milliseconds from now, or an absolute Date. */
  deadline?: number | Date;
  metadata?: Metadata;
}

type Awaitable<T> = T | Promise<T>;

export type MethodHandler<M extends MethodDefinition> = M['requestStream'] extends true
  ? M['responseStream'] extends true
    ? (requests: AsyncIterable<RequestOf<M>>, ctx: CallContext) => AsyncIterable<DeepPartial<ResponseOf<M>>>
    : (requests: AsyncIterable<RequestOf<M>>, ctx: CallContext) => Awaitable<DeepPartial<ResponseOf<M>>>
  : M['responseStream'] extends true
    ? (request: RequestOf<M>, ctx: CallContext) => AsyncIterable<DeepPartial<ResponseOf<M>>>
    : (request: RequestOf<M>, ctx: CallContext) => Awaitable<DeepPartial<ResponseOf<M>>>;

/** One handler per method of the service, keyed as in the generated definition. */
export type ServiceImplementation<D extends ServiceDefinition> = {
  [K in keyof D['methods']]: MethodHandler<D['methods'][K]>;
};

export type ClientMethod<M extends MethodDefinition> = M['requestStream'] extends true
  ? M['responseStream'] extends true
    ? (requests: AsyncIterable<DeepPartial<RequestOf<M>>> | Iterable<DeepPartial<RequestOf<M>>>, options?: CallOptions) => AsyncIterable<ResponseOf<M>>
    : (requests: AsyncIterable<DeepPartial<RequestOf<M>>> | Iterable<DeepPartial<RequestOf<M>>>, options?: CallOptions) => Promise<ResponseOf<M>>
  : M['responseStream'] extends true
    ? (request: DeepPartial<RequestOf<M>>, options?: CallOptions) => AsyncIterable<ResponseOf<M>>
    : (request: DeepPartial<RequestOf<M>>, options?: CallOptions) => Promise<ResponseOf<M>>;

/** A typed client: one method per RPC of the service. */
export type Client<D extends ServiceDefinition> = {
  [K in keyof D['methods']]: ClientMethod<D['methods'][K]>;
};

export function methodPath(service: ServiceDefinition, method: MethodDefinition): string {
  return `/${service.fullName}/${method.name}`;
}

/** A typed client whose every method a transport makes from the method's path and definition. */
export function typedClient<D extends ServiceDefinition>(definition: D, make: (path: string, method: MethodDefinition) => unknown): Client<D> {
  const client: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) client[key] = make(methodPath(definition, method), method);
  return client as Client<D>;
}

/** Something services can be added to: a server, or a broker listener. */
export interface ServiceRegistrar {
  addService<D extends ServiceDefinition>(definition: D, implementation: ServiceImplementation<D>): void;
  /** Serves every method of `service` through `forward` (src/rpc/forwarding.ts), its types unknown here. */
  addForwarding?(service: string, forward: import('./forwarding.js').Forwarder): void;
}

/** A connection typed clients are made on. */
export interface ClientConnection {
  client<D extends ServiceDefinition>(definition: D): Client<D>;
  /** Connects now rather than on the first call; rejects if that fails within timeoutMs. */
  ready(timeoutMs: number): Promise<void>;
  close(): void;
}
