/**
 * A plugin's HTTP routes and dashboard widgets (manifest `routes:` and
 * `widgets:`), served as hst.plugin.v1.Http: `hst serve` hands each request
 * under /plugins/<name>/ to the handler the manifest names, and streams the
 * response back. A handler returns a string (HTML), bytes, `{ json }`, or
 * `{ status, headers, body }` where the body may be an async iterable of
 * chunks, sent as they come.
 */
import { HttpDefinition, type HttpResponse } from '../gen/hst/plugin/v1/http.js';
import type { ServiceRegistrar } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';

export interface HttpRequestView {
  /** Whether a route or a widget is asked for. */
  kind: 'route' | 'widget';
  handler: string;
  method: string;
  /** The path under /plugins/<name>, from "/". */
  path: string;
  /** The route's :parameters, and `*` for what a final * matched. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Uint8Array;
  text(): string;
  json(): unknown;
}

type Chunk = string | Uint8Array;

export type HttpResult =
  | string
  | Uint8Array
  | { status?: number; headers?: Record<string, string>; json: unknown }
  | { status?: number; headers?: Record<string, string>; body?: Chunk | AsyncIterable<Chunk> | Iterable<Chunk> };

export type HttpHandler = (request: HttpRequestView) => HttpResult | Promise<HttpResult>;

/** Handlers by the names the manifest's routes and widgets give. */
export type HttpHandlers = Record<string, HttpHandler>;

const encoder = new TextEncoder();
const bytes = (chunk: Chunk) => (typeof chunk === 'string' ? encoder.encode(chunk) : chunk);

export function registerHttp(registrar: ServiceRegistrar, handlers: HttpHandlers): void {
  registrar.addService(HttpDefinition, {
    handle: async function* (request): AsyncGenerator<HttpResponse> {
      const handler = Object.hasOwn(handlers, request.handler) ? handlers[request.handler] : undefined;
      if (!handler) throw new RpcError(Code.NOT_FOUND, `no http handler ${JSON.stringify(request.handler)}; this plugin has ${Object.keys(handlers).join(', ') || 'none'}`);
      const view: HttpRequestView = {
        kind: request.kind === 'widget' ? 'widget' : 'route',
        handler: request.handler,
        method: request.method,
        path: request.path,
        params: { ...request.params },
        query: new URLSearchParams(request.query.map((f): [string, string] => [f.name, f.value])),
        headers: Object.fromEntries(request.headers.map((f) => [f.name, f.value])),
        body: request.body,
        text: () => new TextDecoder().decode(request.body),
        json: () => JSON.parse(new TextDecoder().decode(request.body)) as unknown,
      };
      const result = await handler(view);
      if (typeof result === 'string' || result instanceof Uint8Array) {
        const type = typeof result === 'string' ? 'text/html; charset=utf-8' : 'application/octet-stream';
        yield { head: { status: 200, headers: [{ name: 'content-type', value: type }] } };
        yield { body: bytes(result) };
        return;
      }
      const headers = Object.entries(result.headers ?? {}).map(([name, value]) => ({ name: name.toLowerCase(), value }));
      if ('json' in result) {
        if (!headers.some((h) => h.name === 'content-type')) headers.push({ name: 'content-type', value: 'application/json' });
        yield { head: { status: result.status ?? 200, headers } };
        yield { body: encoder.encode(JSON.stringify(result.json)) };
        return;
      }
      if (!headers.some((h) => h.name === 'content-type')) headers.push({ name: 'content-type', value: 'text/html; charset=utf-8' });
      yield { head: { status: result.status ?? 200, headers } };
      const body = result.body;
      if (body === undefined) return;
      if (typeof body === 'string' || body instanceof Uint8Array) {
        yield { body: bytes(body) };
        return;
      }
      for await (const chunk of body as AsyncIterable<Chunk>) yield { body: bytes(chunk) };
    },
  });
}
