/**
 * Our yamux against the real github.com/hashicorp/yamux (interop/go's
 * yamux-peer, default config, keepalive on) in both roles: echoing 16
 * concurrent streams of 8 MiB each way, and one HTTP/2 exchange over a yamux
 * stream each way.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { YamuxSession } from '../../src/rpc/yamux/session.js';
import { readAll, settles, until } from '../support/assertions.js';
import { goPeers, inTempDir } from '../support/peers.js';

const peers = goPeers();
const skip = 'skip' in peers ? peers.skip : false;
const yamuxPeer = join('bin' in peers ? peers.bin : '', 'yamux-peer');

const MiB = 1024 * 1024;
const STREAMS = 16;
const BYTES = 8 * MiB;

async function writeInPieces(stream: Duplex, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const n = 1 + Math.floor(Math.random() * 256 * 1024);
    if (!stream.write(data.subarray(at, at + n))) await once(stream, 'drain');
    at += n;
  }
  stream.end();
}

/** yamux-peer with `args`; `exit` is its exit code with everything it printed. */
function run(args: string[]): { child: ChildProcess; output: () => string; exit: Promise<{ code: number | null; output: string }> } {
  const child = spawn(yamuxPeer, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  const exit = once(child, 'exit').then(([code]) => ({ code: code as number | null, output }));
  return { child, output: () => output, exit };
}

/** A Go yamux server on a socket in `dir`, and our client session connected to it. */
async function goServer(dir: string, args: string[] = []): Promise<{ session: YamuxSession; peer: ReturnType<typeof run> }> {
  const path = join(dir, 'yamux.sock');
  const peer = run(['server', ...args, path]);
  try {
    await settles(
      new Promise<void>((resolve, reject) => {
        peer.child.stdout!.on('data', () => peer.output().includes('listening\n') && resolve());
        void peer.exit.then(({ code, output }) => reject(new Error(`yamux-peer exited (${code}) before listening: ${output}`)));
      }),
      'yamux-peer to listen',
      60_000,
    );
    const socket = connect(path);
    await once(socket, 'connect');
    return { session: new YamuxSession(socket, { client: true }), peer };
  } catch (err) {
    peer.child.kill();
    throw err;
  }
}

/** A Go yamux client started with `args` against a socket in `dir`, and our server session on its connection. */
async function goClient(dir: string, args: string[]): Promise<{ session: YamuxSession; peer: ReturnType<typeof run> }> {
  const path = join(dir, 'yamux.sock');
  const listener = createServer();
  listener.listen(path);
  await once(listener, 'listening');
  const peer = run(['client', ...args, path]);
  try {
    const [socket] = (await settles(once(listener, 'connection'), 'yamux-peer to connect', 60_000)) as [Socket];
    return { session: new YamuxSession(socket, { client: false }), peer };
  } catch (err) {
    peer.child.kill();
    throw err;
  } finally {
    listener.close();
  }
}

/** Answers every request with its body and the body's SHA-256 in x-sha256, as yamux-peer's HTTP/2 server does. */
function echoingHttp2Server(): http2.Http2Server {
  const server = http2.createServer();
  server.on('stream', (h2) => {
    void readAll(h2).then((body) => {
      h2.respond({ ':status': 200, 'x-sha256': sha256(body) });
      h2.end(body);
    });
  });
  return server;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('yamux interop with hashicorp/yamux', { skip }, () => {
  it(`TS client, Go server: ${STREAMS} concurrent streams echo ${BYTES / MiB} MiB each way`, { timeout: 180_000 }, () =>
    inTempDir(async (dir) => {
      const { session, peer } = await goServer(dir);
      try {
        assert.ok((await settles(session.ping(), 'the pong from Go', 60_000)) >= 0);
        const payloads = Array.from({ length: STREAMS }, () => randomBytes(BYTES));
        const start = performance.now();
        const echoed = await settles(
          Promise.all(
            payloads.map(async (data) => {
              const stream = session.open();
              const [back] = await Promise.all([readAll(stream), writeInPieces(stream, data)]);
              return back;
            }),
          ),
          'the echoes',
          150_000,
        );
        const seconds = (performance.now() - start) / 1000;
        echoed.forEach((back, i) => assert.ok(back.equals(payloads[i]!), `stream ${2 * i + 1}: the echo differs (${back.length} bytes back)`));
        console.log(`# TS client -> Go server: ${(((STREAMS * BYTES) / MiB) / seconds).toFixed(0)} MiB/s each way`);
        session.close();
        const { code, output } = await settles(peer.exit, 'yamux-peer to exit after the session closed', 60_000);
        assert.equal(code, 0, output);
      } finally {
        peer.child.kill();
      }
    }));

  it(`Go client, TS server: ${STREAMS} concurrent streams echo ${BYTES / MiB} MiB each way`, { timeout: 180_000 }, () =>
    inTempDir(async (dir) => {
      const { session, peer } = await goClient(dir, ['-streams', String(STREAMS), '-bytes', String(BYTES)]);
      try {
        const accepted: number[] = [];
        let closed = false;
        session.on('close', () => (closed = true));
        session.on('stream', (stream) => {
          accepted.push(stream.id);
          stream.pipe(stream);
        });
        const { code, output } = await settles(peer.exit, 'yamux-peer to finish', 150_000);
        assert.equal(code, 0, output);
        assert.match(output, new RegExp(`^echoed ${STREAMS} streams x ${BYTES} bytes in \\d+ ms`, 'm'));
        console.log(`# Go client -> TS server: ${output.match(/\((\d+ MiB\/s) each way\)/)?.[1]} each way`);
        // (Sorted: the Go client opens them from concurrent goroutines, in no set order.)
        assert.deepEqual(
          accepted.sort((a, b) => a - b),
          Array.from({ length: STREAMS }, (_, i) => 2 * i + 1),
        );
        await until(() => closed, 'the session to close with the connection');
      } finally {
        peer.child.kill();
      }
    }));

  it('HTTP/2 from our http2 client over a yamux stream to a Go h2c server', { timeout: 60_000 }, () =>
    inTempDir(async (dir) => {
      const { session, peer } = await goServer(dir, ['-http2']);
      try {
        const h2 = http2.connect('http://localhost', { createConnection: () => session.open() });
        const body = randomBytes(1.5 * MiB);
        const req = h2.request({ ':method': 'POST', ':path': '/echo' });
        req.end(body);
        const [headers] = (await settles(once(req, 'response'), 'the response', 60_000)) as [http2.IncomingHttpHeaders];
        const back = await settles(readAll(req), 'the response body', 60_000);
        assert.equal(headers[':status'], 200);
        assert.equal(headers['x-sha256'], sha256(body));
        assert.ok(back.equals(body), 'the echoed body differs');
        h2.close();
        await settles(once(h2, 'close'), 'the HTTP/2 session to close', 60_000);
        session.close();
        assert.equal((await settles(peer.exit, 'yamux-peer to exit', 60_000)).code, 0, peer.output());
      } finally {
        peer.child.kill();
      }
    }));

  it('HTTP/2 from a Go client over a yamux stream to our http2 server', { timeout: 60_000 }, () =>
    inTempDir(async (dir) => {
      const { session, peer } = await goClient(dir, ['-http2', '-bytes', String(1.5 * MiB)]);
      try {
        const h2server = echoingHttp2Server();
        session.on('stream', (stream) => h2server.emit('connection', stream));
        const { code, output } = await settles(peer.exit, 'yamux-peer to finish', 60_000);
        assert.equal(code, 0, output);
        assert.match(output, /^HTTP\/2 POST of 1572864 bytes echoed/m);
        h2server.close();
      } finally {
        peer.child.kill();
      }
    }));
});
