/**
 * `hst serve`'s web dashboard: a JSON API over a PluginManager, live events
 * by server-sent events, and the single-page front-end (src/dashboard/ui,
 * bundled into dist/dashboard by `npm run build`). Hono, on Node's http
 * server: its Request/Response are the web's own, so a streamed body (a
 * command's output, an event stream) needs no adapter, and it brings no
 * dependencies. Only 127.0.0.1 is listened on, and only with the token
 * (auth.ts).
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import type { PluginManager } from '../manager/manager.js';
import type { PluginInfo, ReloadEvent } from '../manager/plugin-info.js';
import { Code, RpcError } from '../rpc/status.js';
import { followAudit, readAudit, type AuditRecord } from '../security/audit.js';
import { allowedHosts, CSRF_HEADER, TOKEN_COOKIE, tokenMatches } from './auth.js';
import { CallStats } from './call-stats.js';
import { matchRoute, servePluginRequest } from './plugin-routes.js';

export interface DashboardOptions {
  /** 0 picks a free port. */
  port: number;
  token: string;
  auditPath: string;
}

export interface Dashboard {
  /** The address to open, with the token: http://127.0.0.1:<port>/?token=… */
  url: string;
  port: number;
  stats: CallStats;
  close(): Promise<void>;
}

/** The front-end's files, built beside this module's dist directory; loaded once. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** The dashboard's own pages: scripts and styles from here only, frames (widgets) from here only, never framed itself. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hst dashboard: sign in</title><link rel="stylesheet" href="/assets/app.css"></head>
<body><main class="login"><h1>hst</h1><form method="post" action="/login"><label>Dashboard token <input name="token" type="password" autocomplete="off" autofocus></label><button>Sign in</button></form>
<p>The token is printed by <code>hst serve</code> when it starts.</p></main></body></html>`;

function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const dir = new URL('../../dashboard/', import.meta.url);
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [path, { file, type }] of Object.entries(ASSETS)) {
    try {
      assets.set(path, { body: readFileSync(new URL(file, dir)), type });
    } catch {
      throw new Error(`the dashboard's ${file} is not built (run npm run build)`);
    }
  }
  return assets;
}

/** An RpcError's code as the HTTP status a browser understands. */
function httpStatus(err: unknown): 400 | 403 | 404 | 409 | 500 | 503 {
  if (!(err instanceof RpcError)) return 500;
  switch (err.code) {
    case Code.INVALID_ARGUMENT:
      return 400;
    case Code.PERMISSION_DENIED:
      return 403;
    case Code.NOT_FOUND:
      return 404;
    case Code.FAILED_PRECONDITION:
      return 409;
    case Code.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

function errorText(err: unknown): string {
  return err instanceof RpcError ? err.details : err instanceof Error ? err.message : String(err);
}

/** What the plugins page shows of one plugin: its info and, once admitted, its effective capabilities. */
function pluginView(manager: PluginManager, info: PluginInfo): PluginInfo & { effective?: string[] } {
  try {
    return { ...info, effective: manager.policy.effective(info.name) };
  } catch {
    return info;
  }
}

/** Serves `manager`, whose plugins are looked up in what it found: discover() before. */
export async function startDashboard(manager: PluginManager, options: DashboardOptions): Promise<Dashboard> {
  const assets = loadAssets();
  const stats = new CallStats();
  const closing = new AbortController();
  const onCall = ({ name, operation, ms, error }: { name: string; operation: string; ms: number; error?: string }) =>
    stats.record(name, 'host->plugin', operation, ms, error !== undefined ? { error } : {});
  manager.on('call', onCall);
  for (const record of readAudit(options.auditPath).slice(-5_000)) stats.recordAudit(record);
  // One follower of the audit log, for the statistics and every open event stream.
  const audit = new EventEmitter<{ record: [AuditRecord] }>();
  audit.setMaxListeners(0);
  followAudit(
    options.auditPath,
    {},
    (record) => {
      stats.recordAudit(record);
      audit.emit('record', record);
    },
    closing.signal,
  );

  let hosts = new Set<string>();
  const app = new Hono();
  const authorized = (c: Context) => tokenMatches(options.token, getCookie(c, TOKEN_COOKIE)) || tokenMatches(options.token, c.req.header('authorization')?.replace(/^Bearer /, ''));
  const signIn = (c: Context) => setCookie(c, TOKEN_COOKIE, options.token, { httpOnly: true, sameSite: 'Strict', path: '/' });

  app.use('*', async (c, next) => {
    // A name rebound to 127.0.0.1 by another site arrives with that site's Host: refused.
    if (!hosts.has(c.req.header('host') ?? '')) return c.text('this dashboard answers only to its own address', 421);
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    if (!c.res.headers.has('content-security-policy')) c.header('content-security-policy', PAGE_CSP);
  });

  app.get('/assets/:file', (c) => {
    const asset = assets.get(c.req.path);
    if (!asset) return c.notFound();
    return c.body(new Uint8Array(asset.body), 200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
  });

  app.get('/', (c) => {
    const given = c.req.query('token');
    if (given !== undefined) {
      if (!tokenMatches(options.token, given)) return c.html(LOGIN_PAGE, 401);
      signIn(c);
      // The token leaves the address bar (and the history) at once.
      return c.redirect('/', 303);
    }
    if (!authorized(c)) return c.html(LOGIN_PAGE, 401);
    const index = assets.get('/') as { body: Buffer; type: string };
    return c.body(new Uint8Array(index.body), 200, { 'content-type': index.type, 'cache-control': 'no-store' });
  });

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    if (!tokenMatches(options.token, typeof form.token === 'string' ? form.token : undefined)) return c.html(LOGIN_PAGE, 401);
    signIn(c);
    return c.redirect('/', 303);
  });

  /**
   * Signed in, and for a request that changes something the dashboard's own
   * header too: another site's form or script cannot set it without a
   * preflight, which is never granted. `refuse` answers in the path's form.
   */
  const signedIn =
    (safeMethods: readonly string[], refuse: (c: Context, status: 401 | 403, text: string) => Response): MiddlewareHandler =>
    async (c, next) => {
      if (!authorized(c)) return refuse(c, 401, 'sign in with the dashboard token first');
      if (!safeMethods.includes(c.req.method) && c.req.header(CSRF_HEADER) !== '1') return refuse(c, 403, `a request that changes something needs the ${CSRF_HEADER} header`);
      await next();
    };

  app.use('/api/*', signedIn(['GET'], (c, status, text) => c.json({ error: text }, status)));

  app.onError((err, c) => c.json({ error: errorText(err) }, httpStatus(err)));

  app.get('/api/plugins', (c) => c.json(manager.list().map((info) => pluginView(manager, info))));

  app.get('/api/plugins/:name', (c) => {
    const info = manager.info(c.req.param('name'));
    return info ? c.json(pluginView(manager, info)) : c.json({ error: `no plugin named ${JSON.stringify(c.req.param('name'))}` }, 404);
  });

  app.post('/api/plugins/:name/:action{start|stop|reload}', async (c) => {
    const name = c.req.param('name');
    const action = c.req.param('action');
    if (action === 'start') await manager.start(name);
    else if (action === 'stop') await manager.stop(name);
    else return c.json(await manager.reload(name));
    return c.json(manager.info(name) ?? null);
  });

  // A command's events as they come, one JSON object per line: output, progress, then the result or the error.
  app.post('/api/plugins/:name/commands/:command', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { args?: unknown };
    const args = body.args && typeof body.args === 'object' ? Object.fromEntries(Object.entries(body.args as Record<string, unknown>).map(([k, v]) => [k, String(v)])) : {};
    const events = manager.runCommand(c.req.param('name'), c.req.param('command'), args);
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await events.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
        } catch (err) {
          controller.enqueue(encoder.encode(`${JSON.stringify({ error: errorText(err), code: err instanceof RpcError ? err.code : Code.UNKNOWN })}\n`));
          controller.close();
        }
      },
      cancel() {
        void events.return(undefined);
      },
    });
    return c.body(stream, 200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  });

  app.post('/api/plugins/:name/capabilities', async (c) => {
    const { action, capability } = (await c.req.json().catch(() => ({}))) as { action?: string; capability?: string };
    if ((action !== 'grant' && action !== 'revoke') || typeof capability !== 'string' || capability === '') {
      return c.json({ error: 'give {"action": "grant" or "revoke", "capability": "<kind>:<resource>"}' }, 400);
    }
    const name = c.req.param('name');
    if (action === 'grant') manager.policy.grant(name, capability);
    else manager.policy.revoke(name, capability);
    return c.json({ effective: manager.policy.effective(name) });
  });

  app.get('/api/audit', (c) => {
    const plugin = c.req.query('plugin') || undefined;
    const denied = c.req.query('decision') === 'deny';
    const limit = Math.min(Number(c.req.query('limit') ?? 200) || 200, 5_000);
    return c.json(readAudit(options.auditPath, { ...(plugin ? { plugin } : {}), denied }).slice(-limit));
  });

  app.get('/api/calls', (c) => c.json(stats.snapshot()));

  app.get('/api/widgets', (c) =>
    c.json(
      manager
        .list()
        .filter((p) => p.status !== 'invalid' && p.status !== 'unavailable')
        .flatMap((p) => p.widgets.map((w) => ({ plugin: p.name, ...w, src: `/plugins/${encodeURIComponent(p.name)}/widgets/${w.id}` }))),
    ),
  );

  // Plugins' own routes and widgets (plugin-routes.ts), behind the same sign-in.
  app.use('/plugins/*', signedIn(['GET', 'HEAD'], (c, status, text) => c.text(`${text}\n`, status)));

  app.get('/plugins/:name/widgets/:id', async (c) => {
    const name = c.req.param('name');
    const widget = manager.info(name)?.widgets.find((w) => w.id === c.req.param('id'));
    if (!widget) return c.text(`plugin ${name} has no widget ${c.req.param('id')}\n`, 404);
    return servePluginRequest(manager, { kind: 'widget', plugin: name, handler: widget.handler, method: 'GET', path: `/widgets/${widget.id}`, params: {}, request: c.req.raw, operation: `widget ${widget.id}`, resource: `widgets/${widget.id}` });
  });

  app.all('/plugins/:name/*', async (c) => {
    const name = c.req.param('name');
    const info = manager.info(name);
    if (!info) return c.text(`no plugin named ${name}\n`, 404);
    const prefix = `/plugins/${encodeURIComponent(name)}`;
    const path = c.req.path.startsWith(prefix) ? c.req.path.slice(prefix.length) || '/' : '/';
    const match = matchRoute(info.routes, c.req.method, path);
    if (!match) return c.text(`plugin ${name} has no route for ${path}\n`, 404);
    if ('methods' in match) return c.text(`plugin ${name} answers ${path} to ${match.methods.join(', ')} only\n`, 405, { allow: match.methods.join(', ') });
    const { route, params } = match;
    return servePluginRequest(manager, { kind: 'route', plugin: name, handler: route.handler, method: c.req.method, path, params, request: c.req.raw, operation: `http ${route.method} ${route.path}`, resource: path.slice(1) });
  });

  // Live: plugin states, reload steps, audit records and policy changes, as they happen.
  app.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      const gone = new AbortController();
      const send = (event: string, data: unknown) => void stream.writeSSE({ event, data: JSON.stringify(data) }).catch(() => gone.abort());
      const onState = (info: PluginInfo) => send('state', pluginView(manager, info));
      const onReload = (event: ReloadEvent) => send('reload', event);
      const onPolicy = (change: unknown) => send('policy', change);
      const onAudit = (record: AuditRecord) => send('audit', record);
      manager.on('state', onState);
      manager.on('reload', onReload);
      manager.policy.on('change', onPolicy);
      audit.on('record', onAudit);
      const heartbeat = setInterval(() => send('ping', {}), 15_000);
      stream.onAbort(() => gone.abort());
      closing.signal.addEventListener('abort', () => gone.abort(), { once: true });
      send('hello', { plugins: manager.list().length });
      await new Promise<void>((resolve) => gone.signal.addEventListener('abort', () => resolve(), { once: true }));
      clearInterval(heartbeat);
      manager.off('state', onState);
      manager.off('reload', onReload);
      manager.policy.off('change', onPolicy);
      audit.off('record', onAudit);
    }),
  );

  const server: ServerType = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port }, () => resolve(s));
    s.once('error', reject);
  }).catch((err: unknown) => {
    // Nothing may keep running for a dashboard that never opened: the audit follower, the call listener.
    closing.abort();
    manager.off('call', onCall);
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(port);
  return {
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(options.token)}`,
    port,
    stats,
    close: async () => {
      closing.abort();
      manager.off('call', onCall);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
