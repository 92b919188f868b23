/**
 * The one place each host operation declares what it needs: the capability
 * it exercises and the resource it touches. The dispatcher reads these to
 * log, audit and (with a policy) authorize every call before its handler runs,
 * so handlers never check permissions themselves.
 */
import type { RequestOf, ServiceDefinition, ServiceImplementation } from '../rpc/definition.js';
import { capabilityKinds, defineCapabilityKind, INTROSPECTION_KINDS, type AppCapabilityStyle } from '../security/capability.js';
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
  /**
   * Capability kinds of the application's own that the operations use
   * (hst's kinds need no declaration): `flag` for all-or-nothing, `glob`
   * for a pattern matched against the operation's resource.
   */
  capabilities?: Record<string, AppCapabilityStyle>;
}

/**
 * Checks a set of modules before anything is served: one module per
 * service, and every operation's capability a kind that hst or the module
 * defines. Defines the modules' own kinds, so manifests may ask for them.
 * Throws one line naming the service, the operation and the kind.
 */
export function admitModules(modules: readonly HostServiceModule<any>[]): void {
  const seen = new Set<string>();
  for (const module of modules) {
    const service = module.definition.fullName;
    if (seen.has(service)) throw new Error(`host service ${service} is registered twice`);
    seen.add(service);
    for (const [kind, style] of Object.entries(module.capabilities ?? {})) {
      try {
        defineCapabilityKind(kind, style);
      } catch (err) {
        throw new Error(`host service ${service}: ${(err as Error).message}`);
      }
    }
    const known = new Set(capabilityKinds());
    for (const [operation, spec] of Object.entries(module.operations as Record<string, OperationSpec<unknown>>)) {
      if (!Object.hasOwn(module.definition.methods, operation)) throw new Error(`host service ${service}: operation ${operation} is not a method of the service`);
      if (!known.has(spec.capability) && !INTROSPECTION_KINDS.includes(spec.capability)) {
        throw new Error(`host service ${service}: operation ${operation} uses capability ${JSON.stringify(spec.capability)}, which neither hst nor the module defines (add it to the module's capabilities)`);
      }
    }
    for (const method of Object.keys(module.definition.methods)) {
      if (!Object.hasOwn(module.operations, method)) throw new Error(`host service ${service}: method ${method} has no operation spec (its capability and resource)`);
    }
  }
}

/** Identity function that checks a module's types in one place. */
export function hostService<D extends ServiceDefinition>(module: HostServiceModule<D>): HostServiceModule<D> {
  return module;
}
