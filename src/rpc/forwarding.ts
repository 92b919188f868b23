/**
 * Calls forwarded without knowing their types: the host relays a plugin's
 * call of a service another plugin provides. On the wire every gRPC call is
 * the same: messages one way, messages the other, a status; so a relay can
 * treat each as bidirectional streaming over the messages' encoded bytes,
 * and unary, client- and server-streaming calls all pass through unchanged.
 */
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { CallContext, MessageType, MethodDefinition, ServiceDefinition } from './definition.js';

/** A message that is its own encoding. Decoding copies: a transport may reuse the buffer a message arrived in. */
const RAW: MessageType<Uint8Array> = {
  encode: (message: Uint8Array) => ({ finish: () => message }) as unknown as BinaryWriter,
  decode: (input: Uint8Array) => input.slice(),
  fromPartial: (object: unknown) => (object instanceof Uint8Array ? object : new Uint8Array(0)),
};

/** `/<service>/<method>` as a bidirectional method over raw bytes. */
export function rawMethod(name: string): MethodDefinition {
  return { name, requestType: RAW, requestStream: true, responseType: RAW, responseStream: true };
}

/** A one-method definition for calling `/<service>/<method>` with raw bytes. */
export function rawService(service: string, method: string): ServiceDefinition {
  return { name: service.split('.').pop() ?? service, fullName: service, methods: { [method]: rawMethod(method) } };
}

/** Relays one call: the request messages in, the response messages out, the status as the relay's own. */
export type ForwardHandler = (requests: AsyncIterable<Uint8Array>, ctx: CallContext) => AsyncIterable<Uint8Array>;

/** Makes the handler for one method of a forwarded service, by the method's name. */
export type Forwarder = (method: string) => ForwardHandler;

/** `/a.b.v1.Service/Method` -> its service and method, or undefined for anything else. */
export function splitPath(path: string): { service: string; method: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m ? { service: m[1] as string, method: m[2] as string } : undefined;
}

/**
 * The services a server forwards, by name, and each method's entry made at
 * its first call (both servers keep one; `make` builds their own entry type).
 */
export class ForwardedServices<E> {
  private readonly services = new Map<string, Forwarder>();

  constructor(private readonly make: (method: MethodDefinition, handler: ForwardHandler) => E) {}

  add(service: string, forward: Forwarder): void {
    this.services.set(service, forward);
  }

  /** The entry for `path` when its service is forwarded, else undefined. */
  entry(path: string): E | undefined {
    const at = splitPath(path);
    const forward = at && this.services.get(at.service);
    return at && forward ? this.make(rawMethod(at.method), forward(at.method)) : undefined;
  }
}
