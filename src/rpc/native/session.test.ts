import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioData } from '../../gen/plugin/grpc_stdio.js';
import type { CallContext, ServiceImplementation } from '../definition.js';
import { Code, RpcError } from '../status.js';
import { NativeConnection } from './client.js';
import { NativeServer } from './server.js';
import { openSession, sessionChannels } from './transport.js';
import { socketPair } from './socket-pair.js';
import type { Session } from './session.js';
import { connectedSockets } from '../../../test/support/peers.js';
import { Flag, FRAGMENT_BYTES, FRAGMENT_SLACK_BYTES, FrameReader, FrameType, FrameWriter, ownSpace, slicePayload, type FrameSink } from './frame.js';
import { handOver, payloadLength } from '../codec.js';

/** All four kinds of call, on one message type. */
const Echo = {
  name: 'Echo',
  fullName: 'test.native.Echo',
  methods: {
    unary: { name: 'Unary', requestType: StdioData, requestStream: false, responseType: StdioData, responseStream: false },
    serverStream: { name: 'ServerStream', requestType: StdioData, requestStream: false, responseType: StdioData, responseStream: true },
    clientStream: { name: 'ClientStream', requestType: StdioData, requestStream: true, responseType: StdioData, responseStream: false },
    bidi: { name: 'Bidi', requestType: StdioData, requestStream: true, responseType: StdioData, responseStream: true },
  },
} as const;
type EchoImpl = ServiceImplementation<typeof Echo>;

const bytes = (s: string) => Buffer.from(s);
/** A reader's sink that gives every payload memory of its own. */
const frames = (frame: FrameSink['frame']): FrameSink => ({ frame, messageSpace: ownSpace });
const text = (d: Uint8Array) => Buffer.from(d).toString();

/** `impl`, with every method it leaves out failing as unimplemented. */
function echoing(impl: Partial<EchoImpl>): EchoImpl {
  const unimplemented = () => {
    throw new RpcError(Code.UNIMPLEMENTED, 'not in this test');
  };
  return { unary: unimplemented, serverStream: unimplemented, clientStream: unimplemented, bidi: unimplemented, ...impl } as EchoImpl;
}

/**
 * How a session is given its connection: the bare fds of a socket pair, as
 * the host and the plugin hold them (read into the session's own buffers), or
 * connected socket streams (read as the stream reads).
 */
type Reads = 'fd' | 'stream';

/** Two sessions joined by a connected socket; `pluginSocket` is the plugin's end when it is a stream. */
async function pair(
  impl: Partial<EchoImpl>,
  maxMessageBytes?: number,
  reads: Reads = 'stream',
): Promise<{ client: NativeConnection; host: Session; plugin: Session; pluginSocket: Socket | undefined; close: () => void }> {
  let ends: [Socket | number, Socket | number];
  if (reads === 'fd') {
    ends = socketPair() ?? assert.fail('the addon was not built (dist/native/hst-fs.node): npm run build needs a C compiler');
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'native-'));
    ends = await connectedSockets(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  const pluginSocket = typeof ends[1] === 'number' ? undefined : ends[1];
  const host = openSession(ends[0], 'host', 'plugin "test"', maxMessageBytes);
  const plugin = openSession(ends[1], 'plugin', 'host', maxMessageBytes);
  const server = new NativeServer();
  server.addService(Echo, echoing(impl));
  plugin.accept(0, server.acceptor());
  const client = new NativeConnection(host, 0, { ownsSession: true });
  return { client, host, plugin, pluginSocket, close: () => (host.close(), plugin.close()) };
}

for (const reads of ['fd', 'stream'] as const) {
  describe(`native transport, ${reads === 'fd' ? 'on bare fds' : 'on socket streams'}`, () => {
    const connect = (impl: Partial<EchoImpl>, maxMessageBytes?: number) => pair(impl, maxMessageBytes, reads);

    it('delivers messages sent from memory handed over, whole and in fragments, intact and in order', async () => {
      const sizes = [20_000, FRAGMENT_BYTES + 8, 3 * FRAGMENT_BYTES + 17, 1_000_000];
      const { client, close } = await connect({
        async *serverStream() {
          for (const [i, size] of sizes.entries()) {
            const data = Buffer.alloc(size, i + 1);
            data.writeUInt32BE(size, size - 4);
            handOver(data);
            yield { channel: i, data };
          }
        },
        // Sends the request's bytes back as they came (received memory is handed over).
        unary: (req) => ({ channel: req.channel, data: req.data }),
      });
      const echo = client.client(Echo);
      let i = 0;
      for await (const res of echo.serverStream({})) {
        const size = sizes[i] as number;
        assert.equal(res.channel, i);
        assert.equal(res.data.length, size);
        assert.equal(Buffer.from(res.data).readUInt32BE(size - 4), size);
        assert.ok(Buffer.from(res.data).subarray(0, size - 4).every((b) => b === i + 1));
        i++;
      }
      assert.equal(i, sizes.length);
      const sent = Buffer.alloc(2 * FRAGMENT_BYTES + 99, 7);
      const back = await echo.unary({ channel: 2, data: sent });
      assert.ok(Buffer.from(back.data).equals(sent));
      close();
    });

    it('carries all four kinds of call with their messages and metadata', async () => {
      const seen: Record<string, string> = {};
      const { client, close } = await connect({
        unary: (req, ctx) => ((seen.unary = ctx.metadata['x-who'] ?? ''), { channel: req.channel, data: bytes(`echo ${text(req.data)}`) }),
        async *serverStream(req) {
          for (let i = 0; i < 3; i++) yield { data: bytes(`${text(req.data)} ${i}`) };
        },
        async clientStream(requests) {
          const parts: string[] = [];
          for await (const r of requests) parts.push(text(r.data));
          return { data: bytes(parts.join('+')) };
        },
        async *bidi(requests) {
          for await (const r of requests) yield { data: bytes(text(r.data).toUpperCase()) };
        },
      });
      const echo = client.client(Echo);
      const res = await echo.unary({ channel: 2, data: bytes('hi') }, { metadata: { 'x-who': 'me' } });
      assert.equal(text(res.data), 'echo hi');
      assert.equal(res.channel, 2);
      assert.equal(seen.unary, 'me');
      const streamed: string[] = [];
      for await (const m of echo.serverStream({ data: bytes('n') })) streamed.push(text(m.data));
      assert.deepEqual(streamed, ['n 0', 'n 1', 'n 2']);
      assert.equal(text((await echo.clientStream([{ data: bytes('a') }, { data: bytes('b') }, { data: bytes('c') }])).data), 'a+b+c');
      const upper: string[] = [];
      for await (const m of echo.bidi([{ data: bytes('x') }, { data: bytes('y') }])) upper.push(text(m.data));
      assert.deepEqual(upper, ['X', 'Y']);
      close();
    });

    it('gives the handler status code and details to the caller, after the messages sent before it', async () => {
      const { client, close } = await connect({
        unary: () => {
          throw new RpcError(Code.PERMISSION_DENIED, 'fs.read denied for /etc/shadow');
        },
        async *serverStream() {
          yield { data: bytes('1') };
          yield { data: bytes('2') };
          throw new RpcError(Code.NOT_FOUND, 'gone');
        },
      });
      const echo = client.client(Echo);
      const err = await echo.unary({}).catch((e: unknown) => e);
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, Code.PERMISSION_DENIED);
      assert.equal(err.details, '/test.native.Echo/Unary: fs.read denied for /etc/shadow');
      const seen: string[] = [];
      const streamErr = await (async () => {
        for await (const m of echo.serverStream({})) seen.push(text(m.data));
      })().catch((e: unknown) => e);
      assert.deepEqual(seen, ['1', '2']);
      assert.equal((streamErr as RpcError).code, Code.NOT_FOUND);
      close();
    });

    it('answers UNIMPLEMENTED for an unknown method and UNAVAILABLE for a channel nobody serves', async () => {
      const { client, host, close } = await connect({});
      const health = client.client({
        name: 'X',
        fullName: 'no.Such',
        methods: { m: { name: 'M', requestType: StdioData, requestStream: false, responseType: StdioData, responseStream: false } },
      } as const);
      assert.equal(((await health.m({}).catch((e: unknown) => e)) as RpcError).code, Code.UNIMPLEMENTED);
      const other = new NativeConnection(host, 42).client(Echo);
      const err = (await other.unary({}).catch((e: unknown) => e)) as RpcError;
      assert.equal(err.code, Code.UNAVAILABLE);
      assert.match(err.details, /channel 42/);
      close();
    });

    it('passes a deadline to the handler, whose signal aborts when it passes', async () => {
      let handlerSignal: AbortSignal | undefined;
      const { client, close } = await connect({
        unary: (_req, ctx) =>
          new Promise((resolve) => {
            handlerSignal = ctx.signal;
            ctx.signal.addEventListener('abort', () => resolve({}));
          }),
      });
      const err = (await client.client(Echo).unary({}, { deadline: 50 }).catch((e: unknown) => e)) as RpcError;
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      await waitFor(() => handlerSignal?.aborted === true, 'the handler was not told of the deadline');
      assert.equal((handlerSignal?.reason as RpcError).code, Code.DEADLINE_EXCEEDED);
      close();
    });

    it('cancels both ways: the caller aborting reaches the handler, and a reader stopping early ends the server stream', async () => {
      let cancelled: RpcError | undefined;
      let produced = 0;
      let streamEnded = false;
      const { client, close } = await connect({
        unary: (_req, ctx: CallContext) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => ((cancelled = ctx.signal.reason as RpcError), reject(cancelled)))),
        async *serverStream(_req, ctx) {
          try {
            while (!ctx.signal.aborted) {
              produced++;
              yield { data: bytes(String(produced)) };
              await new Promise((r) => setImmediate(r));
            }
          } finally {
            streamEnded = true;
          }
        },
      });
      const echo = client.client(Echo);
      const controller = new AbortController();
      const pending = echo.unary({}, { signal: controller.signal });
      await waitFor(() => true, '');
      controller.abort();
      assert.equal(((await pending.catch((e: unknown) => e)) as RpcError).code, Code.CANCELLED);
      await waitFor(() => cancelled !== undefined, 'the handler never saw the cancellation');
      assert.equal(cancelled?.code, Code.CANCELLED);
      for await (const m of echo.serverStream({})) if (text(m.data) === '3') break;
      await waitFor(() => streamEnded, 'the server stream kept running after its reader left');
      close();
    });

    it('carries messages far larger than a fragment, both ways, intact', async () => {
      const { client, close } = await connect({ unary: (req) => ({ data: req.data }) });
      const big = Buffer.alloc(8 * 1024 * 1024 + 3);
      for (let i = 0; i < big.length; i += 4093) big[i] = i % 251;
      const res = await client.client(Echo).unary({ data: big });
      assert.equal(Buffer.compare(Buffer.from(res.data), big), 0);
      close();
    });

    it('refuses a message over the receiver\'s limit, both ways, with RESOURCE_EXHAUSTED', async () => {
      let handlerSaw: string | undefined;
      const { client, close } = await connect(
        {
          unary: (req) => ({ data: req.data }),
          async *serverStream() {
            yield { data: Buffer.alloc(200 * 1024) };
          },
          async clientStream(requests, ctx) {
            ctx.signal.addEventListener('abort', () => (handlerSaw = String((ctx.signal.reason as RpcError).code)));
            for await (const _ of requests) void _;
            return {};
          },
        },
        100 * 1024,
      );
      const echo = client.client(Echo);
      const up = (await echo.unary({ data: Buffer.alloc(150 * 1024) }).catch((e: unknown) => e)) as RpcError;
      assert.equal(up.code, Code.RESOURCE_EXHAUSTED);
      assert.match(up.details, /larger than the limit of 102400 bytes/);
      const down = await (async () => {
        for await (const _ of echo.serverStream({})) void _;
      })().catch((e: unknown) => e);
      assert.equal((down as RpcError).code, Code.RESOURCE_EXHAUSTED);
      const streamed = (await echo.clientStream([{ data: Buffer.alloc(10) }, { data: Buffer.alloc(150 * 1024) }]).catch((e: unknown) => e)) as RpcError;
      assert.equal(streamed.code, Code.RESOURCE_EXHAUSTED);
      await waitFor(() => handlerSaw === String(Code.RESOURCE_EXHAUSTED), 'the handler was not told its request was refused');
      // The session itself goes on.
      assert.equal(text((await echo.unary({ data: bytes('after') })).data), 'after');
      close();
    });

    it('never queues a small call behind a large message', async () => {
      const order: string[] = [];
      const { client, close } = await connect({ unary: (req) => ({ data: req.data.length > 100 ? bytes('big') : req.data }) });
      const echo = client.client(Echo);
      const big = echo.unary({ data: Buffer.alloc(64 * 1024 * 1024) }).then(() => order.push('big'));
      const small = echo.unary({ data: bytes('small') }).then(() => order.push('small'));
      await Promise.all([big, small]);
      assert.deepEqual(order, ['small', 'big']);
      close();
    });

    it('stalls only the stream whose reader is slow; its producer waits for the window', async () => {
      let produced = 0;
      const { client, close } = await connect({
        async *serverStream() {
          for (;;) {
            produced++;
            yield { data: Buffer.alloc(64 * 1024) };
          }
        },
        unary: (req) => ({ data: req.data }),
      });
      const echo = client.client(Echo);
      const iterator = echo.serverStream({})[Symbol.asyncIterator]();
      await iterator.next();
      // Nobody reads the stream now. The producer must come to a stop well short of unbounded.
      let last = -1;
      while (last !== produced) {
        last = produced;
        for (let i = 0; i < 20; i++) await echo.unary({ data: bytes(String(i)) });
      }
      assert.ok(produced * 64 * 1024 < 16 * 1024 * 1024, `the producer ran ahead by ${produced} messages`);
      // Other calls were answered all along (above); reading resumes the stream.
      const before = produced;
      for (let i = 0; i < 200; i++) await iterator.next();
      assert.ok(produced > before);
      await iterator.return?.();
      close();
    });

    it('fails every call at once when the peer goes away', async () => {
      const { client, plugin, close } = await connect({ unary: () => new Promise(() => {}) });
      const echo = client.client(Echo);
      const calls = [echo.unary({}), echo.unary({}), (async () => {
        for await (const _ of echo.bidi([])) void _;
      })()].map((p) => p.catch((e: unknown) => e));
      await waitFor(() => true, '');
      plugin.close();
      const errors = (await Promise.all(calls)) as RpcError[];
      for (const e of errors.slice(0, 2)) assert.equal(e.code, Code.UNAVAILABLE);
      assert.equal(((await echo.unary({}).catch((e: unknown) => e)) as RpcError).code, Code.UNAVAILABLE);
      close();
    });

    it('serves broker channels on the same session, each identified by the session alone', async () => {
      const { host, plugin, close } = await connect({});
      const hostChannels = sessionChannels(host);
      const stop = hostChannels.serve(7, (r) => r.addService(Echo, echoing({ unary: (req) => ({ data: bytes(`host got ${text(req.data)}`) }) })));
      const fromPlugin = sessionChannels(plugin).connect(7).client(Echo);
      assert.equal(text((await fromPlugin.unary({ data: bytes('x') })).data), 'host got x');
      stop();
      assert.equal(((await fromPlugin.unary({}).catch((e: unknown) => e)) as RpcError).code, Code.UNAVAILABLE);
      close();
    });
  });
}

/**
 * Two connected streams that keep each written buffer as it is and hand it
 * to the other end a turn later, as a multiplexed channel may: the writer
 * must not reuse memory it wrote to one.
 */
function keepingPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [0, 1].map(
    (i) =>
      new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, done) {
          setImmediate(() => ends[1 - i]?.push(chunk));
          done();
        },
        final(done) {
          setImmediate(() => ends[1 - i]?.push(null));
          done();
        },
      }),
  );
  return ends as [Duplex, Duplex];
}

describe('native transport on a stream that keeps what is written to it', () => {
  it('delivers every message intact: only a socket of Node\'s own lets the writer reuse its memory', async () => {
    const [hostEnd, pluginEnd] = keepingPair();
    const host = openSession(hostEnd, 'host', 'plugin "test"');
    const plugin = openSession(pluginEnd, 'plugin', 'host');
    const server = new NativeServer();
    server.addService(Echo, echoing({ unary: (req) => ({ channel: req.channel, data: req.data }) }));
    plugin.accept(0, server.acceptor());
    const echo = new NativeConnection(host, 0, { ownsSession: true }).client(Echo);
    try {
      const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => echo.unary({ channel: i, data: Buffer.alloc(300 + i, i) })));
      replies.forEach((r, i) => {
        assert.equal(r.channel, i);
        assert.ok(Buffer.from(r.data).equals(Buffer.alloc(300 + i, i)), `reply ${i} was overwritten`);
      });
    } finally {
      host.close();
      plugin.close();
    }
  });
});

describe('native transport on the wire', () => {
  it('sends a message a few bytes over the fragment size whole, and one past the slack in fragments', async () => {
    const { client, pluginSocket, close } = await pair({ unary: (req) => ({ data: req.data.subarray(0, 1) }) }, undefined, 'stream');
    // What the plugin reads, framed a second time beside its session: the Message frames and their flags.
    const messageFrames: Array<{ partial: boolean; bytes: number }> = [];
    const tap = new FrameReader(
      frames((type, flags, _stream, payload) => {
        if (type === FrameType.Message) messageFrames.push({ partial: (flags & Flag.Partial) !== 0, bytes: payload.length });
      }),
    );
    pluginSocket?.on('data', (chunk: Buffer) => tap.push(chunk));
    const echo = client.client(Echo);
    try {
      // Field tag and length take 4 bytes of the message beside the data: a 64 KiB chunk is 64 KiB and 4 bytes.
      for (const over of [4, FRAGMENT_SLACK_BYTES]) {
        await echo.unary({ data: Buffer.alloc(FRAGMENT_BYTES + over - 4, 1) });
        assert.deepEqual(messageFrames, [{ partial: false, bytes: FRAGMENT_BYTES + over }]);
        messageFrames.length = 0;
      }
      await echo.unary({ data: Buffer.alloc(FRAGMENT_BYTES + FRAGMENT_SLACK_BYTES - 3, 2) });
      assert.deepEqual(messageFrames, [{ partial: true, bytes: FRAGMENT_BYTES }, { partial: false, bytes: FRAGMENT_SLACK_BYTES + 1 }]);
    } finally {
      close();
    }
  });
});

describe('native transport joining fragments', () => {
  it('reads each fragment into its place in the message, and the next message as large into memory of its size', async () => {
    const { host, close } = await pair({}, undefined, 'stream');
    const got: Buffer[] = [];
    const stream = host.open(
      { channel: 0, path: '/test.native.Echo/ClientStream', timeoutMs: 0, metadata: undefined },
      { message: (m) => got.push(m), remoteEnd: () => {}, status: () => {}, cancel: () => {} },
    );
    assert.ok(stream);
    const message = Buffer.alloc(3 * FRAGMENT_BYTES + 100);
    for (let i = 0; i < message.length; i += 4) message.writeUInt32BE(i, i);
    // As the session's reader does: ask where a Message frame goes, fill it, then hand it over.
    const receive = (): Buffer[] => {
      const spaces: Buffer[] = [];
      for (let at = 0; at < message.length; at += FRAGMENT_BYTES) {
        const part = message.subarray(at, at + FRAGMENT_BYTES);
        const flags = at + FRAGMENT_BYTES < message.length ? Flag.Partial : 0;
        const space = stream.space(flags, part.length, 1 << 30) ?? assert.fail('no space for a fragment within the limit');
        part.copy(space);
        spaces.push(space);
        stream.receive(flags, space);
      }
      return spaces;
    };
    try {
      receive();
      const spaces = receive();
      assert.equal(got.length, 2);
      for (const m of got) assert.ok(m.equals(message));
      // The first message sized the second's memory: every fragment read straight into it, nothing copied after.
      for (const space of spaces) assert.equal(space.buffer, got[1]?.buffer);
      assert.equal(got[1]?.buffer.byteLength, message.length);
    } finally {
      close();
    }
  });
});

describe('native frames', () => {
  it('start the slab over once everything taken has been written, and not while frames are waiting', () => {
    const writer = new FrameWriter();
    writer.frame(FrameType.Message, 0, 1, Buffer.from('first'));
    const [first] = writer.take() as [Buffer];
    writer.frame(FrameType.Message, 0, 1, Buffer.from('later'));
    writer.reuse();
    const [later] = writer.take() as [Buffer];
    assert.equal(later.byteOffset, first.byteOffset + first.length, 'started over with a frame waiting');
    writer.reuse();
    writer.frame(FrameType.Message, 0, 1, Buffer.from('again'));
    const [again] = writer.take() as [Buffer];
    assert.ok(again.buffer === first.buffer && again.byteOffset === first.byteOffset, 'not started over');
    assert.equal(String(again.subarray(10)), 'again');
  });

  it('carry a payload in parts as if it were joined', () => {
    const writer = new FrameWriter();
    const parts = [Buffer.from('head'), Buffer.alloc(40_000, 1), Buffer.alloc(0), Buffer.alloc(300, 2), Buffer.alloc(20_000, 3)];
    writer.frame(FrameType.Message, 0, 1, Buffer.from('before'));
    writer.frame(FrameType.Message, Flag.End, 3, parts);
    writer.frame(FrameType.Message, 0, 5, Buffer.from('after'));
    const got: Buffer[] = [];
    new FrameReader(frames((_t, _f, _s, payload) => got.push(Buffer.from(payload)))).push(Buffer.concat(writer.take()));
    assert.deepEqual(got.map(String), ['before', Buffer.concat(parts).toString(), 'after']);
  });

  it('are cut from a payload in parts at any bytes, without losing or repeating one', () => {
    const parts = [Buffer.from('abc'), Buffer.from('defgh'), Buffer.alloc(0), Buffer.from('ijklmnop'), Buffer.from('q')];
    const whole = Buffer.concat(parts).toString();
    assert.equal(payloadLength(parts), whole.length);
    for (let from = 0; from <= whole.length; from++) {
      for (let to = from; to <= whole.length; to++) {
        const slice = slicePayload(parts, from, to);
        assert.equal(Buffer.concat(Array.isArray(slice) ? slice : [slice]).toString(), whole.slice(from, to), `${from}..${to}`);
      }
    }
  });

  it('are read back the same whatever the socket splits them into, pushed or read into buffers the reader gives', () => {
    const writer = new FrameWriter();
    const sent: Array<[number, number, string]> = [];
    for (let i = 0; i < 50; i++) {
      const payload = Buffer.alloc((i * 977) % (FRAGMENT_BYTES + 5), i);
      // Every fifth a control frame; the rest Message frames, the large ones split across reads.
      writer.frame(i % 5 ? FrameType.Message : FrameType.Status, i % 3, i, payload);
      sent.push([i, payload.length, payload.toString('hex', 0, 4)]);
    }
    const whole = Buffer.concat(writer.take());
    for (const mode of ['push', 'read'] as const) {
      for (const step of [1, 7, 10, 4096, whole.length]) {
        const got: Array<[number, number, string]> = [];
        const spaces = new Set<ArrayBufferLike>();
        let readInPlace = 0;
        const reader = new FrameReader({
          frame(type, flags, stream, payload) {
            assert.equal(flags, stream % 3);
            assert.equal(type, stream % 5 ? FrameType.Message : FrameType.Status);
            if (type === FrameType.Message) assert.ok(spaces.has(payload.buffer), 'a Message payload is the memory the sink gave');
            got.push([stream, payload.length, payload.toString('hex', 0, 4)]);
          },
          messageSpace(_stream, _flags, length) {
            const space = Buffer.allocUnsafeSlow(length);
            spaces.add(space.buffer);
            return space;
          },
        });
        for (let at = 0; at < whole.length; ) {
          if (mode === 'push') {
            reader.push(whole.subarray(at, at + step));
            at += step;
            continue;
          }
          // As a socket made with the reader's onread: the kernel fills what nextBuffer gives, up to its length.
          const into = reader.nextBuffer();
          if (spaces.has(into.buffer)) readInPlace++;
          const n = whole.copy(into, 0, at, Math.min(at + step, whole.length));
          reader.filled(n);
          at += n;
        }
        assert.deepEqual(got, sent, `${mode}, split every ${step} bytes`);
        // Large payloads cut by the reads get their missing bytes read straight into their own memory.
        if (mode === 'read' && step >= 4096) assert.ok(readInPlace > 0, `${mode}, every ${step} bytes: nothing read in place`);
        if (mode === 'push') assert.equal(readInPlace, 0);
      }
    }
  });
});

async function waitFor(condition: () => boolean, message: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await new Promise((r) => setImmediate(r));
    if (condition()) return;
    if (Date.now() > until) assert.fail(message);
  }
}
