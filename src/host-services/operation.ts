/**
 * The one place each host operation declares what it needs: the capability
 * it exercises and the resource it touches. The dispatcher reads these to
 * log, audit and (with a policy) authorize every call before its handler runs,
 * so handlers never check permissions themselves.
 */
import type { RequestOf, ServiceDefinition, ServiceImplementation } from '../rpc/definition.js';
import type { Caller } from './caller.js';
import type { HostContext } from './host-context.js';

export interface OperationSpec<Req> {
  /**
   * The capability family, e.g. `fs.read`, `fs.write`, `env`, `exec`,
   * `process.spawn`, `kv`, `temp`, `system`, `events.publish`, `events.subscribe`, `log`.
   */
  capability: string;
  /** When the capability depends on the request (a read-only open needs only fs.read). */
  capabilityFor?: (request: Req) => string;
  /**
   * The resource in the capability's terms (a path, a variable, a topic...),
   * resolved as the handler will use it (e.g. the absolute program path).
   * For client streams, from the first message. Operations on two paths
   * (rename, copy) give both: each must be allowed.
   */
  resource?: (request: Req, scope: { caller: Caller; host: HostContext }) => string | string[];
}

export type OperationTable<D extends ServiceDefinition> = {
  [K in keyof D['methods']]: OperationSpec<RequestOf<D['methods'][K]>>;
};

/** A host-services domain: its service, its operation table, and its handlers per caller. */
export interface HostServiceModule<D extends ServiceDefinition = ServiceDefinition> {
  definition: D;
  operations: OperationTable<D>;
  /** Handlers bound to one plugin; `host` holds what all plugins share. */
  create(caller: Caller, host: HostContext): ServiceImplementation<D>;
}

/** Identity function that checks a module's types in one place. */
export function hostService<D extends ServiceDefinition>(module: HostServiceModule<D>): HostServiceModule<D> {
  return module;
}
