import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connectedSockets } from '../../../test/support/peers.js';
import { readAll, seededRandom, settles, until } from '../../../test/support/assertions.js';
import { encodeHeader, Flag, FrameDecoder, FrameType, GoAwayCode, INITIAL_WINDOW, RECEIVE_WINDOW, type FrameHeader } from './frame.js';
import { ACCEPT_BACKLOG, YamuxSession } from './session.js';
import type { YamuxStream } from './stream.js';

const MiB = 1024 * 1024;

async function socketPair(): Promise<[Socket, Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'yamux-'));
  try {
    return await connectedSockets(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A client and a server session over a unix socket pair, keepalive off. */
async function sessions(): Promise<{ client: YamuxSession; server: YamuxSession }> {
  const [a, b] = await socketPair();
  return { client: new YamuxSession(a, { client: true, keepAliveMs: false }), server: new YamuxSession(b, { client: false, keepAliveMs: false }) };
}

/** Writes `data` in writes of random sizes, honouring backpressure, then ends the stream. */
async function writeInPieces(stream: Duplex, data: Buffer, next: (n: number) => number): Promise<void> {
  for (let at = 0; at < data.length; ) {
    const n = 1 + next(256 * 1024);
    if (!stream.write(data.subarray(at, at + n))) await once(stream, 'drain');
    at += n;
  }
  stream.end();
}

/** Sends `data` through an echoing stream and returns what came back. */
async function roundTrip(stream: Duplex, data: Buffer, seed: number): Promise<Buffer> {
  const [back] = await Promise.all([readAll(stream), writeInPieces(stream, data, seededRandom(seed))]);
  return back;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The far end of a session, speaking raw frames: to break the protocol on purpose and to see what the session sends. */
class RawPeer {
  readonly frames: FrameHeader[] = [];
  /** How many more pings to answer. */
  answerPings = 0;

  constructor(readonly socket: Socket) {
    const decoder = new FrameDecoder({
      header: (h) => {
        this.frames.push(h);
        if (h.type === FrameType.Ping && h.flags & Flag.SYN && this.answerPings > 0) {
          this.answerPings--;
          this.send(FrameType.Ping, Flag.ACK, 0, h.length);
        }
      },
      payload() {},
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
  }

  send(type: FrameType, flags: number, stream: number, length: number, payload?: Buffer): void {
    this.socket.write(encodeHeader(type, flags, stream, payload ? payload.length : length));
    if (payload) this.socket.write(payload);
  }

  has(type: FrameType, flags: number, stream: number, length?: number): boolean {
    return this.frames.some((f) => f.type === type && f.flags === flags && f.stream === stream && (length === undefined || f.length === length));
  }
}

/** A server session whose client is a RawPeer. */
async function rawClient(options: { keepAliveMs?: number } = {}): Promise<{ server: YamuxSession; raw: RawPeer }> {
  const [a, b] = await socketPair();
  return { server: new YamuxSession(b, { client: false, keepAliveMs: options.keepAliveMs ?? false }), raw: new RawPeer(a) };
}

describe('yamux session', () => {
  it('opens streams from either side: odd ids from the client, even from the server', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    const echo = (s: YamuxStream) => s.pipe(s);
    client.on('stream', echo);
    server.on('stream', echo);
    const opened = [client.open(), client.open(), server.open(), server.open()];
    assert.deepEqual(
      opened.map((s) => s.id),
      [1, 3, 2, 4],
    );
    const replies = await settles(Promise.all(opened.map((s) => (s.end(`via ${s.id}`), readAll(s)))), 'the echoes');
    assert.deepEqual(
      replies.map(String),
      ['via 1', 'via 3', 'via 2', 'via 4'],
    );
    client.close();
    await settles(Promise.all([once(client, 'close'), once(server, 'close')]), 'both sessions to close');
  });

  it('echoes 4 MiB each way on 32 concurrent streams, in writes of random sizes', { timeout: 120_000 }, async () => {
    const { client, server } = await sessions();
    server.on('stream', (s) => s.pipe(s));
    const payloads = Array.from({ length: 32 }, () => randomBytes(4 * MiB));
    const start = performance.now();
    const echoed = await settles(
      Promise.all(payloads.map((p, i) => roundTrip(client.open(), p, i + 1))),
      'the echoes',
      100_000,
    );
    const ms = performance.now() - start;
    echoed.forEach((back, i) => assert.equal(sha256(back), sha256(payloads[i]!), `stream ${2 * i + 1} echoed other bytes`));
    console.log(`# 32 x 4 MiB echoed in ${ms.toFixed(0)} ms: ${(128 / (ms / 1000)).toFixed(0)} MiB/s each way`);
    client.close();
    await settles(once(server, 'close'), 'the server to close');
  });

  it('half-closes: the side that ended still reads the reply', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    const accepted = new Promise<YamuxStream>((resolve) =>
      server.on('stream', (s) => {
        resolve(s);
        void readAll(s).then((got) => s.end(`got ${got}`));
      }),
    );
    const stream = client.open();
    stream.end('hello');
    await settles(once(stream, 'finish'), 'the FIN to be sent');
    assert.equal(String(await settles(readAll(stream), 'the reply')), 'got hello');
    const far = await accepted;
    await until(() => stream.closed && far.closed, 'both ends to close');
    assert.equal(stream.errored, null);
    assert.equal(far.errored, null);
    client.close();
  });

  it('resets: the peer of a destroyed stream gets ECONNRESET, the rest of the session carries on', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    server.on('stream', (s) => {
      if (s.id === 1) s.once('data', () => s.destroy());
      else s.pipe(s);
    });
    const doomed = client.open();
    const failed = once(doomed, 'error');
    doomed.write(randomBytes(2 * MiB)); // still arriving when the server resets: dropped there
    const [err] = (await settles(failed, 'the reset')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(err.message, 'yamux: stream 1 reset by peer');
    const data = randomBytes(MiB);
    assert.ok((await settles(roundTrip(client.open(), data, 7), 'an echo after the reset')).equals(data));
    client.close();
  });

  it('stalls only the stream whose reader stops: its window fills, its writer waits, the others flow', { timeout: 30_000 }, async () => {
    const { client, server } = await sessions();
    let held: YamuxStream | undefined;
    server.on('stream', (s) => {
      if (s.id === 1) held = s; // never read until the end of the test
      else s.pipe(s);
    });
    const slow = client.open();
    const slowData = randomBytes(RECEIVE_WINDOW + MiB);
    let slowWriteDone = false;
    slow.write(slowData, () => (slowWriteDone = true));
    await until(() => held?.readableLength === RECEIVE_WINDOW, 'the unread stream has a full window buffered', 10_000);

    const data = randomBytes(4 * MiB);
    assert.ok((await settles(roundTrip(client.open(), data, 3), 'the other stream to echo')).equals(data));
    assert.equal(held!.readableLength, RECEIVE_WINDOW, 'the peer sent beyond the window');
    assert.equal(slowWriteDone, false, 'a write completed without window for it');

    slow.end();
    assert.ok((await settles(readAll(held!), 'the stalled stream to flow once read')).equals(slowData));
    assert.equal(slowWriteDone, true);
    held!.end();
    slow.resume();
    client.close();
    await settles(once(server, 'close'), 'the sessions to close');
  });

  it('close(): GoAway stops new streams both ways, open ones finish, then both sessions close', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    server.on('stream', (s) => s.pipe(s));
    const stream = client.open();
    stream.write('before ');
    const goaway = once(server, 'goaway');
    client.close();
    await settles(goaway, 'the GoAway');
    assert.throws(() => server.open(), /^Error: yamux: cannot open a stream: the peer sent GoAway$/);
    assert.throws(() => client.open(), /the session is closing/);
    const closed = Promise.all([once(client, 'close'), once(server, 'close')]);
    stream.end('after');
    assert.equal(String(await settles(readAll(stream), 'the open stream to finish')), 'before after');
    await settles(closed, 'both sessions to close');
    assert.throws(() => client.open(), /the session is closed/);
  });

  it('when the connection dies, every open stream is destroyed with an error', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    let accepted = 0;
    server.on('stream', (s) => (accepted++, s.on('error', () => {})));
    const streams = [client.open(), client.open(), client.open()];
    const errors = streams.map((s) => (s.write('x'), once(s, 'error')));
    await until(() => accepted === 3, 'the server to accept the streams');
    const closed = once(client, 'close');
    server.destroy();
    for (const [err] of await settles(Promise.all(errors), 'the streams to fail')) assert.match((err as Error).message, /^yamux: connection (closed|reset)/);
    await settles(closed, "the client's close");
    assert.throws(() => client.open(), /the session is closed/);
  });

  it('destroy(err) fails the streams and pings with err and emits it', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    server.on('stream', (s) => s.on('error', () => {}));
    const stream = client.open();
    const streamError = once(stream, 'error');
    const sessionError = once(client, 'error');
    const ping = client.ping();
    const boom = new Error('boom');
    client.destroy(boom);
    assert.equal((await streamError)[0], boom);
    assert.equal((await sessionError)[0], boom);
    await assert.rejects(ping, boom);
    await settles(once(server, 'close'), 'the peer to notice');
  });

  it('pings: a round-trip time from a session, a timeout from a peer that does not answer', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    const rtt = await settles(client.ping(), 'the pong');
    assert.ok(Number.isFinite(rtt) && rtt >= 0, `rtt ${rtt}`);
    assert.ok((await settles(server.ping(), 'the pong')) >= 0);
    client.destroy();

    const { server: lonely, raw } = await rawClient();
    await assert.rejects(lonely.ping(50), /^Error: yamux: ping timed out after 50 ms$/);
    assert.ok(raw.has(FrameType.Ping, Flag.SYN, 0));
    lonely.destroy();
  });

  it('keepalive: pings every interval and dies when a ping goes unanswered', { timeout: 20_000 }, async () => {
    const { server, raw } = await rawClient({ keepAliveMs: 30 });
    raw.answerPings = 3;
    const [err] = (await settles(once(server, 'error'), 'the keepalive to fail')) as [Error];
    assert.equal(err.message, 'yamux: keepalive failed: yamux: ping timed out after 30 ms');
    await until(() => raw.socket.closed, 'the connection to be closed');
    assert.equal(raw.frames.filter((f) => f.type === FrameType.Ping).length, 4, 'three answered pings, then the one that failed');
  });

  it(`keeps ${ACCEPT_BACKLOG} streams for a late listener, in order; refuses one more with RST`, { timeout: 30_000 }, async () => {
    const { client, server } = await sessions();
    const streams = Array.from({ length: ACCEPT_BACKLOG + 1 }, (_, i) => {
      const s = client.open();
      s.end(`stream ${i}`);
      s.on('error', () => {}); // destroyed with the session at the end
      return s;
    });
    const refused = streams.at(-1)!;
    const [err] = (await settles(once(refused, 'error'), 'the RST')) as [NodeJS.ErrnoException];
    assert.equal(err.message, `yamux: stream ${refused.id} reset by peer`);

    const accepted: YamuxStream[] = [];
    server.on('stream', (s) => accepted.push(s.on('error', () => {})));
    await until(() => accepted.length === ACCEPT_BACKLOG, 'the backlog to be delivered', 10_000);
    assert.deepEqual(
      accepted.map((s) => s.id),
      streams.slice(0, -1).map((s) => s.id),
    );
    const texts = await settles(Promise.all(accepted.map(readAll)), 'the data of the waiting streams');
    assert.deepEqual(
      texts.map(String),
      streams.slice(0, -1).map((_, i) => `stream ${i}`),
    );
    client.destroy();
  });

  it('acknowledges (ACK) a stream when it is handed out, even one the peer has half-closed already', { timeout: 20_000 }, async () => {
    const { server, raw } = await rawClient();
    raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
    raw.send(FrameType.Data, Flag.FIN, 1, 0, Buffer.from('hi'));
    raw.send(FrameType.Ping, Flag.SYN, 0, 42);
    await until(() => raw.has(FrameType.Ping, Flag.ACK, 0, 42), 'the pong');
    assert.deepEqual(
      raw.frames.filter((f) => f.stream === 1),
      [],
      'nothing is said on a stream before it is handed out',
    );
    const [stream] = (await settles(once(server, 'stream'), 'the stream')) as [YamuxStream];
    await until(() => raw.has(FrameType.WindowUpdate, Flag.ACK, 1, 0), 'the ACK');
    assert.equal(String(await settles(readAll(stream), 'the data')), 'hi');
    stream.on('error', () => {}); // its own side is still open when the session goes
    server.destroy();
  });

  it('hands a stream the small frames of one read together, in order, and each stream only its own', { timeout: 20_000 }, async () => {
    const { server, raw } = await rawClient();
    const streams: YamuxStream[] = [];
    server.on('stream', (s) => streams.push(s));
    const data = (id: number, text: string, flags = 0) => [encodeHeader(FrameType.Data, flags, id, Buffer.byteLength(text)), Buffer.from(text)];
    // One socket write: two streams' data interleaved, a FIN in the middle of stream 1's.
    raw.socket.write(
      Buffer.concat([
        encodeHeader(FrameType.WindowUpdate, Flag.SYN, 1, 0),
        encodeHeader(FrameType.WindowUpdate, Flag.SYN, 3, 0),
        ...data(1, 'a'),
        ...data(1, 'b'),
        ...data(3, 'x'),
        ...data(1, 'c'),
        ...data(1, 'd', Flag.FIN),
        ...data(3, 'y'),
        ...data(3, 'z'),
      ]),
    );
    await until(() => streams.length === 2, 'both streams');
    const chunks = (s: YamuxStream) => new Promise<string[]>((resolve) => {
      const got: string[] = [];
      s.on('data', (c: Buffer) => got.push(String(c)));
      s.on('end', () => resolve(got));
    });
    const first = chunks(streams[0]!);
    const second = chunks(streams[1]!);
    raw.send(FrameType.WindowUpdate, Flag.FIN, 3, 0);
    assert.deepEqual(await settles(first, 'stream 1 to end'), ['ab', 'cd']);
    assert.deepEqual(await settles(second, 'stream 3 to end'), ['x', 'yz']);
    for (const s of streams) s.on('error', () => {});
    server.destroy();
  });

  it('grants its whole receive window with the SYN and the ACK, beyond yamux\'s initial 256 KiB', { timeout: 20_000 }, async () => {
    const { server, raw } = await rawClient();
    const opened = server.open();
    await until(() => raw.has(FrameType.WindowUpdate, Flag.SYN, opened.id, RECEIVE_WINDOW - INITIAL_WINDOW), 'the SYN with the extra window');
    server.on('stream', (s) => s.on('error', () => {}));
    raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
    await until(() => raw.has(FrameType.WindowUpdate, Flag.ACK, 1, RECEIVE_WINDOW - INITIAL_WINDOW), 'the ACK with the extra window');
    opened.on('error', () => {});
    server.destroy();
  });

  it('drops a stream the peer resets before it is handed out', { timeout: 20_000 }, async () => {
    const { client, server } = await sessions();
    const dropped = client.open();
    dropped.write('never seen');
    dropped.destroy();
    const kept = client.open();
    kept.end('seen');
    await settles(client.ping(), 'the pong'); // the server has read everything sent before it
    const accepted: YamuxStream[] = [];
    server.on('stream', (s) => accepted.push(s));
    await until(() => accepted.length > 0, 'a stream to be delivered');
    assert.deepEqual(
      accepted.map((s) => s.id),
      [kept.id],
    );
    const far = accepted[0]!;
    assert.equal(String(await settles(readAll(far), 'its data')), 'seen');
    far.end();
    kept.resume();
    const closed = once(server, 'close');
    client.close();
    await settles(closed, 'the sessions to close');
  });

  for (const [what, frames] of [
    ['in one frame', [RECEIVE_WINDOW + 1]],
    ['over two frames', [200_000, RECEIVE_WINDOW - 200_000 + 1]],
  ] as const) {
    it(`data beyond the window ${what} is a protocol error: GoAway(1), session and streams die`, { timeout: 20_000 }, async () => {
      const { server, raw } = await rawClient();
      let accepted: YamuxStream | undefined;
      let streamError: Error | undefined;
      server.on('stream', (s) => (accepted = s).on('error', (e) => (streamError = e)));
      const failed = once(server, 'error');
      raw.send(FrameType.WindowUpdate, Flag.SYN, 1, 0);
      for (const n of frames) raw.send(FrameType.Data, 0, 1, 0, randomBytes(n));
      const [err] = (await settles(failed, 'the protocol error')) as [Error];
      assert.match(err.message, /^yamux: protocol error: data beyond the window on stream 1 /);
      await until(() => raw.has(FrameType.GoAway, 0, 0, GoAwayCode.ProtocolError), 'GoAway(protocol error)');
      // Ended, or reset: the session closes with the peer's excess data unread, which Linux may answer with a reset.
      await until(() => raw.socket.readableEnded || raw.socket.destroyed, 'the connection to be closed');
      if (accepted) assert.equal(streamError, err);
    });
  }

  it('other protocol errors: a stream id of the wrong parity, a duplicate SYN, an unknown version', { timeout: 20_000 }, async () => {
    const cases: Array<[string, (raw: RawPeer) => void, RegExp]> = [
      ['wrong parity', (raw) => raw.send(FrameType.WindowUpdate, Flag.SYN, 2, 0), /^yamux: protocol error: the peer opened stream 2, an id of ours$/],
      ['duplicate', (raw) => (raw.send(FrameType.WindowUpdate, Flag.SYN, 5, 0), raw.send(FrameType.Data, Flag.SYN, 5, 0, Buffer.from('x'))), /^yamux: protocol error: the peer opened stream 5 twice$/],
      ['version', (raw) => raw.socket.write(Buffer.from([1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])), /^yamux: protocol error: unsupported version 1$/],
    ];
    for (const [name, act, message] of cases) {
      const { server, raw } = await rawClient();
      const failed = once(server, 'error');
      act(raw);
      const [err] = (await settles(failed, name)) as [Error];
      assert.match(err.message, message, name);
      await until(() => raw.has(FrameType.GoAway, 0, 0, GoAwayCode.ProtocolError), `GoAway after ${name}`);
    }
  });

  it("the peer's GoAway with an error code ends the session with an error", { timeout: 20_000 }, async () => {
    const { server, raw } = await rawClient();
    const failed = once(server, 'error');
    raw.send(FrameType.GoAway, 0, 0, GoAwayCode.InternalError);
    const [err] = (await settles(failed, 'the error')) as [Error];
    assert.equal(err.message, 'yamux: the peer ended the session: GoAway(internal error)');
  });
});
