/**
 * Node 20's http2 `request()` binds every request's connect callback with
 * `AsyncResource.prototype.bind`, which there builds two `util.deprecate`
 * wrappers (the DEP0172 `asyncResource` accessor) each time: profiled at
 * about a sixth of the host's CPU per gRPC call toward a Go plugin. While
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

/** `session.request(headers, { endStream: false })`, without Node 20's per-request deprecation wrappers. */
export function openRequest(session: ClientHttp2Session, headers: OutgoingHttpHeaders): ClientHttp2Stream {
  if (!swap) return session.request(headers, { endStream: false });
  proto.bind = leanBind;
  try {
    return session.request(headers, { endStream: false });
  } finally {
    proto.bind = nodeBind;
  }
}
