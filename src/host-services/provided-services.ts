/**
 * Services one plugin provides to another (`provides:` / `requires:`),
 * relayed by the host: the consumer calls the service on its own connection
 * to the host, as it calls host services, and the host forwards each call to
 * the provider's connection. Identity is the connection the call came in on;
 * the policy decides each call (capability `service`, resource
 * `<full.Service.Name>/<Method>`, which a manifest's `requires:` grants) and
 * the audit log records it, like any host call.
 */
import type { CallContext } from '../rpc/definition.js';
import { rawService } from '../rpc/forwarding.js';
import type { HostServiceModule } from './operation.js';

/** Opens one call of `method` on the service's provider, wherever it runs now. */
export type Relay = (method: string, requests: AsyncIterable<Uint8Array>, ctx: CallContext) => AsyncIterable<Uint8Array>;

/** The services relayed to one consumer: full service name -> its relay. */
export type RelayedServices = ReadonlyMap<string, Relay>;

/** One method of a relayed service as a host-service module, so the dispatcher's policy and audit apply. */
export function relayModule(service: string, method: string, relay: Relay): HostServiceModule<any> {
  return {
    definition: rawService(service, method),
    operations: { [method]: { capability: 'service', resource: () => `${service}/${method}` } },
    // Raw bytes both ways (rawService): the requests are the consumer's encoded messages.
    create: () => ({ [method]: (requests: AsyncIterable<unknown>, ctx: CallContext) => relay(method, requests as AsyncIterable<Uint8Array>, ctx) }),
  };
}

/** What `requires:` grants: every method of each required service. */
export function requiredServiceGrants(requires: readonly string[]): string[] {
  return requires.map((service) => `service:${service}/*`);
}
