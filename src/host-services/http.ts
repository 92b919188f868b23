/**
 * Http: requests the host makes for a plugin, built so that a plugin allowed
 * to reach some hosts cannot turn the host into a way into its own machine
 * or networks (server-side request forgery).
 *
 * Contract with the capability policy. Resources are `host:port` as the
 * WHATWG URL parser normalises them: names lower-cased, IPv4 in dotted
 * decimal (so 127.1, 0x7f000001 and 2130706433 all arrive as 127.0.0.1),
 * IPv6 in brackets and compressed (`[::1]:8080`, `[::ffff:7f00:1]:80`), the
 * port always written (80 and 443 by default). For every hop — the first
 * request and each redirect — the handler asks:
 *   1. `caller.permits('net', host:port)`; no means PERMISSION_DENIED naming
 *      the hop. The dispatcher checks the first hop too, before the handler.
 *   2. The host resolves the name itself (`dns.lookup`, all addresses; an IP
 *      literal is its own address) and classifies every address
 *      (src/security/net-address.ts). If any one is not public (loopback,
 *      private, link-local incl. 169.254.169.254, unspecified, CGNAT,
 *      multicast, broadcast, reserved, or an IPv4-mapped/NAT64/6to4 form of
 *      those), the hop also needs `caller.permits('net!explicit', host:port)`.
 *      The policy must answer `net!explicit` yes only for a grant whose host
 *      part has no wildcard and names this host: `net:localhost:8080` or
 *      `net:127.0.0.1:8080` unlock those exact hosts, `net:*.example.com`
 *      never unlocks a private address even for a name under it. The check
 *      is on the name the plugin asked for, not on the address it resolved
 *      to, and the IPv6 forms above are distinct hosts: a grant of
 *      127.0.0.1 does not cover [::ffff:7f00:1].
 *   3. The connection goes to the addresses checked in step 2 (a lookup
 *      function hands them to the socket, and the connected peer is checked
 *      against them), so DNS is never asked twice and cannot be rebound in
 *      between. The Host header and TLS server name stay the URL's host;
 *      certificates are verified as usual.
 * A change of grants while a fetch runs repeats steps 1-2 for the current
 * hop and ends the fetch with PERMISSION_DENIED if it no longer passes.
 *
 * Redirects (301/302/303/307/308, at most MAX_REDIRECTS) are followed only to
 * http(s), each hop checked as above; Authorization and Cookie are dropped
 * when a redirect changes origin, and a 303 (or a 301/302 after POST) turns
 * into a GET without body. Headers that would let a plugin frame the
 * request itself (Host, Connection, Transfer-Encoding, Content-Length, ...,
 * Proxy-*) are refused. No proxy is ever used: each request has an agent of
 * its own, never the global one that Node's proxy variables configure.
 *
 * A body longer than max_response_bytes is cut there and a final message
 * says `truncated` (rather than failing), so a plugin may read a prefix.
 */
import type { LookupAddress } from 'node:dns';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { LookupFunction, Socket } from 'node:net';
import { HttpDefinition, type FetchRequest, type FetchResponse, type HttpHeader } from '../gen/hst/host/v1/http.js';
import type { CallContext, DeepPartial } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { classifyAddress, ipLiteral, sameAddress } from '../security/net-address.js';
import type { Caller } from './caller.js';
import { hostService } from './operation.js';
import { DeniedError } from './errors.js';

const OPERATION = 'Http/Fetch';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** The most a plugin may ask for; limits.ts has no network limits. */
export const HOST_MAX_RESPONSE_BYTES = 100 * 1024 * 1024;
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** RFC 9110 token: header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Latin-1 without controls but tab: no CR, LF or NUL to split a header line. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers that frame the request or the connection: only the host sets them. */
const FRAMING_HEADERS = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length', 'expect', 'http2-settings']);
/** Dropped when a redirect leaves the origin they were meant for. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie']);
/** Describe a body that a redirect turned into a GET no longer has. */
const BODY_HEADERS = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** `host:port` of an http(s) URL, the resource the `net` capability names. */
export function netResource(url: URL): string {
  return `${url.hostname}:${portOf(url)}`;
}

/** The request as checked: what each hop sends. */
interface Plan {
  url: URL;
  method: string;
  headers: Array<[string, string]>;
  body: Buffer;
  timeoutMs: number;
  maxBytes: number;
  follow: boolean;
}

/** A hop that passed the checks: where it may connect. */
interface Hop {
  url: URL;
  resource: string;
  /** Host as given to the socket: the name, or the bare IP literal. */
  host: string;
  addresses: LookupAddress[];
  /** It resolved to a non-public address, so it holds only under an explicit grant. */
  needsExplicit: boolean;
  /** How messages name it: the first request by its resource, redirects by number too. */
  where: string;
}

function invalidArgument(where: string, why: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, `${where}: ${why}`);
}

function plan(request: FetchRequest, caller: Caller): Plan {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw invalidArgument(OPERATION, `${JSON.stringify(request.url.slice(0, 200))} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidArgument(OPERATION, `${url.protocol} URLs cannot be fetched, only http: and https:`);
  }
  const where = `${OPERATION} ${netResource(url)}`;
  if (url.username || url.password) throw invalidArgument(where, 'credentials in the URL are not sent; use an Authorization header');
  const method = request.method || 'GET';
  if (!TOKEN.test(method)) throw invalidArgument(where, `${JSON.stringify(method)} is not an HTTP method`);
  if (method.toUpperCase() === 'CONNECT') throw invalidArgument(where, 'CONNECT is refused: the host does not open tunnels');
  const headers = request.headers.map(({ name, value }: HttpHeader): [string, string] => {
    if (!TOKEN.test(name)) throw invalidArgument(where, `${JSON.stringify(name)} is not a valid header name`);
    const lower = name.toLowerCase();
    if (FRAMING_HEADERS.has(lower) || lower.startsWith('proxy-')) throw invalidArgument(where, `the ${name} header is set by the host and may not be sent`);
    if (!HEADER_VALUE.test(value)) throw invalidArgument(where, `the value of ${name} holds a character no header may carry (a control character, or beyond Latin-1)`);
    return [name, value];
  });
  if (request.body.length > caller.limits.maxWriteBytes) {
    throw new RpcError(Code.OUT_OF_RANGE, `${where}: a ${request.body.length}-byte body is more than the host's limit of ${caller.limits.maxWriteBytes}`);
  }
  if (request.timeoutMs < 0) throw invalidArgument(where, 'timeout_ms is negative');
  if (request.maxResponseBytes < 0) throw invalidArgument(where, 'max_response_bytes is negative');
  return {
    url,
    method,
    headers,
    body: Buffer.from(request.body),
    timeoutMs: Math.min(request.timeoutMs || DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS),
    maxBytes: Math.min(request.maxResponseBytes || DEFAULT_MAX_RESPONSE_BYTES, HOST_MAX_RESPONSE_BYTES),
    follow: request.followRedirects ?? true,
  };
}

/** Whether the grants still allow a hop that was allowed (steps 1 and 2 of the contract). */
function holds(caller: Caller, hop: Pick<Hop, 'resource' | 'needsExplicit'>): boolean {
  return caller.permits('net', hop.resource) && (!hop.needsExplicit || caller.permits('net!explicit', hop.resource));
}

function denied(where: string, why: string, rule: string): DeniedError {
  return new DeniedError(`${where}: ${why}`, rule);
}

/** Resolves `promise` unless `signal` aborts first. */
function raced<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Node's DNS and HTTP clients, loaded by the first Fetch: a host whose plugins never fetch does not hold them (~1.5 MiB). */
interface Web {
  dns: typeof import('node:dns').promises;
  http: typeof import('node:http');
  https: typeof import('node:https');
}
let web: Promise<Web> | undefined;
function loadWeb(): Promise<Web> {
  web ??= Promise.all([import('node:dns'), import('node:http'), import('node:https')]).then(([dns, http, https]) => ({ dns: dns.promises, http, https }));
  return web;
}

/** Checks one hop: scheme, grant, resolution, and the class of every address. */
async function vet(caller: Caller, url: URL, where: string, signal: AbortSignal): Promise<Hop> {
  const resource = netResource(url);
  const grant = caller.verdict('net', resource);
  if (!grant.allowed) throw denied(where, `${resource} is not granted by the net capability`, grant.rule);
  const literal = ipLiteral(url.hostname);
  const host = literal ?? url.hostname;
  let addresses: LookupAddress[];
  if (literal) {
    addresses = [{ address: literal, family: literal.includes(':') ? 6 : 4 }];
  } else {
    try {
      const { dns } = await loadWeb();
      addresses = await raced(dns.lookup(host, { all: true }), signal);
    } catch (err) {
      if (signal.aborted) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') throw new RpcError(Code.NOT_FOUND, `${where}: ${host} does not resolve`);
      throw new RpcError(Code.UNAVAILABLE, `${where}: resolving ${host} failed (${code ?? String(err)})`);
    }
    if (addresses.length === 0) throw new RpcError(Code.NOT_FOUND, `${where}: ${host} does not resolve`);
  }
  const local = addresses.map((a) => ({ address: a.address, kind: classifyAddress(a.address) })).filter((a) => a.kind !== 'public');
  const explicit = local.length > 0 ? caller.verdict('net!explicit', resource) : undefined;
  if (explicit && !explicit.allowed) {
    const kind = local[0]?.kind ?? '';
    const what = literal ? `${url.hostname} is ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} address` : `${host} resolves to ${local.map((a) => `${a.address} (${a.kind})`).join(', ')}`;
    throw denied(where, `${what}; that needs a net grant naming ${resource} exactly, not a wildcard`, `${explicit.rule} (private address)`);
  }
  return { url, resource, host, addresses, needsExplicit: local.length > 0, where };
}

/** Hands the socket the vetted addresses instead of asking DNS again. */
function pinnedLookup(hop: Hop): LookupFunction {
  return (hostname, options, callback) => {
    const first = hop.addresses[0];
    if (hostname !== hop.host || !first) {
      callback(Object.assign(new Error(`${hostname} was not vetted for this request`), { code: 'ENOTFOUND' }), '');
    } else if (options.all) {
      callback(null, hop.addresses);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

/** Sends one hop's request and waits for its response head. */
function send({ http, https }: Web, hop: Hop, method: string, headers: Array<[string, string]>, body: Buffer): { request: ClientRequest; response: Promise<IncomingMessage> } {
  const secure = hop.url.protocol === 'https:';
  const outgoing: OutgoingHttpHeaders = {};
  const names = new Map<string, string>();
  for (const [name, value] of headers) {
    // Repeated names go out as repeated lines under the first spelling.
    const key = names.get(name.toLowerCase()) ?? name;
    names.set(name.toLowerCase(), key);
    const prior = outgoing[key];
    outgoing[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [String(prior)]), value];
  }
  // Always a length, never chunked: what the server reads is exactly `body`.
  if (body.length > 0 || !['GET', 'HEAD'].includes(method.toUpperCase())) outgoing['Content-Length'] = String(body.length);
  const request = (secure ? https : http).request({
    host: hop.host,
    port: portOf(hop.url),
    path: `${hop.url.pathname}${hop.url.search}`,
    method,
    headers: outgoing,
    agent: secure ? new https.Agent({ keepAlive: false }) : new http.Agent({ keepAlive: false }),
    lookup: pinnedLookup(hop),
    // Fixed here so the host's NODE_TLS_REJECT_UNAUTHORIZED or --insecure-http-parser cannot loosen them.
    insecureHTTPParser: false,
    ...(secure ? { rejectUnauthorized: true, ...(ipLiteral(hop.url.hostname) ? {} : { servername: hop.host }) } : {}),
  });
  request.on('socket', (socket: Socket) => {
    socket.once('connect', () => {
      const peer = socket.remoteAddress ?? '';
      if (!hop.addresses.some((a) => sameAddress(a.address, peer))) {
        socket.destroy(denied(hop.where, `connected to ${peer}, which is not an address that was checked`, 'address pinning'));
      }
    });
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    // Kept for the request's life: later errors reach the body reader through the response.
    request.on('error', reject);
  });
  if (body.length > 0) request.end(body);
  else request.end();
  return { request, response };
}

/** What a failed socket, TLS handshake or parse means to the plugin. */
function networkFailure(where: string, err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  const e = err as NodeJS.ErrnoException;
  let message = e?.message ?? String(err);
  // A certificate check's reason, without what newer Node versions append about the host's own flags (--use-system-ca): the plugin cannot act on it.
  if (typeof e?.code === 'string' && /CERT|SIGNED|UNABLE_TO_/.test(e.code) && !e.code.startsWith('ERR_')) message = message.split('; ')[0] as string;
  return new RpcError(Code.UNAVAILABLE, `${where}: ${message}`, { cause: err });
}

function headerPairs(raw: string[]): HttpHeader[] {
  const pairs: HttpHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push({ name: raw[i] as string, value: raw[i + 1] as string });
  return pairs;
}

async function* fetch(caller: Caller, request: FetchRequest, ctx: CallContext): AsyncGenerator<DeepPartial<FetchResponse>> {
  const p = plan(request, caller);
  const first = `${OPERATION} ${netResource(p.url)}`;
  // One signal for every way the fetch can be stopped; its reason is the first one's error.
  const stop = new AbortController();
  const signal = stop.signal;
  const onCancel = () => stop.abort(new RpcError(Code.CANCELLED, `${first}: the call was cancelled`));
  const onDisconnect = () => stop.abort(new RpcError(Code.UNAVAILABLE, `${first}: the plugin disconnected`));
  const timer = setTimeout(() => stop.abort(new RpcError(Code.DEADLINE_EXCEEDED, `${first}: no complete response within ${p.timeoutMs} ms`)), p.timeoutMs);
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  caller.signal.addEventListener('abort', onDisconnect, { once: true });
  if (ctx.signal.aborted) onCancel();
  if (caller.signal.aborted) onDisconnect();
  let hop: Hop | undefined;
  let exchange: { request: ClientRequest; response?: IncomingMessage } | undefined;
  const stopExchange = () => {
    exchange?.response?.destroy(signal.reason);
    exchange?.request.destroy(signal.reason);
  };
  signal.addEventListener('abort', stopExchange, { once: true });
  const stopWatching = caller.onPermissionsChanged(() => {
    if (hop && !holds(caller, hop)) stop.abort(denied(hop.where, `the grant for ${hop.resource} was withdrawn`, caller.verdict('net', hop.resource).rule));
  });
  try {
    let { url, method, body } = p;
    let headers = p.headers;
    for (let redirects = 0; ; redirects++) {
      const where = redirects === 0 ? first : `${first}: redirect ${redirects} to ${netResource(url)}`;
      hop = await vet(caller, url, where, signal);
      const client = await loadWeb();
      signal.throwIfAborted();
      const sent = send(client, hop, method, headers, body);
      exchange = { request: sent.request };
      const response = await sent.response;
      exchange.response = response;
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (p.follow && REDIRECT_STATUSES.has(status) && location !== undefined) {
        response.destroy();
        sent.request.destroy();
        if (redirects === MAX_REDIRECTS) {
          throw new RpcError(Code.FAILED_PRECONDITION, `${first}: more than ${MAX_REDIRECTS} redirects`);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new RpcError(Code.FAILED_PRECONDITION, `${where}: answered ${status} with an invalid Location`);
        }
        const nextWhere = `${first}: redirect ${redirects + 1}`;
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw denied(nextWhere, `goes to a ${next.protocol} URL; only http: and https: are followed`, 'http redirect rules');
        if (next.username || next.password) throw denied(nextWhere, 'goes to a URL with credentials', 'http redirect rules');
        if (status === 303 ? method.toUpperCase() !== 'HEAD' : (status === 301 || status === 302) && method.toUpperCase() === 'POST') {
          method = 'GET';
          body = Buffer.alloc(0);
          headers = headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
        }
        if (next.origin !== url.origin) headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
        url = next;
        continue;
      }
      yield {
        head: { status, statusText: response.statusMessage ?? '', headers: headerPairs(response.rawHeaders), url: url.href, redirects },
      };
      const chunkBytes = caller.limits.streamChunkBytes;
      let received = 0;
      for await (const chunk of response as AsyncIterable<Buffer>) {
        const kept = chunk.subarray(0, p.maxBytes - received);
        for (let at = 0; at < kept.length; at += chunkBytes) yield { data: kept.subarray(at, at + chunkBytes) };
        received += kept.length;
        if (kept.length < chunk.length) {
          yield { truncated: true };
          return;
        }
      }
      return;
    }
  } catch (err) {
    throw signal.aborted ? (signal.reason as RpcError) : networkFailure(hop?.where ?? first, err);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onCancel);
    caller.signal.removeEventListener('abort', onDisconnect);
    signal.removeEventListener('abort', stopExchange);
    stopWatching();
    exchange?.response?.destroy();
    exchange?.request.destroy();
  }
}

export const httpService = hostService({
  definition: HttpDefinition,
  operations: {
    fetch: {
      capability: 'net',
      resource: ({ url }) => {
        const parsed = new URL(url);
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not an http URL');
        return netResource(parsed);
      },
    },
  },
  create: (caller) => ({
    fetch: (request, ctx) => fetch(caller, request, ctx),
  }),
});
