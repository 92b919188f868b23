/**
 * Plugins' routes and widgets on the dashboard's server, under
 * /plugins/<name>/: matched against the manifest, decided by the policy
 * (capability http.route on the path), handed to the plugin as one
 * hst.plugin.v1.Http call, and streamed back. What a plugin sends never
 * shares the dashboard's origin: every response carries a CSP `sandbox`, so
 * even opened on its own it is an opaque origin without scripts, and only
 * harmless headers of the plugin's pass (no cookies, no CSP of its own).
 */
import { HttpDefinition, type HttpField, type HttpResponseHead } from '../gen/hst/plugin/v1/http.js';
import type { PluginManager } from '../manager/manager.js';
import type { ManifestRoute } from '../security/manifest.js';
import { Code, RpcError } from '../rpc/status.js';

/** A request body past this is refused before the plugin sees it. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Plugin content: no script, no plugins, no network but images here and inline styles; framed only by the dashboard. */
const ROUTE_CSP = "sandbox allow-forms allow-downloads; default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'self'";
const WIDGET_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

/** The response headers a plugin may set; anything else (set-cookie, CSP, CORS) is dropped. */
const PASSED_HEADERS = new Set(['content-type', 'cache-control', 'content-disposition', 'content-language', 'etag', 'last-modified', 'location']);
/** What the plugin is not told: the dashboard's credentials. */
const WITHHELD_HEADERS = new Set(['cookie', 'authorization', 'proxy-authorization', 'x-hst-dashboard']);

/** The route `path` matches, with its :parameters (and `*`), or undefined. */
export function matchRoute(routes: readonly ManifestRoute[], method: string, path: string): { route: ManifestRoute; params: Record<string, string> } | { methods: string[] } | undefined {
  const segments = path.split('/').slice(1);
  const methods: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, segments);
    if (!params) continue;
    if (route.method === method) return { route, params };
    methods.push(route.method);
  }
  return methods.length > 0 ? { methods } : undefined;
}

function matchPath(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern === '/' ? [''] : pattern.split('/').slice(1);
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    if (part === '*') {
      params['*'] = segments.slice(i).map(decode).join('/');
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      params[part.slice(1)] = decode(segment);
    } else if (decode(segment) !== part) return undefined;
  }
  return segments.length === parts.length ? params : undefined;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface PluginRequest {
  kind: 'route' | 'widget';
  plugin: string;
  handler: string;
  method: string;
  /** Under /plugins/<name>, from "/". */
  path: string;
  params: Record<string, string>;
  request: Request;
  /** The operation and resource the policy decides and the audit log records. */
  operation: string;
  resource: string;
}

function fields(entries: Iterable<[string, string]>): HttpField[] {
  return [...entries].map(([name, value]) => ({ name, value }));
}

function problem(status: number, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': WIDGET_CSP } });
}

/** Decides, calls the plugin, and streams its answer; every refusal is a plain-text response saying why. */
export async function servePluginRequest(manager: PluginManager, r: PluginRequest): Promise<Response> {
  const verdict = await manager.authorize(r.plugin, 'http.route', r.resource, r.operation);
  if (!verdict.allowed) return problem(403, `plugin ${r.plugin} may not serve ${r.resource} (capability http.route:${r.resource}; ${verdict.rule})`);
  const declared = Number(r.request.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) return problem(413, `the request body is over ${MAX_BODY_BYTES} bytes`);
  const body = new Uint8Array(await r.request.arrayBuffer());
  if (body.length > MAX_BODY_BYTES) return problem(413, `the request body is over ${MAX_BODY_BYTES} bytes`);
  const url = new URL(r.request.url);
  const message = {
    kind: r.kind,
    handler: r.handler,
    method: r.method,
    path: r.path,
    params: r.params,
    query: fields(url.searchParams.entries()),
    headers: fields([...r.request.headers.entries()].filter(([name]) => !WITHHELD_HEADERS.has(name))),
    body,
  };

  let gotHead!: (head: HttpResponseHead) => void;
  const head = new Promise<HttpResponseHead>((resolve) => (gotHead = resolve));
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  // The whole response runs inside one manager call: its deadline, its place among the calls a reload waits for.
  const call = manager.call(
    r.plugin,
    async ({ connection, signal }) => {
      const writer = writable.getWriter();
      try {
        for await (const part of connection.client(HttpDefinition).handle(message, { signal })) {
          if (part.head) gotHead(part.head);
          else if (part.body) await writer.write(part.body);
        }
        await writer.close();
      } catch (err) {
        await writer.abort(err).catch(() => undefined);
        throw err;
      }
    },
    { operation: r.operation },
  );
  const answered = await Promise.race([head, call.then(() => undefined)]).catch((err: unknown) => err as Error);
  if (answered === undefined) return problem(502, `plugin ${r.plugin} sent no response to ${r.method} ${r.path}`);
  if (answered instanceof Error) {
    const e = RpcError.from(answered);
    return problem(e.code === Code.NOT_FOUND ? 404 : 502, `plugin ${r.plugin}: ${e.details}`);
  }
  void call.catch(() => undefined);
  const headers = new Headers();
  for (const { name, value } of answered.headers) {
    const lower = name.toLowerCase();
    // A redirect stays on this server: a path, never another site or scheme.
    if (lower === 'location' && !(value.startsWith('/') && !value.startsWith('//'))) continue;
    if (PASSED_HEADERS.has(lower)) headers.append(lower, value);
  }
  headers.set('content-security-policy', r.kind === 'widget' ? WIDGET_CSP : ROUTE_CSP);
  headers.set('x-content-type-options', 'nosniff');
  const status = answered.status >= 200 && answered.status <= 599 ? answered.status : 200;
  return new Response(status === 204 || status === 304 ? null : readable, { status, headers });
}
