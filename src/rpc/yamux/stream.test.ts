/**
 * YamuxStream as the socket of node:http2 and node:tls, which is what
 * go-plugin's multiplexing asks of it: gRPC (HTTP/2), with AutoMTLS under
 * it, over each stream.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { connectedSockets } from '../../../test/support/peers.js';
import { generateCertificate, type CertificateAndKey } from '../../protocol/mtls.js';
import { YamuxSession } from './session.js';
import type { YamuxStream } from './stream.js';
import { readAll, settles } from '../../../test/support/assertions.js';

const MiB = 1024 * 1024;

async function sessions(): Promise<{ client: YamuxSession; server: YamuxSession }> {
  const dir = mkdtempSync(join(tmpdir(), 'yamux-'));
  try {
    const [a, b] = await connectedSockets(dir);
    return { client: new YamuxSession(a, { client: true, keepAliveMs: false }), server: new YamuxSession(b, { client: false, keepAliveMs: false }) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** An HTTP/2 server answering a POST with its body twice over, and the body's hash in a header. */
function doublingServer<S extends http2.Http2Server | http2.Http2SecureServer>(server: S): S {
  server.on('stream', (h2, headers) => {
    void readAll(h2).then((body) => {
      h2.respond({ ':status': 200, 'x-path': String(headers[':path']), 'x-sha256': sha256(body) });
      h2.end(Buffer.concat([body, body]));
    });
  });
  return server;
}

/** POSTs `body`, checks the doubled echo, closes the client session. */
async function post(h2: http2.ClientHttp2Session, body: Buffer): Promise<void> {
  const req = h2.request({ ':method': 'POST', ':path': '/double' });
  req.end(body);
  const [headers] = (await settles(once(req, 'response'), 'the response headers', 20_000)) as [http2.IncomingHttpHeaders];
  const answer = await settles(readAll(req), 'the response body', 20_000);
  assert.equal(headers[':status'], 200);
  assert.equal(headers['x-sha256'], sha256(body));
  assert.equal(answer.length, 2 * body.length);
  assert.ok(answer.equals(Buffer.concat([body, body])), 'the response body differs');
  const closed = once(h2, 'close');
  h2.close();
  await settles(closed, 'the HTTP/2 session to close', 20_000);
}

/** Closes both sessions and waits until both say so: every stream over them must have finished cleanly. */
async function closeBoth(client: YamuxSession, server: YamuxSession): Promise<void> {
  const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
  client.close();
  server.close();
  await settles(closed, 'both sessions to close (no stream left open)', 20_000);
}

describe('yamux streams as sockets', () => {
  for (const dialing of ['client', 'server'] as const) {
    it(`carry HTTP/2 with bodies over 1 MiB each way, on a stream the ${dialing} session opens`, { timeout: 60_000 }, async () => {
      const { client, server } = await sessions();
      const [dialer, listener] = dialing === 'client' ? [client, server] : [server, client];
      const h2server = doublingServer(http2.createServer());
      listener.on('stream', (s) => h2server.emit('connection', s));
      const h2 = http2.connect('http://localhost', { createConnection: () => dialer.open() });
      await post(h2, randomBytes(1.5 * MiB));
      await closeBoth(client, server);
      h2server.close();
    });
  }

  it('carry mutual TLS: tls.connect({ socket }) on one end, new TLSSocket(stream, { isServer }) on the other', { timeout: 60_000 }, async () => {
    const [near, far] = await Promise.all([generateCertificate(), generateCertificate()]);
    const { client, server } = await sessions();
    const accepted = once(server, 'stream') as Promise<[YamuxStream]>;
    const clientTls = tls.connect({ socket: client.open(), servername: 'localhost', ...identity(near, far) });
    const [stream] = await settles(accepted, 'the stream', 20_000);
    const serverTls = new tls.TLSSocket(stream, {
      isServer: true,
      requestCert: true,
      rejectUnauthorized: true,
      secureContext: tls.createSecureContext(identity(far, near)),
    });
    // Read at the handshake: once the echo is over the socket may be gone, and with it the certificate.
    let peerFingerprint: string | undefined;
    serverTls.on('secure', () => {
      peerFingerprint = serverTls.getPeerCertificate().fingerprint256;
      serverTls.pipe(serverTls);
    });
    await settles(once(clientTls, 'secureConnect'), 'the TLS handshake', 20_000);
    assert.equal(clientTls.authorized, true, String(clientTls.authorizationError));

    const data = randomBytes(1.5 * MiB);
    const [back] = await Promise.all([readAll(clientTls), writeAll(clientTls, data)]);
    assert.ok(back.equals(data), 'the echo through TLS differs');
    // A TLSSocket made without a tls.Server neither sets `authorized` nor enforces rejectUnauthorized
    // (Node's doing, not ours): compare the certificate it got. A real server should use tls.Server or
    // http2.createSecureServer with emit('connection'), which do verify, as the next test does.
    assert.equal(peerFingerprint, new X509Certificate(near.cert).fingerprint256);
    await closeBoth(client, server);
  });

  it('carry HTTP/2 over TLS with ALPN, as gRPC with AutoMTLS does', { timeout: 60_000 }, async () => {
    const [near, far] = await Promise.all([generateCertificate(), generateCertificate()]);
    const { client, server } = await sessions();
    const h2server = doublingServer(http2.createSecureServer({ ...identity(far, near), requestCert: true, rejectUnauthorized: true }));
    server.on('stream', (s) => h2server.emit('connection', s));
    const h2 = http2.connect('https://localhost', {
      createConnection: () => tls.connect({ socket: client.open(), servername: 'localhost', ALPNProtocols: ['h2'], ...identity(near, far) }),
    });
    await post(h2, randomBytes(1.5 * MiB));
    await closeBoth(client, server);
    h2server.close();
  });
});

/** TLS options for `own`'s side, trusting only `peer`'s self-signed certificate. */
function identity(own: CertificateAndKey, peer: CertificateAndKey): { cert: string; key: string; ca: string } {
  return { cert: own.cert, key: own.key, ca: peer.cert };
}

async function writeAll(stream: Duplex, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 100_000) {
    if (!stream.write(data.subarray(at, at + 100_000))) await once(stream, 'drain');
  }
  stream.end();
}
