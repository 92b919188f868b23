/**
 * The dashboard's server without a browser: who gets in (the token, once,
 * traded for a strict cookie), what is refused (another Host, a change
 * without the dashboard's header), and the API a page uses.
 */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { dashboardFixture, TOKEN, type Fixture } from './support.js';

let f: Fixture;
before(async () => {
  f = await dashboardFixture();
});
after(() => f.close());

const bearer = { authorization: `Bearer ${TOKEN}` };

it('the token opens it once: the address trades it for an HttpOnly, SameSite=Strict cookie and drops it from the URL', async () => {
  const anonymous = await fetch(`${f.base}/`);
  assert.equal(anonymous.status, 401);
  assert.match(await anonymous.text(), /Dashboard token/);
  assert.equal((await fetch(`${f.base}/?token=wrong-token-0123456789`, { redirect: 'manual' })).status, 401);
  const opened = await fetch(f.dashboard.url, { redirect: 'manual' });
  assert.equal(opened.status, 303);
  assert.equal(opened.headers.get('location'), '/');
  const cookie = opened.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^hst_dashboard=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
  const page = await fetch(`${f.base}/`, { headers: { cookie: cookie.split(';')[0] as string } });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="app">/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'.*frame-ancestors 'none'/);
  const login = await fetch(`${f.base}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
  assert.equal(login.status, 303);
});

it('refuses another Host (a rebound name), the API without the token, and a change without its header', async () => {
  // fetch will not send another Host: node:http will.
  const rebound = await new Promise<number>((resolve, reject) =>
    request(`${f.base}/api/plugins`, { headers: { ...bearer, host: 'attacker.example' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end(),
  );
  assert.equal(rebound, 421);
  assert.equal((await fetch(`${f.base}/api/plugins`)).status, 401);
  const forged = await fetch(`${f.base}/api/plugins/reader/capabilities`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'revoke', capability: 'fs.read:**' }) });
  assert.equal(forged.status, 403);
  assert.deepEqual(f.manager.policy.effective('reader'), ['fs.read:**', 'http.route:**'], 'the forged revocation did nothing');
});

it('the API: plugins, a command streamed, a revocation and the denial it causes, in the audit log and the call statistics', async () => {
  const headers = { ...bearer, 'x-hst-dashboard': '1', 'content-type': 'application/json' };
  const plugins = (await (await fetch(`${f.base}/api/plugins`, { headers: bearer })).json()) as Array<{ name: string; status: string; effective?: string[] }>;
  assert.deepEqual(plugins.map((p) => [p.name, p.status, p.effective]), [['reader', 'running', ['fs.read:**', 'http.route:**']]]);

  const run = async () => (await (await fetch(`${f.base}/api/plugins/reader/commands/read`, { method: 'POST', headers, body: JSON.stringify({ args: { path: 'hello.txt' } }) })).text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const events = await run();
  assert.equal(events[0]?.output, 'hello from the workspace\n');
  assert.equal(events.at(-1)?.result?.exitCode, 0);

  const missing = await fetch(`${f.base}/api/plugins/reader/commands/read`, { method: 'POST', headers, body: JSON.stringify({ args: {} }) });
  assert.match(JSON.parse((await missing.text()).trim()).error, /path/);

  const revoked = await fetch(`${f.base}/api/plugins/reader/capabilities`, { method: 'POST', headers, body: JSON.stringify({ action: 'revoke', capability: 'fs.read:**' }) });
  assert.deepEqual(await revoked.json(), { effective: ['http.route:**'] });
  const denied = await run();
  assert.match(JSON.stringify(denied.at(-1)), /denied|PERMISSION_DENIED|not allowed/i);
  const audit = (await (await fetch(`${f.base}/api/audit?plugin=reader&decision=deny`, { headers: bearer })).json()) as Array<{ op: string; resource: string; decision: string }>;
  assert.ok(audit.some((r) => r.decision === 'deny' && r.resource === 'hello.txt'), JSON.stringify(audit));

  const calls = (await (await fetch(`${f.base}/api/calls`, { headers: bearer })).json()) as Array<{ plugin: string; direction: string; operation: string; calls: number; denied: number }>;
  // The run refused for its missing argument never reached the plugin.
  assert.equal(calls.find((c) => c.direction === 'host->plugin' && c.operation === 'command read')?.calls, 2);
  const readFile = calls.find((c) => c.direction === 'plugin->host' && /ReadFile/i.test(c.operation));
  assert.ok(readFile && readFile.calls >= 2 && readFile.denied >= 1, JSON.stringify(calls));
  await fetch(`${f.base}/api/plugins/reader/capabilities`, { method: 'POST', headers, body: JSON.stringify({ action: 'grant', capability: 'fs.read:**' }) });
});

it("a plugin's routes: matched with their parameters, answered by the plugin, streamed; its headers filtered and its content sandboxed", async () => {
  const file = await fetch(`${f.base}/plugins/reader/files/hello.txt?q=1`, { headers: bearer });
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-type'), 'application/json');
  assert.match(file.headers.get('content-security-policy') ?? '', /^sandbox allow-forms allow-downloads; default-src 'none'/);
  assert.deepEqual(await file.json(), { name: 'hello.txt', text: 'hello from the workspace\n', q: '1' });

  const echoed = await fetch(`${f.base}/plugins/reader/echo/a/b%20c`, { method: 'POST', headers: { ...bearer, 'x-hst-dashboard': '1', cookie: 'hst_dashboard=secret' }, body: 'the body' });
  assert.equal(echoed.status, 201);
  assert.equal(await echoed.text(), 'POST a/b c the body cookie:none', 'the path rest decoded, the body passed, the dashboard\'s cookie withheld');
  assert.equal((await fetch(`${f.base}/plugins/reader/echo/x`, { method: 'POST', headers: bearer, body: 'x' })).status, 403, 'a change needs the dashboard header');
  const wrongMethod = await fetch(`${f.base}/plugins/reader/files/hello.txt`, { method: 'DELETE', headers: { ...bearer, 'x-hst-dashboard': '1' } });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET');
  assert.equal((await fetch(`${f.base}/plugins/reader/nowhere`, { headers: bearer })).status, 404);
  assert.equal((await fetch(`${f.base}/plugins/reader/files/hello.txt`)).status, 401, 'behind the sign-in like the rest');

  const rude = await fetch(`${f.base}/plugins/reader/rude`, { headers: bearer, redirect: 'manual' });
  assert.equal(rude.status, 302);
  assert.equal(rude.headers.get('location'), null, 'no redirect to another site');
  assert.equal(rude.headers.get('set-cookie'), null, 'no cookie from a plugin');
  assert.doesNotMatch(rude.headers.get('content-security-policy') ?? '', /script-src \*/);

  const widget = await fetch(`${f.base}/plugins/reader/widgets/status`, { headers: bearer });
  assert.equal(await widget.text(), '<p id="status">reader version 1 is up</p>');
  assert.match(widget.headers.get('content-security-policy') ?? '', /^sandbox; default-src 'none'.*frame-ancestors 'self'/);
  const widgets = (await (await fetch(`${f.base}/api/widgets`, { headers: bearer })).json()) as Array<{ plugin: string; id: string; src: string; location: string }>;
  assert.deepEqual(widgets.map((w) => [w.plugin, w.id, w.location, w.src]), [
    ['reader', 'status', 'dashboard', '/plugins/reader/widgets/status'],
    ['reader', 'sneaky', 'plugin', '/plugins/reader/widgets/sneaky'],
  ]);
});

it('http.route decides every request and the audit log records it; revoked, the route answers 403', async () => {
  const headers = { ...bearer, 'x-hst-dashboard': '1', 'content-type': 'application/json' };
  await fetch(`${f.base}/api/plugins/reader/capabilities`, { method: 'POST', headers, body: JSON.stringify({ action: 'revoke', capability: 'http.route:**' }) });
  await fetch(`${f.base}/api/plugins/reader/capabilities`, { method: 'POST', headers, body: JSON.stringify({ action: 'grant', capability: 'http.route:widgets/*' }) });
  const refused = await fetch(`${f.base}/plugins/reader/files/hello.txt`, { headers: bearer });
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /plugin reader may not serve files\/hello\.txt \(capability http\.route:files\/hello\.txt; default deny\)/);
  assert.equal((await fetch(`${f.base}/plugins/reader/widgets/status`, { headers: bearer })).status, 200, 'widgets/* still granted');
  const audit = (await (await fetch(`${f.base}/api/audit?plugin=reader`, { headers: bearer })).json()) as Array<{ op: string; capability: string; resource: string; decision: string }>;
  assert.ok(audit.some((r) => r.op === 'http GET /files/:name' && r.capability === 'http.route' && r.resource === 'files/hello.txt' && r.decision === 'deny'), JSON.stringify(audit.slice(-5)));
  assert.ok(audit.some((r) => r.op === 'widget status' && r.decision === 'allow'));
  await fetch(`${f.base}/api/plugins/reader/capabilities`, { method: 'POST', headers, body: JSON.stringify({ action: 'grant', capability: 'http.route:**' }) });
});
