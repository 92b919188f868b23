/**
 * gRPC on node:http2, end to end over real sockets. The wider behaviour
 * (every service, broker, host services) runs through this transport in the
 * interop tests and in the ts<->ts tests run over gRPC; these pin what a
 * handler and a caller see at the edges: statuses, deadlines, cancellation,
 * metadata, large and slow streams, TLS, and connections over any byte stream.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as connectHttp2, createServer as createPlainServer, type ServerHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthDefinition, HealthCheckResponse_ServingStatus as Serving } from '../../gen/grpc/health/v1/health.js';
import { GRPCBrokerDefinition } from '../../gen/plugin/grpc_broker.js';
import { GRPCStdioDefinition } from '../../gen/plugin/grpc_stdio.js';
import { listenUnix, type Listener } from '../../protocol/listener.js';
import { generateCertificate } from '../../protocol/mtls.js';
import { connectedSockets } from '../../../test/support/peers.js';
import { failure as rejection, fails, until } from '../../../test/support/assertions.js';
import type { CallContext, ServiceImplementation } from '../definition.js';
import { Code, RpcError } from '../status.js';
import { handOver } from '../codec.js';
import type { ServerOptions, TlsMaterial, TransportServer } from '../transport.js';
import { Http2Connection } from './client.js';
import { Http2GrpcServer } from './server.js';
import { http2Transport } from './transport.js';

const dir = mkdtempSync(join(tmpdir(), 'hst-http2-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A server on a fresh unix socket and a connection to it, closed by the returned function. */
async function pair(register: (server: TransportServer) => void, tls?: { server: TlsMaterial; client: TlsMaterial }) {
  const server = http2Transport.createServer(tls ? { tls: tls.server } : {});
  register(server);
  const listener: Listener = await listenUnix(dir);
  server.serve(listener.server);
  const connection = http2Transport.connect(listener.address, tls ? { tls: tls.client } : {});
  return {
    connection,
    close() {
      connection.close();
      server.forceShutdown();
      listener.close();
    },
  };
}

const healthy = (extra: Partial<ServiceImplementation<typeof HealthDefinition>> = {}): ServiceImplementation<typeof HealthDefinition> => ({
  check: () => ({ status: Serving.SERVING }),
  list: () => ({ statuses: {} }),
  async *watch() {
    yield { status: Serving.SERVING };
  },
  ...extra,
});

/** A health server on a fresh unix socket and a plain node:http2 client of it (not hst's), closed by the returned function. */
async function plainClient(options: ServerOptions = {}) {
  const listener = await listenUnix(dir);
  const server = http2Transport.createServer(options);
  server.addService(HealthDefinition, healthy());
  server.serve(listener.server);
  const session = connectHttp2('http://localhost', { createConnection: () => connect(listener.address.address) });
  return {
    session,
    close() {
      session.close();
      server.forceShutdown();
      listener.close();
    },
  };
}

describe('gRPC on node:http2', () => {
  it('answers unary calls, and ends a server stream that fails after some messages with those messages, then its status', async () => {
    const { connection, close } = await pair((s) =>
      s.addService(
        HealthDefinition,
        healthy({
          async *watch() {
            yield { status: Serving.SERVING };
            yield { status: Serving.NOT_SERVING };
            throw new RpcError(Code.NOT_FOUND, 'gone: 100% ünïcödé\nline two');
          },
        }),
      ),
    );
    try {
      const health = connection.client(HealthDefinition);
      assert.equal((await health.check({ service: 'plugin' })).status, Serving.SERVING);
      const seen: number[] = [];
      const err = await rejection(
        (async () => {
          for await (const m of health.watch({ service: '' })) seen.push(m.status);
        })(),
      );
      assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING]);
      assert.equal(err.code, Code.NOT_FOUND);
      assert.equal(err.details, '/grpc.health.v1.Health/Watch: gone: 100% ünïcödé\nline two');
    } finally {
      close();
    }
  });

  it('answers an unknown method UNIMPLEMENTED, and a handler error with its code', async () => {
    const { connection, close } = await pair((s) => s.addService(HealthDefinition, healthy({ check: () => Promise.reject(new RpcError(Code.PERMISSION_DENIED, 'not you')) })));
    try {
      const denied = await rejection(connection.client(HealthDefinition).check({ service: '' }));
      assert.equal(denied.code, Code.PERMISSION_DENIED);
      assert.match(denied.details, /not you$/);
      await fails(connection.client(GRPCStdioDefinition).streamStdio({}), Code.UNIMPLEMENTED, /unknown method \/plugin\.GRPCStdio\/StreamStdio/);
    } finally {
      close();
    }
  });

  it('carries metadata to the handler and a deadline both ways: the handler is aborted, the caller gets DEADLINE_EXCEEDED', async () => {
    let seen: CallContext | undefined;
    let aborted: unknown;
    const { connection, close } = await pair((s) =>
      s.addService(
        HealthDefinition,
        healthy({
          check: (_req, ctx) => {
            seen = ctx;
            return new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = ctx.signal.reason;
                reject(ctx.signal.reason);
              });
            });
          },
        }),
      ),
    );
    try {
      const err = await rejection(connection.client(HealthDefinition).check({ service: '' }, { deadline: 200, metadata: { 'x-plugin-call': 'first', 'Content-Type': 'text/plain' } }));
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      assert.equal(seen?.metadata['x-plugin-call'], 'first');
      assert.equal(seen?.metadata['content-type'], undefined, 'gRPC headers are not metadata');
      await until(() => aborted !== undefined, 'the handler saw the deadline');
      // Both ends keep the deadline: whichever timer fires first, the handler's signal aborts.
      assert.ok([Code.DEADLINE_EXCEEDED, Code.CANCELLED].includes((aborted as RpcError).code), String(aborted));
    } finally {
      close();
    }
  });

  it('cancels both ways: the caller aborting reaches the handler, and a reader that stops early ends the stream on the server', async () => {
    let handlerAborted = false;
    let streamEnded = false;
    const { connection, close } = await pair((s) =>
      s.addService(
        HealthDefinition,
        healthy({
          check: (_req, ctx) =>
            new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                handlerAborted = true;
                reject(ctx.signal.reason);
              });
            }),
          async *watch(_req, ctx) {
            try {
              for (;;) {
                yield { status: Serving.SERVING };
                if (ctx.signal.aborted) return;
                await new Promise((resolve) => setImmediate(resolve));
              }
            } finally {
              streamEnded = true;
            }
          },
        }),
      ),
    );
    try {
      const controller = new AbortController();
      const call = connection.client(HealthDefinition).check({ service: '' }, { signal: controller.signal });
      setImmediate(() => controller.abort());
      assert.equal((await rejection(call)).code, Code.CANCELLED);
      await until(() => handlerAborted, 'the handler saw the cancel');

      let taken = 0;
      for await (const _ of connection.client(HealthDefinition).watch({ service: '' })) if (++taken === 3) break;
      await until(() => streamEnded, 'the server stream ended');
    } finally {
      close();
    }
  });

  it('moves 8 MiB messages, and a slow reader stalls only its own stream', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const { connection, close } = await pair((s) =>
      s.addService(
        HealthDefinition,
        healthy({
          check: (req) => ({ status: req.service.length === big.length ? Serving.SERVING : Serving.UNKNOWN }),
          async *watch() {
            for (let i = 0; i < 400; i++) yield { status: Serving.SERVING };
          },
        }),
      ),
    );
    try {
      const health = connection.client(HealthDefinition);
      assert.equal((await health.check({ service: big.toString('latin1') })).status, Serving.SERVING);
      // One stream is read one message and then left alone; calls beside it still complete.
      const slow = health.watch({ service: '' })[Symbol.asyncIterator]();
      await slow.next();
      for (let i = 0; i < 20; i++) assert.equal((await health.check({ service: big.subarray(0, 1024).toString('latin1') })).status, Serving.UNKNOWN);
      let rest = 0;
      for (let r = await slow.next(); !r.done; r = await slow.next()) rest++;
      assert.equal(rest, 399);
    } finally {
      close();
    }
  });

  it('sends messages from memory handed over part by part, intact and in order', async () => {
    const sizes = [20_000, 100_000, 3 * 1024 * 1024];
    const { connection, close } = await pair((s) =>
      s.addService(GRPCStdioDefinition, {
        async *streamStdio() {
          for (const [i, size] of sizes.entries()) {
            const data = Buffer.alloc(size, i + 1);
            data.writeUInt32BE(size, size - 4);
            handOver(data);
            yield { channel: 1, data };
          }
        },
      }),
    );
    try {
      const got: number[] = [];
      for await (const { data } of connection.client(GRPCStdioDefinition).streamStdio({})) {
        const bytes = Buffer.from(data);
        assert.ok(bytes.subarray(0, bytes.length - 4).every((b) => b === got.length + 1));
        got.push(bytes.readUInt32BE(bytes.length - 4));
      }
      assert.deepEqual(got, sizes);
    } finally {
      close();
    }
  });

  // Both ends here are Node: were the server widened too, this stalls within seconds (see session-options.ts).
  it('keeps 8 streams of 1 MiB messages flowing both ways at once (no session stalls under load)', { timeout: 60_000 }, async () => {
    const { connection, close } = await pair((s) =>
      s.addService(GRPCBrokerDefinition, {
        async *startStream(requests) {
          for await (const info of requests) yield info;
        },
      }),
    );
    try {
      const broker = connection.client(GRPCBrokerDefinition);
      const address = 'a'.repeat(1024 * 1024);
      const echoed = await Promise.all(
        Array.from({ length: 8 }, async (_, stream) => {
          let bytes = 0;
          const sent = Array.from({ length: 4 }, (_, i) => ({ serviceId: stream * 10 + i, network: 'unix', address }));
          for await (const info of broker.startStream(sent)) bytes += info.address.length;
          return bytes;
        }),
      );
      assert.deepEqual(echoed, Array(8).fill(4 * address.length));
    } finally {
      close();
    }
  });

  it('widens the connection window on the client end, and on a server only when told its clients are not Node', async () => {
    const DEFAULT_WINDOW = 65_535;
    // Seen from a plain node:http2 client: how much the server lets it send on the connection.
    const clientMaySend = async (options: ServerOptions) => {
      const { session, close } = await plainClient(options);
      try {
        const request = session.request({ ':method': 'GET', ':path': '/' });
        request.resume();
        await once(request, 'close');
        return session.state.remoteWindowSize;
      } finally {
        close();
      }
    };
    assert.equal(await clientMaySend({}), DEFAULT_WINDOW);
    assert.ok((await clientMaySend({ widenConnectionWindow: true }))! > 8 * DEFAULT_WINDOW);

    // Seen from a plain node:http2 server: how much hst's client lets it send.
    const plain = createPlainServer();
    const sessions: ServerHttp2Session[] = [];
    plain.on('session', (s) => sessions.push(s));
    plain.on('stream', (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true }));
    const path = join(dir, 'plain.sock');
    plain.listen(path);
    await once(plain, 'listening');
    const connection = http2Transport.connect({ network: 'unix', address: path });
    try {
      // The plain server answers without a message; what matters is that the session came up.
      await connection.client(HealthDefinition).check({ service: '' }).catch(() => undefined);
      await until(() => (sessions[0]?.state.remoteWindowSize ?? 0) > 8 * DEFAULT_WINDOW, 'the server may send more than the default window');
    } finally {
      connection.close();
      for (const s of sessions) s.destroy();
      plain.close();
    }
  });

  it('serves and calls over any byte stream, and with pinned certificates refuses a client the server did not pin', async () => {
    const [near, far] = await connectedSockets(dir);
    const server = new Http2GrpcServer();
    server.addService(HealthDefinition, healthy());
    server.accept(far);
    const connection = new Http2Connection(() => near);
    assert.equal((await connection.client(HealthDefinition).check({ service: '' })).status, Serving.SERVING);
    connection.close();
    server.forceShutdown();

    const [serverCert, clientCert, stranger] = await Promise.all([generateCertificate(), generateCertificate(), generateCertificate()]);
    const tls = { server: { ...serverCert, ca: clientCert.cert }, client: { ...clientCert, ca: serverCert.cert, serverName: 'localhost' } };
    const secure = await pair((s) => s.addService(HealthDefinition, healthy()), tls);
    try {
      assert.equal((await secure.connection.client(HealthDefinition).check({ service: '' })).status, Serving.SERVING);
    } finally {
      secure.close();
    }
    const strangerPair = await pair((s) => s.addService(HealthDefinition, healthy()), { server: { ...serverCert, ca: clientCert.cert }, client: { ...stranger, ca: serverCert.cert } });
    try {
      const err = await rejection(strangerPair.connection.client(HealthDefinition).check({ service: '' }));
      assert.equal(err.code, Code.UNAVAILABLE);
    } finally {
      strangerPair.close();
    }
  });

  it('answers a request that is not gRPC with an HTTP error, not a crash', async () => {
    const { session, close } = await plainClient();
    try {
      const request = session.request({ ':method': 'GET', ':path': '/grpc.health.v1.Health/Check' });
      const [headers] = (await once(request, 'response')) as [Record<string, unknown>];
      assert.equal(headers[':status'], 405);
      request.resume();
      await once(request, 'close');
    } finally {
      close();
    }
  });
});
