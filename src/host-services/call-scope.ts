/**
 * The host call a handler serves, for checks deep inside it (the confined
 * root following a symlink) that must decide with the call's own capability.
 *
 * Kept on the call's context, which every handler holds, rather than in an
 * AsyncLocalStorage: on Node 20 and 22 that turns on promise hooks for the
 * whole process, a cost on every promise of every host call (Stat at 32 in
 * flight: ~6 %) and of the application around the host. A property, not a
 * WeakMap: one more entry per call for the collector to sweep.
 */
import type { CallContext } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';

export interface CallScope {
  operation: string;
  capability: string;
}

const SCOPE = Symbol('hst.callScope');
type Scoped = CallContext & { [SCOPE]?: CallScope };

/** The dispatcher names the call `ctx` belongs to before its handler runs. */
export function enterCall(ctx: CallContext, scope: CallScope): void {
  (ctx as Scoped)[SCOPE] = scope;
}

/** The call `ctx` belongs to; a context the dispatcher never saw is refused, not trusted. */
export function callScope(ctx: CallContext): CallScope {
  const scope = (ctx as Scoped)[SCOPE];
  if (!scope) throw new RpcError(Code.INTERNAL, 'a host service was called outside the dispatcher, so its capability is unknown');
  return scope;
}
