/**
 * Environment, process, network, event, temp and system attacks from a real
 * plugin process. The attacker may read APP_* variables, run /bin/echo,
 * fetch from one local server (by IP), publish and subscribe under
 * attacker.*, and use its temp directory; everything else must be refused
 * and audited, and nothing it is allowed may be bent into more.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, realpathSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code } from '../../src/rpc/status.js';
import { readAudit } from '../../src/security/audit.js';
import { bytes, createScene, narrowManifest, textOf, type AttackCase, type Scene } from './scene.js';

let scene: Scene;
const check = (c: AttackCase) => async () => void (await scene.attack(c));

/** The server the attacker is granted, and one it is not, which counts every request that reaches it. */
const servers = { granted: 0, other: 0, otherHits: 0 };
const grantedUrl = (path = '/') => `http://127.0.0.1:${servers.granted}${path}`;
const redirectTo = (target: (s: typeof servers) => string) => () => ({ url: grantedUrl(`/redirect?to=${encodeURIComponent(target(servers))}`) });

async function startServers(scene: Scene): Promise<void> {
  const other = http.createServer((_req, res) => {
    servers.otherHits++;
    res.end(scene.secrets.outside);
  });
  const granted = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/redirect') res.writeHead(302, { location: url.searchParams.get('to') ?? '/' }).end();
    else res.end('hello from the granted server');
  });
  for (const server of [other, granted]) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    scene.cleanups.push(() => void server.close());
  }
  servers.other = (other.address() as AddressInfo).port;
  servers.granted = (granted.address() as AddressInfo).port;
}

const env = (method: string, request: unknown, expect: AttackCase['expect'] = 'deny'): AttackCase => ({
  name: `${method} ${JSON.stringify(request)}`,
  service: 'environment',
  method,
  request,
  expect,
});

const envCases: AttackCase[] = [
  ...['HOME', 'SECRET_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'PATH', 'APP', 'app_name', 'APPNAME', 'XAPP_NAME'].flatMap((name) => [
    env('getEnv', { name }),
    env('lookupEnv', { name }),
  ]),
  env('getEnv', { name: 'APP_NAME\0HOME' }, { denyOr: Code.INVALID_ARGUMENT }),
  env('getEnv', { name: 'APP_NAME=HOME' }, { denyOr: Code.INVALID_ARGUMENT }),
  ...['', 'A', 'APP', 'S', 'SECRET', '*', 'AP'].map((prefix) => env('listEnv', { prefix })),
  ...['$HOME', '${HOME}', '${SECRET_TOKEN}', '$APP_NAME $HOME', 'x${PATH}y', '$APP_NAME${AWS_SECRET_ACCESS_KEY}', '${HOME:-x}'].map((text) =>
    env('expandEnv', { text }),
  ),
  env('listEnv', { prefix: 'APP_' }, { allowed: (r) => assert.ok(r.variables.every((v: { name: string }) => v.name.startsWith('APP_')), JSON.stringify(r)) }),
  env('expandEnv', { text: '$(cat /etc/passwd) `id`' }, { allowed: (r) => assert.equal(r.text, '$(cat /etc/passwd) `id`') }),
  env('expandEnv', { text: '${APP_NAME:-$HOME}' }, { allowed: (r) => assert.ok(!r.text.includes('/home/host-user'), r.text) }),
];

const exec = (method: 'exec' | 'spawn', program: string, rest: Record<string, unknown> = {}, expect: AttackCase['expect'] = 'deny'): AttackCase => ({
  name: `${method} ${JSON.stringify(program)} ${JSON.stringify(rest)}`,
  service: 'processes',
  method,
  request: { program, args: ['-c', 'cat /etc/passwd'], ...rest },
  expect,
});

/** The literal output /bin/echo must give: the arguments, never their shell meaning. */
const metacharacters = ['$(cat /etc/passwd)', '`id`', '; cat secret.txt', '| cat', '&& rm -rf /', '$HOME', '*', '> out/x', "'\"", '\\n'];

const execCases: AttackCase[] = [
  ...(['exec', 'spawn'] as const).flatMap((m) => [
    exec(m, '/bin/sh'),
    exec(m, 'sh'),
    exec(m, 'bash'),
    exec(m, '/usr/bin/env', { args: ['sh', '-c', 'id'] }),
    exec(m, process.execPath, { args: ['-e', 'console.log(1)'] }),
    exec(m, '/proc/self/exe'),
    exec(m, `/proc/${process.pid}/exe`),
  ]),
  // exec: grants are resolved at grant time: where /bin links to usr/bin, "echo" and
  // /usr/bin/echo are the granted file itself, and run; /usr/bin/sh is still refused.
  ...['echo', '/usr/bin/echo'].map((program) =>
    exec('exec', program, { args: ['x'] }, realpathSync('/bin/echo') === realpathSync('/usr/bin/echo') ? { allowed: (r) => assert.equal(textOf(r.stdout), 'x\n') } : 'deny'),
  ),
  exec('exec', '/usr/bin/sh'),
  exec('exec', '/bin/../bin/sh'),
  exec('exec', '/bin/./echo', { args: ['x'] }),
  exec('exec', '/bin//echo', { args: ['x'] }),
  exec('exec', '/bin/echo/', { args: ['x'] }),
  exec('exec', '/bin/ECHO', { args: ['x'] }),
  exec('exec', ' /bin/echo', { args: ['x'] }),
  exec('exec', '/bin/echo ', { args: ['x'] }),
  exec('exec', './echo', { args: ['x'] }),
  exec('exec', '../../../../bin/sh'),
  exec('exec', '/bin/echo\0/bin/sh', {}, { denyOr: Code.INVALID_ARGUMENT }),
  exec('exec', '/bin/echo', { args: metacharacters }, {
    allowed: (r) => {
      assert.equal(textOf(r.stdout), `${metacharacters.join(' ')}\n`);
      assert.equal(r.program, '/bin/echo', 'the program is reported by the name it was asked by');
    },
  }),
  // LD_PRELOAD of a missing library would make the loader complain on stderr; dropped, it says nothing.
  exec('exec', '/bin/echo', { args: ['x'], env: { LD_PRELOAD: '/nonexistent/evil.so', LD_LIBRARY_PATH: '/nonexistent', GCONV_PATH: '/nonexistent' } }, {
    allowed: (r) => {
      assert.equal(textOf(r.stdout), 'x\n');
      assert.equal(textOf(r.stderr), '');
    },
  }),
  exec('exec', '/bin/echo', { args: ['x'], cwd: '../outside' }, { code: Code.INVALID_ARGUMENT }),
  exec('exec', '/bin/echo', { args: ['x'], cwd: '/etc' }, { code: Code.INVALID_ARGUMENT }),
  exec('exec', '/bin/echo', { args: ['x'], cwd: 'public/../..' }, { code: Code.INVALID_ARGUMENT }),
  ...['processOutput', 'wait', 'signal', 'writeStdin'].map(
    (method): AttackCase => ({ name: `${method} of a guessed process id`, service: 'processes', method, request: { id: '00000000-0000-4000-8000-000000000000', signal: 'SIGKILL' }, expect: 'deny' }),
  ),
  { name: 'listProcesses', service: 'processes', method: 'listProcesses', request: {}, expect: 'deny' },
];

const fetchCase = (name: string, request: () => unknown, expect: AttackCase['expect'] = 'deny'): AttackCase => ({ name, service: 'http', method: 'fetch', request, expect });

const httpCases: AttackCase[] = [
  fetchCase('127.0.0.1 on a port not granted', () => ({ url: `http://127.0.0.1:${servers.other}/` })),
  fetchCase('https to the port not granted', () => ({ url: `https://127.0.0.1:${servers.other}/` })),
  fetchCase('127.1 (short IPv4) to the port not granted', () => ({ url: `http://127.1:${servers.other}/` })),
  fetchCase('0x7f000001 to the port not granted', () => ({ url: `http://0x7f000001:${servers.other}/` })),
  fetchCase('2130706433 to the port not granted', () => ({ url: `http://2130706433:${servers.other}/` })),
  fetchCase('0177.0.0.1 to the port not granted', () => ({ url: `http://0177.0.0.1:${servers.other}/` })),
  fetchCase('userinfo that looks like the granted host', () => ({ url: `http://127.0.0.1:${servers.granted}@127.0.0.1:${servers.other}/` })),
  fetchCase('localhost when only 127.0.0.1 is granted', () => ({ url: `http://localhost:${servers.granted}/` })),
  fetchCase('[::1] when only 127.0.0.1 is granted', () => ({ url: `http://[::1]:${servers.granted}/` })),
  fetchCase('[::ffff:127.0.0.1] when only 127.0.0.1 is granted', () => ({ url: `http://[::ffff:127.0.0.1]:${servers.granted}/` })),
  fetchCase('0.0.0.0 on the granted port', () => ({ url: `http://0.0.0.0:${servers.granted}/` })),
  fetchCase('a name that resolves to loopback', () => ({ url: `http://127.0.0.1.nip.io:${servers.granted}/` })),
  fetchCase('10.0.0.1', () => ({ url: 'http://10.0.0.1/', timeoutMs: 1_000 })),
  fetchCase('169.254.169.254 (cloud metadata)', () => ({ url: 'http://169.254.169.254/latest/meta-data/', timeoutMs: 1_000 })),
  fetchCase('metadata.google.internal', () => ({ url: 'http://metadata.google.internal/computeMetadata/v1/', timeoutMs: 1_000 })),
  fetchCase('file:///etc/passwd', () => ({ url: 'file:///etc/passwd' })),
  fetchCase('gopher:// to the granted port', () => ({ url: `gopher://127.0.0.1:${servers.granted}/_GET` })),
  fetchCase('ftp://', () => ({ url: `ftp://127.0.0.1:${servers.granted}/` })),
  fetchCase('data: URL', () => ({ url: 'data:text/plain,hello' })),
  fetchCase('redirect to the port not granted', redirectTo((s) => `http://127.0.0.1:${s.other}/`)),
  fetchCase('redirect to 169.254.169.254', redirectTo(() => 'http://169.254.169.254/latest/meta-data/')),
  fetchCase('redirect to localhost on the granted port', redirectTo((s) => `http://localhost:${s.granted}/`)),
  fetchCase('redirect to [::1]', redirectTo((s) => `http://[::1]:${s.granted}/`)),
  fetchCase('redirect to file:///etc/passwd', redirectTo(() => 'file:///etc/passwd')),
  fetchCase('a forged Host header', () => ({ url: grantedUrl(), headers: [{ name: 'Host', value: `127.0.0.1:${servers.other}` }] }), { denyOr: Code.INVALID_ARGUMENT }),
  fetchCase('a header with CRLF to smuggle a second request', () => ({ url: grantedUrl(), headers: [{ name: 'X-A', value: `b\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1:${servers.other}` }] }), {
    denyOr: Code.INVALID_ARGUMENT,
  }),
  fetchCase('Transfer-Encoding framing', () => ({ url: grantedUrl(), method: 'POST', headers: [{ name: 'Transfer-Encoding', value: 'chunked' }] }), { denyOr: Code.INVALID_ARGUMENT }),
  fetchCase('the granted server itself works (control)', () => ({ url: grantedUrl() }), {
    allowed: (r) => assert.equal(r.map((m: { data: unknown }) => textOf(m.data)).join(''), 'hello from the granted server'),
  }),
];

const eventCases: AttackCase[] = [
  ...['victim.inbox', '>', 'attacker', 'attacker.x.y', 'attacker.>', 'x.attacker', 'hst.system'].map(
    (topic): AttackCase => ({ name: `publish ${topic}`, service: 'events', method: 'publish', request: { topic, payload: bytes('x') }, expect: 'deny' }),
  ),
  { name: 'publish to the wildcard topic attacker.*', service: 'events', method: 'publish', request: { topic: 'attacker.*', payload: bytes('x') }, expect: { denyOr: Code.INVALID_ARGUMENT } },
  ...['>', '*', 'victim.*', 'attacker.>', '*.*', '*.inbox', 'victim.>'].map(
    (pattern): AttackCase => ({ name: `subscribe ${pattern}`, service: 'events', method: 'subscribe', request: { pattern }, expect: 'deny' }),
  ),
  { name: 'listTopics (sees every plugin\'s topics)', service: 'events', method: 'listTopics', request: {}, expect: 'deny' },
];

const tempCases: AttackCase[] = [
  { name: 'createTempFile with a ../ prefix', service: 'temp', method: 'createTempFile', request: { prefix: '../../outside/', suffix: '' }, expect: { denyOr: Code.INVALID_ARGUMENT } },
  { name: 'createTempDir with a ../ suffix', service: 'temp', method: 'createTempDir', request: { prefix: 'a', suffix: '/../../x' }, expect: { denyOr: Code.INVALID_ARGUMENT } },
  { name: 'removeTemp ../', service: 'temp', method: 'removeTemp', request: { path: '../outside' }, expect: { denyOr: Code.INVALID_ARGUMENT } },
  { name: 'removeTemp $tmp/../..', service: 'temp', method: 'removeTemp', request: { path: '$tmp/../../outside' }, expect: { denyOr: Code.INVALID_ARGUMENT } },
  { name: 'removeTemp of an absolute path', service: 'temp', method: 'removeTemp', request: () => ({ path: scene.outside }), expect: { denyOr: Code.INVALID_ARGUMENT } },
];

const systemCases: AttackCase[] = ['hostname', 'userInfo', 'osInfo', 'cpuInfo', 'memoryInfo'].map((method) => ({
  name: `system ${method} without the system capability`,
  service: 'system',
  method,
  request: {},
  expect: 'deny',
}));

describe('host-call attacks', () => {
  before(async () => {
    scene = await createScene({ attacker: () => narrowManifest(servers.granted), prepare: startServers });
  });
  after(() => scene.close());

  describe('environment outside env:APP_*', () => {
    for (const c of envCases) it(c.name, check(c));
  });
  describe('processes outside exec:/bin/echo', () => {
    for (const c of execCases) it(c.name, check(c));
  });
  describe('http outside net:127.0.0.1:<port>', () => {
    for (const c of httpCases) it(c.name, check(c));
    it('no request ever reached the server that was not granted', () => assert.equal(servers.otherHits, 0));
    it('a refused redirect is audited against the hop it refused', async () => {
      const { audit } = await scene.attack(fetchCase('redirect', redirectTo((s) => `http://127.0.0.1:${s.other}/`)));
      const deny = audit.find((r) => r.decision === 'deny');
      assert.ok(deny);
      assert.ok(
        deny.resource.includes(String(servers.other)) || deny.rule !== `net:127.0.0.1:${servers.granted}`,
        `the deny record names only the allowed first hop and the rule that allowed it: ${JSON.stringify(deny)}`,
      );
    });
  });
  describe('events outside attacker.*', () => {
    for (const c of eventCases) it(c.name, check(c));
  });
  describe('temp names that try to leave the temp directory', () => {
    for (const c of tempCases) it(c.name, check(c));
  });
  describe('system information without the capability', () => {
    for (const c of systemCases) it(c.name, check(c));
  });
  it('a log message cannot forge an audit line', async () => {
    const forged = JSON.stringify({ plugin: 'victim', op: 'Forged/Op', decision: 'allow' });
    await scene.attack({
      name: 'log',
      service: 'log',
      method: 'log',
      request: { level: 3, message: `ok\n${forged}\n`, fields: { '\n{"op":"Forged/Field"}': forged } },
      expect: { allowed: () => {} },
    });
    const lines = readFileSync(scene.audit.path, 'utf8').split('\n').filter((l) => l !== '');
    assert.equal(readAudit(scene.audit.path).length, lines.length, 'a line of the audit log is not a record');
    assert.ok(readAudit(scene.audit.path).every((r) => !r.op.startsWith('Forged/')));
  });
});
