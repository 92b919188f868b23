/**
 * Wraps every handler of a host service with what each call must have: a
 * request id, the caller's identity, the declared capability and resource,
 * authorization, error mapping that names the operation and resource, and
 * one record per call with its duration.
 */
import type { CallContext, MethodDefinition, ServiceDefinition, ServiceImplementation } from '../rpc/definition.js';
import { isRpcError, RpcError } from '../rpc/status.js';
import type { Caller } from './caller.js';
import { DeniedError, toRpcError } from './errors.js';
import { enterCall } from './call-scope.js';
import { nextRequestId } from './request-id.js';
import type { HostContext } from './host-context.js';
import type { HostServiceModule, OperationSpec } from './operation.js';

/** Metadata key a plugin may set to name itself; only ever logged as a claim. */
export const CLAIMED_CLIENT_ID_HEADER = 'x-hst-client-id';

export interface CallRecord {
  clientId: string;
  owner: string;
  requestId: string;
  /** `Service/Method`, e.g. `Filesystem/ReadFile`. */
  operation: string;
  capability: string;
  resource: string;
  /** The policy rule that allowed or denied the call, when a policy decided. */
  rule?: string;
  durationUs: number;
  ok: boolean;
  error?: string;
  code?: number;
  /** A client id the plugin claimed in metadata, when it differs from the real one. */
  claimedClientId?: string;
}

export interface Decision {
  caller: Caller;
  operation: string;
  capability: string;
  /** All resources joined for messages and records. */
  resource: string;
  /** Each resource the call touches; every one must be allowed. */
  resources: string[];
  requestId: string;
}

/**
 * Throws (PERMISSION_DENIED, ideally with a `rule`) to refuse a call, or
 * returns the rule that allowed it; without one every call is allowed.
 */
export type Authorizer = (decision: Decision) => void | { rule?: string } | Promise<void | { rule?: string }>;

export interface DispatchHooks {
  authorize?: Authorizer;
  record(record: CallRecord): void;
}

type AnyHandler = (input: any, ctx: CallContext) => any;

/** A call let through: `finish` records it, and maps an error to what the plugin is told. */
interface Started {
  finish(err?: unknown): RpcError | undefined;
}

export function dispatch<D extends ServiceDefinition>(
  module: HostServiceModule<D>,
  implementation: ServiceImplementation<D>,
  scope: { caller: Caller; host: HostContext },
  hooks: DispatchHooks,
): ServiceImplementation<D> {
  const wrapped: Record<string, AnyHandler> = {};
  for (const [key, method] of Object.entries(module.definition.methods)) {
    const spec = (module.operations as Record<string, OperationSpec<unknown>>)[key];
    if (!spec) throw new Error(`${module.definition.fullName}/${method.name} declares no capability`);
    const handler = ((implementation as Record<string, AnyHandler>)[key] as AnyHandler).bind(implementation);
    wrapped[key] = wrap(`${module.definition.name}/${method.name}`, method, spec, handler, scope, hooks);
  }
  return wrapped as ServiceImplementation<D>;
}

function wrap(
  operation: string,
  method: MethodDefinition,
  spec: OperationSpec<unknown>,
  handler: AnyHandler,
  scope: { caller: Caller; host: HostContext },
  hooks: DispatchHooks,
): AnyHandler {
  const { caller } = scope;
  /** Everything before the handler runs. Synchronous unless the authorizer answers with a promise: an await per call is measurable. */
  const begin = (request: unknown, ctx: CallContext): Started | Promise<Started> => {
    const started = process.hrtime.bigint();
    const requestId = nextRequestId();
    let resources: string[] = [];
    // The policy judges a request whose resource cannot be named as '<invalid>'. One the operation refused
    // with a status of its own (a module's validation) never reaches its handler, even where a policy allows that.
    let unnamed: RpcError | undefined;
    try {
      const r = spec.resource?.(request, scope) ?? '';
      resources = typeof r === 'string' ? [r] : r;
    } catch (err) {
      resources = ['<invalid>'];
      if (isRpcError(err)) unnamed = RpcError.from(err);
    }
    const resource = resources.length === 1 ? (resources[0] as string) : resources.join(' -> ');
    const capability = spec.capabilityFor?.(request) ?? spec.capability;
    let rule: string | undefined;
    const claimed = ctx.metadata[CLAIMED_CLIENT_ID_HEADER];
    const finish = (err?: unknown) => {
      const e = err === undefined ? undefined : toRpcError(err, operation, resource);
      // A refusal inside the call (a symlink, a redirect hop) is decided by its own rule.
      if (e instanceof DeniedError) rule = e.rule;
      const record: CallRecord = {
        clientId: caller.clientId,
        owner: caller.owner,
        requestId,
        operation,
        capability,
        resource,
        durationUs: Number((process.hrtime.bigint() - started) / 1000n),
        ok: !e,
      };
      if (rule) record.rule = rule;
      if (e) {
        record.error = e.details;
        record.code = e.code;
      }
      if (claimed && claimed !== caller.clientId) record.claimedClientId = claimed;
      hooks.record(record);
      return e;
    };
    if (caller.isDisconnected) throw finish(new RpcError(14, `${operation}: the plugin is disconnected`));
    // The policy's refusal stands (PERMISSION_DENIED, as the attack corpus expects), saying what was wrong with the request.
    const refused = (err: unknown) =>
      finish(unnamed && err instanceof DeniedError ? new DeniedError(`${err.details} (${unnamed.details})`, err.rule) : err);
    const allowed = (verdict: void | { rule?: string }): Started => {
      rule = verdict?.rule;
      if (unnamed) throw finish(unnamed);
      // The call's scope rides on its context: a symlink met deep in the handler is checked against it.
      enterCall(ctx, { operation, capability });
      return { finish };
    };
    let verdict: ReturnType<Authorizer> | undefined;
    try {
      verdict = hooks.authorize?.({ caller, operation, capability, resource, resources, requestId });
    } catch (err) {
      throw refused(err);
    }
    if (typeof (verdict as PromiseLike<unknown> | undefined)?.then === 'function') {
      return Promise.resolve(verdict).then(allowed, (err: unknown) => {
        throw refused(err);
      });
    }
    return allowed(verdict as void | { rule?: string });
  };

  if (!method.responseStream) {
    if (!method.requestStream) {
      return async (request, ctx) => {
        const started = begin(request, ctx);
        const { finish } = started instanceof Promise ? await started : started;
        try {
          const res = await handler(request, ctx);
          finish();
          return res;
        } catch (err) {
          throw finish(err);
        }
      };
    }
    return async (requests: AsyncIterable<unknown>, ctx) => {
      const { first, rest } = await peek(requests);
      const { finish } = await begin(first, ctx);
      try {
        const res = await handler(rest, ctx);
        finish();
        return res;
      } catch (err) {
        throw finish(err);
      }
    };
  }
  return (input: unknown, ctx: CallContext) =>
    (async function* () {
      let request = input;
      let started: Started;
      if (method.requestStream) {
        const { first, rest } = await peek(input as AsyncIterable<unknown>);
        started = await begin(first, ctx);
        request = rest;
      } else {
        started = await begin(input, ctx);
      }
      const { finish } = started;
      const it = (handler(request, ctx) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      let completed = false;
      try {
        for (let step = await it.next(); !step.done; step = await it.next()) {
          yield step.value;
        }
        completed = true;
        finish();
      } catch (err) {
        completed = true;
        throw finish(err);
      } finally {
        // The reader went away early: let the handler clean up, and record the call.
        if (!completed) {
          await it.return?.();
          finish();
        }
      }
    })();
}

/** Reads the first message of a client stream and gives back the whole stream. */
async function peek(requests: AsyncIterable<unknown>): Promise<{ first: unknown; rest: AsyncIterable<unknown> }> {
  const it = requests[Symbol.asyncIterator]();
  const head = await it.next();
  const rest = (async function* () {
    if (head.done) return;
    yield head.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  return { first: head.done ? {} : head.value, rest };
}
