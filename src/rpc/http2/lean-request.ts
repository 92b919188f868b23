/**
 * Node's http2 `request()` (20, 22 and 24 alike) binds every request's
 * connect callback with `AsyncResource.prototype.bind`, which builds two
 * `util.deprecate` wrappers (the DEP0172 `asyncResource` accessor) each
 * time: profiled at about a sixth of the host's CPU per gRPC call toward a
 * Go plugin, and at 32 calls in flight a third of their throughput. While
 * `request()` runs, `bind` is swapped for one that keeps the callback in the
 * resource's async scope and leaves out that accessor, which nothing reads
 * on an internal callback. The original is back before `request()` returns,
 * and no other code runs in between: `request()` calls no user code.
 * Written here because no library can change what Node does inside
 * `request()`; a Node whose bind has no such accessor is left alone.
 */
import { AsyncResource } from 'node:async_hooks';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';

type Bind = (this: AsyncResource, fn: (...args: any[]) => unknown, thisArg?: unknown) => (...args: any[]) => unknown;

const proto = AsyncResource.prototype as unknown as { bind: Bind };
const nodeBind = proto.bind;

/** The same scope as Node's bind, without the deprecated accessor. */
const leanBind: Bind = function (this: AsyncResource, fn, thisArg) {
  const resource = this;
  return thisArg === undefined
    ? function (this: unknown, ...args: unknown[]) {
        return resource.runInAsyncScope(fn, this, ...args);
      }
    : (...args: unknown[]) => resource.runInAsyncScope(fn, thisArg, ...args);
};

function bindsAccessor(): boolean {
  const bound = new AsyncResource('hst-bind-probe').bind(() => undefined);
  return typeof Object.getOwnPropertyDescriptor(bound, 'asyncResource')?.get === 'function';
}

const swap = bindsAccessor();

/**
 * Node's own defaults for a request's priority, given rather than left for
 * request() to add to its copy of the options one property at a time, which
 * cost a tenth of the calls at 32 in flight. `weight` stays out: Node 22 and
 * later warn about it (DEP0194) even at its default.
 */
const OPTIONS = { endStream: false, parent: 0, exclusive: false, silent: false } as const;

/** `session.request(headers, { endStream: false })`, without the per-request costs above. */
export function openRequest(session: ClientHttp2Session, headers: OutgoingHttpHeaders): ClientHttp2Stream {
  // A bind someone else installed since (a tracing agent's, say) is theirs to keep.
  if (!swap || proto.bind !== nodeBind) return session.request(headers, OPTIONS);
  proto.bind = leanBind;
  try {
    return session.request(headers, OPTIONS);
  } finally {
    proto.bind = nodeBind;
  }
}
