import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import dns from 'node:dns';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { HttpDefinition, type FetchResponse } from '../gen/hst/host/v1/http.js';
import { generateCertificate } from '../protocol/mtls.js';
import type { Client } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { classifyAddress } from '../security/net-address.js';
import { hostHarness, type Harness, type PluginSide } from '../../test/support/host-harness.js';
import type { Caller } from './caller.js';
import { httpService, MAX_REDIRECTS } from './http.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface TestServer {
  port: number;
  origin: string;
  requests: Seen[];
  connections: number;
  /** Resolves with the next request the server receives. */
  nextRequest(): Promise<Seen>;
  /** Resolves when every connection the server accepted has closed. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

async function listen(server: http.Server, host: string, handler: Handler): Promise<TestServer> {
  const requests: Seen[] = [];
  const sockets = new Set<Socket>();
  let waiting: Array<(s: Seen) => void> = [];
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(seen);
      for (const w of waiting.splice(0)) w(seen);
      handler(req, res, seen.body);
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const scheme = server instanceof https.Server ? 'https' : 'http';
  return {
    port,
    origin: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    requests,
    get connections() {
      return connections;
    },
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
    allClosed: async () => {
      while (sockets.size > 0) await new Promise((r) => setTimeout(r, 10));
    },
    close: async () => {
      waiting = [];
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

const serve = (handler: Handler, host = '127.0.0.1') => listen(http.createServer(), host, handler);

/** Checks a call failed with `code` and details, after the method path the client puts first, matching `details`. */
function fails(code: keyof typeof Code, details: RegExp, note?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof RpcError, String(err));
    assert.equal(Code[err.code], code, `${note ?? ''} ${err.message}`);
    assert.match(err.details.replace(/^\/hst\.host\.v1\.Http\/Fetch: /, ''), details, note);
    return true;
  };
}

async function collect(stream: AsyncIterable<FetchResponse>) {
  const messages: FetchResponse[] = [];
  for await (const m of stream) messages.push(m);
  const head = messages[0]?.head;
  assert.ok(head, 'the first message carries the head');
  assert.ok(messages.slice(1).every((m) => m.head === undefined), 'only the first message carries the head');
  return { head, messages, body: Buffer.concat(messages.slice(1).map((m) => m.data)), truncated: messages.at(-1)?.truncated ?? false };
}

/** A policy on the caller: `net` and `net!explicit` by resource, everything recorded; other capabilities refused. */
function grant(caller: Caller, net: (resource: string) => boolean, explicit: (resource: string) => boolean = () => false): string[] {
  const asked: string[] = [];
  const decide = (capability: string, resource: string): boolean => {
    asked.push(`${capability} ${resource}`);
    if (capability === 'net') return net(resource);
    if (capability === 'net!explicit') return explicit(resource);
    return false;
  };
  caller.setPermissionCheck((capability, resource) => {
    const allowed = decide(capability, resource);
    return { allowed, rule: allowed ? `test grant ${capability}` : 'test deny' };
  });
  return asked;
}

/** HTTP client requests and client sockets the process starts while `fn` runs. */
async function connectionsDuring(fn: () => Promise<void>): Promise<{ requests: number; sockets: number }> {
  const started = { requests: 0, sockets: 0 };
  const request = () => void started.requests++;
  const socket = () => void started.sockets++;
  dc.subscribe('http.client.request.start', request);
  dc.subscribe('net.client.socket', socket);
  try {
    await fn();
  } finally {
    dc.unsubscribe('http.client.request.start', request);
    dc.unsubscribe('net.client.socket', socket);
  }
  return started;
}

async function setup(limits: Parameters<typeof hostHarness>[0]['limits'] = {}) {
  const h = await hostHarness({ modules: [httpService], limits });
  const plugin = await h.plugin('plugin-a');
  const client = plugin.client(HttpDefinition);
  // Connects the gRPC channel now, so later socket counts see only what Fetch does.
  await assert.rejects(collect(client.fetch({ url: 'ftp://warm.up/' })), /INVALID_ARGUMENT/);
  return { h, plugin, client };
}

type Fixture = { h: Harness; plugin: PluginSide; client: Client<typeof HttpDefinition> };

async function withSetup(fn: (f: Fixture) => Promise<void>, limits?: Parameters<typeof setup>[0]): Promise<void> {
  const f = await setup(limits);
  try {
    await fn(f);
  } finally {
    await f.h.close();
  }
}

async function listenIPv6(handler: Handler): Promise<TestServer | undefined> {
  try {
    return await serve(handler, '::1');
  } catch {
    return undefined;
  }
}

describe('Http service', () => {
  it('GET and POST: the head first, then the body in chunks of at most the stream chunk size', async () => {
    const big = randomBytes(200_000);
    const server = await serve((req, res, body) => {
      if (req.url === '/big') {
        res.writeHead(200, 'Fine', [['X-Reply', 'yes'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Length', String(big.length)]]);
        res.end(big);
      } else if (req.url?.startsWith('/echo')) {
        res.writeHead(201, { 'Content-Type': req.headers['content-type'] ?? '' });
        res.end(body);
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        res.writeHead(Number(req.url?.slice(1)) || 404).end('nope');
      }
    });
    try {
      await withSetup(async ({ h, client }) => {
        const got = await collect(client.fetch({ url: `${server.origin}/big` }));
        assert.equal(got.head.status, 200);
        assert.equal(got.head.statusText, 'Fine');
        assert.equal(got.head.url, `${server.origin}/big`);
        assert.equal(got.head.redirects, 0);
        const reply = got.head.headers.filter((x) => ['X-Reply', 'Set-Cookie'].includes(x.name));
        assert.deepEqual(reply, [
          { name: 'X-Reply', value: 'yes' },
          { name: 'Set-Cookie', value: 'a=1' },
          { name: 'Set-Cookie', value: 'b=2' },
        ]);
        assert.ok(got.body.equals(big));
        assert.ok(got.messages.length >= 1 + big.length / 1000, `${got.messages.length} messages`);
        assert.ok(got.messages.every((m) => m.data.length <= 1000));
        assert.equal(got.truncated, false);
        const get = server.requests.at(-1);
        assert.equal(get?.method, 'GET');
        assert.equal(get?.headers.host, `127.0.0.1:${server.port}`);
        assert.equal(get?.headers['content-length'], undefined);

        const payload = randomBytes(5000);
        const posted = await collect(
          client.fetch({
            method: 'POST',
            url: `${server.origin}/echo?q=1#fragment`,
            headers: [
              { name: 'Content-Type', value: 'application/octet-stream' },
              { name: 'X-Test', value: 'one' },
              { name: 'x-test', value: 'two' },
            ],
            body: payload,
          }),
        );
        assert.equal(posted.head.status, 201);
        assert.ok(posted.body.equals(payload));
        const post = server.requests.at(-1);
        assert.equal(post?.method, 'POST');
        assert.equal(post?.url, '/echo?q=1', 'the fragment is not sent');
        assert.equal(post?.headers['content-length'], String(payload.length));
        assert.equal(post?.headers['transfer-encoding'], undefined);
        assert.equal(post?.headers['x-test'], 'one, two');
        assert.ok(post?.body.equals(payload));

        const empty = await collect(client.fetch({ url: `${server.origin}/empty` }));
        assert.equal(empty.head.status, 204);
        assert.equal(empty.messages.length, 1);
        for (const status of [404, 500, 418]) {
          const r = await collect(client.fetch({ url: `${server.origin}/${status}` }));
          assert.equal(r.head.status, status);
          assert.equal(r.body.toString(), 'nope');
        }

        const record = h.records.find((r) => r.operation === 'Http/Fetch' && r.ok);
        assert.deepEqual([record?.capability, record?.resource], ['net', `127.0.0.1:${server.port}`]);
      }, { streamChunkBytes: 1000 });
    } finally {
      await server.close();
    }
  });

  it('follows redirects, checks every hop, drops credentials across origins and the body on 303', async () => {
    const b = await serve((_req, res) => res.end('final'));
    const a = await serve((req, res, body) => {
      const go = (status: number, location: string) => res.writeHead(status, { Location: location }).end();
      if (req.url === '/start') go(302, '/same');
      else if (req.url === '/same') go(307, `${b.origin}/final`);
      else if (req.url === '/see-other') go(303, '/echo');
      else if (req.url === '/keep') go(307, '/echo');
      else if (req.url === '/loop') go(302, '/loop');
      else if (req.url === '/bad-location') go(302, 'http://[bad');
      else if (req.url === '/to-file') go(302, 'file:///etc/passwd');
      else res.end(body);
    });
    try {
      await withSetup(async ({ plugin, client }) => {
        const asked = grant(plugin.caller, () => true, () => true);
        const got = await collect(
          client.fetch({
            url: `${a.origin}/start`,
            headers: [
              { name: 'Authorization', value: 'Bearer secret' },
              { name: 'Cookie', value: 'session=1' },
              { name: 'X-Keep', value: 'kept' },
            ],
          }),
        );
        assert.equal(got.head.status, 200);
        assert.equal(got.body.toString(), 'final');
        assert.equal(got.head.url, `${b.origin}/final`);
        assert.equal(got.head.redirects, 2);
        const same = a.requests.find((r) => r.url === '/same');
        assert.equal(same?.headers.authorization, 'Bearer secret', 'same origin keeps credentials');
        assert.equal(same?.headers.cookie, 'session=1');
        const final = b.requests.at(-1);
        assert.equal(final?.headers.authorization, undefined, 'another origin gets no credentials');
        assert.equal(final?.headers.cookie, undefined);
        assert.equal(final?.headers['x-keep'], 'kept');
        assert.equal(final?.headers.host, `127.0.0.1:${b.port}`);
        assert.deepEqual(
          asked,
          [a.port, a.port, b.port].flatMap((port) => [`net 127.0.0.1:${port}`, `net!explicit 127.0.0.1:${port}`]),
          'each hop is checked: the grant, then (loopback) that it names the host exactly',
        );

        const form = [{ name: 'Content-Type', value: 'text/plain' }];
        const seeOther = await collect(client.fetch({ method: 'POST', url: `${a.origin}/see-other`, headers: form, body: Buffer.from('payload') }));
        assert.equal(seeOther.body.length, 0);
        const afterSeeOther = a.requests.at(-1);
        assert.equal(afterSeeOther?.method, 'GET');
        assert.equal(afterSeeOther?.headers['content-type'], undefined);
        const kept = await collect(client.fetch({ method: 'POST', url: `${a.origin}/keep`, headers: form, body: Buffer.from('payload') }));
        assert.equal(kept.body.toString(), 'payload');
        assert.equal(a.requests.at(-1)?.method, 'POST');
        assert.equal(a.requests.at(-1)?.headers['content-type'], 'text/plain');

        const unfollowed = await collect(client.fetch({ url: `${a.origin}/start`, followRedirects: false }));
        assert.equal(unfollowed.head.status, 302);
        assert.deepEqual(unfollowed.head.headers.find((x) => x.name.toLowerCase() === 'location')?.value, '/same');
        assert.equal(unfollowed.head.redirects, 0);

        const before = a.requests.length;
        await assert.rejects(collect(client.fetch({ url: `${a.origin}/loop` })), fails('FAILED_PRECONDITION', new RegExp(`^Http/Fetch 127\\.0\\.0\\.1:${a.port}: more than ${MAX_REDIRECTS} redirects$`)));
        assert.equal(a.requests.length - before, MAX_REDIRECTS + 1);
        await assert.rejects(collect(client.fetch({ url: `${a.origin}/bad-location` })), fails('FAILED_PRECONDITION', /^Http\/Fetch 127\.0\.0\.1:\d+: answered 302 with an invalid Location$/));
        await assert.rejects(collect(client.fetch({ url: `${a.origin}/to-file` })), fails('PERMISSION_DENIED', /^Http\/Fetch 127\.0\.0\.1:\d+: redirect 1: goes to a file: URL; only http: and https: are followed$/));
      });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a redirect to a host:port the grant does not cover is PERMISSION_DENIED naming the hop, and never contacted', async () => {
    const b = await serve((_req, res) => res.end('should not be reached'));
    const a = await serve((req, res) => {
      const target = req.url === '/metadata' ? 'http://169.254.169.254/latest/meta-data/' : req.url === '/private' ? 'http://10.0.0.1/' : `${b.origin}/`;
      res.writeHead(302, { Location: target }).end();
    });
    try {
      await withSetup(async ({ plugin, client }) => {
        const onlyA = `127.0.0.1:${a.port}`;
        grant(plugin.caller, (r) => r === onlyA, (r) => r === onlyA);
        await assert.rejects(
          collect(client.fetch({ url: `${a.origin}/`, timeoutMs: 3000 })),
          fails('PERMISSION_DENIED', new RegExp(`^Http/Fetch ${onlyA}: redirect 1 to 127\\.0\\.0\\.1:${b.port}: 127\\.0\\.0\\.1:${b.port} is not granted by the net capability$`)),
        );
        assert.equal(b.connections, 0);

        // Any host allowed, but only A by name: a redirect into the metadata service or a private network is refused.
        grant(plugin.caller, () => true, (r) => r === onlyA);
        const connections = await connectionsDuring(async () => {
          await assert.rejects(collect(client.fetch({ url: `${a.origin}/metadata`, timeoutMs: 3000 })), fails(
            'PERMISSION_DENIED',
            new RegExp(`^Http/Fetch ${onlyA}: redirect 1 to 169\\.254\\.169\\.254:80: 169\\.254\\.169\\.254 is a link-local address; that needs a net grant naming 169\\.254\\.169\\.254:80 exactly, not a wildcard$`),
          ));
          await assert.rejects(collect(client.fetch({ url: `${a.origin}/private`, timeoutMs: 3000 })), fails('PERMISSION_DENIED', /: redirect 1 to 10\.0\.0\.1:80: 10\.0\.0\.1 is a private address;/));
        });
        assert.deepEqual(connections, { requests: 2, sockets: 2 }, 'one connection each, to A; none to the redirect targets');
      });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('loopback under a wildcard-style grant (net yes, net!explicit no) is refused however it is spelled', async () => {
    const v4 = await serve((req, res) => res.end(`v4 ${req.headers.host}`));
    const v6 = await listenIPv6((req, res) => res.end(`v6 ${req.headers.host}`));
    try {
      await withSetup(async ({ plugin, client }) => {
        const asked = grant(plugin.caller, () => true);
        const p = v4.port;
        const spellings = [
          `http://localhost:${p}/`,
          `http://127.0.0.1:${p}/`,
          `http://0x7f000001:${p}/`,
          `http://2130706433:${p}/`,
          `http://127.1:${p}/`,
          `http://0177.0.0.1:${p}/`,
          `http://[::ffff:127.0.0.1]:${p}/`,
          `http://[::ffff:7f00:1]:${p}/`,
          `http://[::1]:${v6?.port ?? p}/`,
          `http://[0:0:0:0:0:0:0:1]:${v6?.port ?? p}/`,
          `http://0.0.0.0:${p}/`,
          `http://[::]:${p}/`,
        ];
        for (const url of spellings) {
          await assert.rejects(collect(client.fetch({ url, timeoutMs: 3000 })), fails(
            'PERMISSION_DENIED',
            /^Http\/Fetch \S+: (\S+ is an? (loopback|unspecified) address|localhost resolves to 127\.0\.0\.1 \(loopback\)); that needs a net grant naming \S+ exactly, not a wildcard$/,
            url,
          ));
        }
        assert.ok(asked.includes(`net!explicit 127.0.0.1:${p}`), 'the shorthand forms reach the policy as 127.0.0.1');
        assert.ok(asked.includes(`net!explicit [::ffff:7f00:1]:${p}`));
        assert.ok(asked.includes(`net!explicit localhost:${p}`));
        assert.equal(v4.connections, 0);
        assert.equal(v6?.connections ?? 0, 0);

        // A grant naming the host exactly unlocks that host, and only that spelling of it.
        grant(plugin.caller, () => true, (r) => r === `localhost:${p}` || r === `127.0.0.1:${p}` || r === `[::1]:${v6?.port}`);
        const byName = await collect(client.fetch({ url: `http://localhost:${p}/` }));
        assert.equal(byName.body.toString(), `v4 localhost:${p}`, 'the Host header is the name asked for');
        const byAddress = await collect(client.fetch({ url: `http://127.1:${p}/` }));
        assert.equal(byAddress.body.toString(), `v4 127.0.0.1:${p}`);
        await assert.rejects(collect(client.fetch({ url: `http://[::ffff:127.0.0.1]:${p}/` })), fails('PERMISSION_DENIED', /\[::ffff:7f00:1\] is a loopback address/));
        if (v6) {
          const ipv6 = await collect(client.fetch({ url: `${v6.origin}/` }));
          assert.equal(ipv6.body.toString(), `v6 [::1]:${v6.port}`);
        }
      });
    } finally {
      await v4.close();
      await v6?.close();
    }
  });

  it('connects to the addresses it checked: a second DNS answer (rebinding) is never asked for', async () => {
    const server = await serve((req, res) => res.end(`reached ${req.headers.host}`));
    const { lookup } = dns;
    const rebound: string[] = [];
    // What the socket would see if it resolved the name again: a metadata address.
    dns.lookup = ((hostname: string, _options: unknown, callback: (err: null, address: string, family: number) => void) => {
      rebound.push(hostname);
      callback(null, '169.254.169.254', 4);
    }) as typeof dns.lookup;
    try {
      await withSetup(async ({ plugin, client }) => {
        grant(plugin.caller, () => true, (r) => r === `localhost:${server.port}`);
        const got = await collect(client.fetch({ url: `http://localhost:${server.port}/`, timeoutMs: 3000 }));
        assert.equal(got.body.toString(), `reached localhost:${server.port}`);
        assert.deepEqual(rebound, []);
        assert.equal(server.connections, 1);
      });
    } finally {
      dns.lookup = lookup;
      await server.close();
    }
  });

  it('metadata and private addresses are refused before any connection is attempted', async () => {
    for (const [address, kind] of [
      ['169.254.169.254', 'link-local'],
      ['10.0.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['172.16.0.1', 'private'],
      ['100.64.0.1', 'shared'],
      ['fd00::1', 'private'],
      ['fe80::1', 'link-local'],
      ['::ffff:169.254.169.254', 'link-local'],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'broadcast'],
    ]) {
      assert.equal(classifyAddress(address as string), kind, address);
    }
    await withSetup(async ({ plugin, client }) => {
      grant(plugin.caller, () => true);
      const hosts = ['169.254.169.254', '10.0.0.1', '192.168.1.1', '172.16.0.1', '100.64.0.1', '[fd00::1]', '[fe80::1]', '[::ffff:169.254.169.254]', '[64:ff9b::a9fe:a9fe]', '224.0.0.1', '255.255.255.255'];
      const connections = await connectionsDuring(async () => {
        for (const host of hosts) {
          const started = Date.now();
          await assert.rejects(collect(client.fetch({ url: `http://${host}/latest/meta-data/`, timeoutMs: 5000 })), fails('PERMISSION_DENIED', /^Http\/Fetch \S+: \S+ is an? \S+ address; that needs a net grant naming \S+ exactly, not a wildcard$/));
          assert.ok(Date.now() - started < 1000, `${host} failed fast`);
        }
      });
      assert.deepEqual(connections, { requests: 0, sockets: 0 }, 'no request was made and no socket opened');

      grant(plugin.caller, () => false, () => true);
      await assert.rejects(collect(client.fetch({ url: 'http://10.0.0.1:8080/' })), fails('PERMISSION_DENIED', /^Http\/Fetch 10\.0\.0\.1:8080: 10\.0\.0\.1:8080 is not granted by the net capability$/));
    });
  });

  it('cuts the body at max_response_bytes, flags it and closes the connection', async () => {
    const big = randomBytes(300_000);
    const server = await serve((_req, res) => res.end(big));
    try {
      await withSetup(async ({ client }) => {
        const cut = await collect(client.fetch({ url: `${server.origin}/`, maxResponseBytes: 50_000 }));
        assert.equal(cut.truncated, true);
        assert.ok(cut.body.equals(big.subarray(0, 50_000)));
        assert.deepEqual(cut.messages.at(-1)?.data.length, 0, 'the flag comes on a final message of its own');
        await server.allClosed();

        const whole = await collect(client.fetch({ url: `${server.origin}/`, maxResponseBytes: big.length }));
        assert.equal(whole.truncated, false);
        assert.ok(whole.body.equals(big));

        await assert.rejects(collect(client.fetch({ url: `${server.origin}/`, maxResponseBytes: -1 })), fails('INVALID_ARGUMENT', /^Http\/Fetch 127\.0\.0\.1:\d+: max_response_bytes is negative$/));
      });
    } finally {
      await server.close();
    }
  });

  it('a server that never answers, or stalls in the body, ends in DEADLINE_EXCEEDED and is disconnected', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/stall-body') {
        res.writeHead(200, { 'Content-Length': '1000' });
        res.write('partial');
      }
    });
    try {
      await withSetup(async ({ client }) => {
        let started = Date.now();
        await assert.rejects(collect(client.fetch({ url: `${server.origin}/silent`, timeoutMs: 300 })), fails('DEADLINE_EXCEEDED', new RegExp(`^Http/Fetch 127\\.0\\.0\\.1:${server.port}: no complete response within 300 ms$`)));
        assert.ok(Date.now() - started < 3000);
        await server.allClosed();

        started = Date.now();
        const messages: FetchResponse[] = [];
        await assert.rejects(
          (async () => {
            for await (const m of client.fetch({ url: `${server.origin}/stall-body`, timeoutMs: 400 })) messages.push(m);
          })(),
          /DEADLINE_EXCEEDED/,
        );
        assert.equal(messages[0]?.head?.status, 200);
        assert.equal(Buffer.concat(messages.slice(1).map((m) => m.data)).toString(), 'partial');
        assert.ok(Date.now() - started < 3000);
        await server.allClosed();
      });
    } finally {
      await server.close();
    }
  });

  it('refuses other schemes, credentials in URLs, bad methods and headers that frame the request', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    try {
      await withSetup(async ({ client }) => {
        const o = server.origin;
        const refused: Array<[Parameters<typeof client.fetch>[0], RegExp]> = [
          [{ url: 'file:///etc/passwd' }, /Http\/Fetch: file: URLs cannot be fetched, only http: and https:/],
          [{ url: 'ftp://127.0.0.1/' }, /Http\/Fetch: ftp: URLs cannot be fetched/],
          [{ url: 'data:text/plain,hello' }, /Http\/Fetch: data: URLs cannot be fetched/],
          [{ url: 'javascript:alert(1)' }, /Http\/Fetch: javascript: URLs cannot be fetched/],
          [{ url: '/relative' }, /Http\/Fetch: "\/relative" is not an absolute URL/],
          [{ url: `http://user:pw@127.0.0.1:${server.port}/` }, /credentials in the URL are not sent/],
          [{ url: o, method: 'CONNECT' }, /CONNECT is refused/],
          [{ url: o, method: 'GET /x HTTP/1.1\r\nHost: evil' }, /is not an HTTP method/],
          [{ url: o, timeoutMs: -1 }, /timeout_ms is negative/],
        ];
        for (const name of ['Host', 'Connection', 'Keep-Alive', 'Transfer-Encoding', 'TE', 'Trailer', 'Upgrade', 'Content-Length', 'Expect', 'Proxy-Authorization', 'proxy-connection', 'HTTP2-Settings']) {
          refused.push([{ url: o, headers: [{ name, value: 'x' }] }, new RegExp(`the ${name} header is set by the host`)]);
        }
        for (const name of ['X Bad', 'X:Bad', 'X\r\nInjected', '']) {
          refused.push([{ url: o, headers: [{ name, value: 'x' }] }, /is not a valid header name/]);
        }
        for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\0b', 'a\x7fb', 'caf\u00e9 \u2603']) {
          refused.push([{ url: o, headers: [{ name: 'X-Ok', value }] }, /the value of X-Ok holds a character no header may carry/]);
        }
        for (const [request, message] of refused) {
          await assert.rejects(collect(client.fetch(request)), (err) => {
            const note = JSON.stringify(request);
            return fails('INVALID_ARGUMENT', /^Http\/Fetch[ :]/, note)(err) && fails('INVALID_ARGUMENT', message, note)(err);
          });
        }
        assert.equal(server.connections, 0);
      });
      await withSetup(
        async ({ client }) => {
          await assert.rejects(collect(client.fetch({ method: 'PUT', url: server.origin, body: Buffer.alloc(101) })), fails('OUT_OF_RANGE', /^Http\/Fetch 127\.0\.0\.1:\d+: a 101-byte body is more than the host's limit of 100$/));
        },
        { maxWriteBytes: 100 },
      );
    } finally {
      await server.close();
    }
  });

  it('https: the certificate is checked against the name asked for, which goes out as the TLS server name', async () => {
    const { cert, key } = await generateCertificate();
    const names: string[] = [];
    const context = createSecureContext({ cert, key });
    const server = await listen(
      https.createServer({ cert, key, SNICallback: (name, cb) => (names.push(name), cb(null, context)) }),
      '127.0.0.1',
      (_req, res) => res.end('trusted?'),
    );
    try {
      await withSetup(async ({ plugin, client }) => {
        grant(plugin.caller, () => true, () => true);
        await assert.rejects(collect(client.fetch({ url: `https://localhost:${server.port}/` })), fails('UNAVAILABLE', /^Http\/Fetch localhost:\d+: self[- ]signed certificate$/));
        assert.deepEqual(names, ['localhost']);
        await assert.rejects(collect(client.fetch({ url: `https://127.0.0.1:${server.port}/` })), fails('UNAVAILABLE', /^Http\/Fetch 127\.0\.0\.1:\d+: .*certificate/));
        // The host's own environment cannot switch verification off for plugins.
        const saved = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
        process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
        try {
          await assert.rejects(collect(client.fetch({ url: `https://localhost:${server.port}/` })), fails('UNAVAILABLE', /certificate/));
        } finally {
          if (saved === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
          else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = saved;
        }
        assert.equal(server.requests.length, 0, 'no request went over an unverified connection');
      });
    } finally {
      await server.close();
    }
  });

  it('a refused connection is UNAVAILABLE', async () => {
    const gone = await serve(() => {});
    await gone.close();
    await withSetup(async ({ client }) => {
      await assert.rejects(collect(client.fetch({ url: `${gone.origin}/` })), fails('UNAVAILABLE', new RegExp(`^Http/Fetch 127\\.0\\.0\\.1:${gone.port}: connect ECONNREFUSED`)));
    });
  });

  it('cancelling the call, the plugin going away or its grant being withdrawn closes the connection', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/stall-body') {
        res.writeHead(200);
        res.write('partial');
      }
    });
    try {
      await withSetup(async ({ plugin, client }) => {
        const cancel = new AbortController();
        const cancelled = collect(client.fetch({ url: `${server.origin}/silent` }, { signal: cancel.signal }));
        await server.nextRequest();
        cancel.abort();
        await assert.rejects(cancelled, fails('CANCELLED', /./));
        await server.allClosed();

        const stream = client.fetch({ url: `${server.origin}/stall-body` })[Symbol.asyncIterator]();
        assert.equal((await stream.next()).value?.head?.status, 200);
        grant(plugin.caller, () => false);
        await assert.rejects(
          (async () => {
            while (!(await stream.next()).done);
          })(),
          fails('PERMISSION_DENIED', new RegExp(`^Http/Fetch 127\\.0\\.0\\.1:${server.port}: the grant for 127\\.0\\.0\\.1:${server.port} was withdrawn$`)),
        );
        await server.allClosed();

        grant(plugin.caller, () => true, () => true);
        const abandoned = collect(client.fetch({ url: `${server.origin}/silent` })).catch((err: Error) => err);
        await server.nextRequest();
        await plugin.disconnect();
        await server.allClosed();
        assert.ok((await abandoned) instanceof Error);
      });
    } finally {
      await server.close();
    }
  });
});
