/**
 * A yamux session: many YamuxStreams over one connection, speaking
 * hashicorp/yamux's protocol (spec.md there). go-plugin >= 1.6 multiplexes
 * its gRPC connections this way: the host is the client, the plugin the
 * server, and the main gRPC connection and every broker connection are one
 * stream each, with HTTP/2 running over the stream.
 *
 * Why our own: @chainsafe/libp2p-yamux 8 (maintained, imports fine on Node
 * 20) is built on libp2p's MessageStream/AbstractStreamMuxer, not Node
 * streams: we would adapt our socket into a libp2p MessageStream and each of
 * its streams back into a Duplex, and carry 55 packages / 14 MB for it.
 * yamux-js 0.2.0 mishandles frames split across reads above ~64 KiB. The
 * protocol itself is small.
 *
 * Semantics:
 * - open() sends the SYN at once; the stream can be written immediately,
 *   without waiting for the peer's ACK (as the spec allows).
 * - Incoming streams are 'stream' events, in the order the peer opened them
 *   (the order of their SYNs on the connection): go-plugin's broker relies
 *   on that. While no 'stream' listener is attached they wait, ACK-less, in
 *   a backlog of ACCEPT_BACKLOG; a SYN beyond it is refused with RST.
 * - close() sends GoAway(normal), refuses new streams both ways, resets the
 *   streams still waiting in the backlog, and ends the connection once the
 *   other streams are finished or destroyed; destroy() ends everything now.
 * - When the session dies (destroy, protocol error, the connection failing
 *   or closing, keepalive failure), every stream left is destroyed with an
 *   error.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { encodeHeader, Flag, FrameDecoder, FrameType, GoAwayCode, YamuxProtocolError, type FrameHeader, type FrameSink } from './frame.js';
import { YamuxStream, type StreamHost } from './stream.js';

export interface YamuxSessionOptions {
  /** The client opens odd stream ids, the server even ones. */
  client: boolean;
  /**
   * Ping this often; a ping unanswered within 10 s (or the interval, if
   * shorter) kills the session. false: no keepalive. Default 30 s, as
   * hashicorp/yamux.
   */
  keepAliveMs?: number | false;
}

export interface YamuxSessionEvents {
  stream: [YamuxStream];
  /** The peer sent GoAway(normal): open() refuses from now on, existing streams go on. */
  goaway: [];
  error: [Error];
  close: [];
}

/** Incoming streams that may wait for a 'stream' listener (hashicorp/yamux's AcceptBacklog). */
export const ACCEPT_BACKLOG = 256;
const KEEPALIVE_MS = 30_000;
/** How long a ping waits for its answer (hashicorp/yamux bounds pings by its 10 s write timeout). */
const PING_TIMEOUT_MS = 10_000;
const MAX_STREAM_ID = 0xffff_ffff;
/** Two yamux headers with an HTTP/2 frame of up to 24 bytes: control frames, never a call's data. */
const CONTROL_ONLY_BYTES = 48;
/**
 * Frames and payload pieces under this size are copied together (into one
 * socket write, into one push to a stream) rather than handed on one by one:
 * each socket chunk and each push into the HTTP/2 session over a stream
 * costs more than copying a few KiB.
 */
const COALESCE_BELOW = 16 * 1024;

const GOAWAY_REASONS: Record<number, string> = {
  [GoAwayCode.ProtocolError]: 'protocol error',
  [GoAwayCode.InternalError]: 'internal error',
};

export class YamuxSession extends EventEmitter<YamuxSessionEvents> {
  private state: 'open' | 'closing' | 'dead' = 'open';
  private nextId: number;
  private readonly streams = new Map<number, YamuxStream>();
  /** Accepted from the peer, not yet handed to a listener. */
  private backlog: YamuxStream[] = [];
  private remoteGoAway = false;
  private readonly decoder: FrameDecoder;
  /** The Data frame whose payload is arriving: its stream (none: discard) and whether FIN ends it. */
  private current: { stream: YamuxStream | undefined; fin: boolean } | undefined;
  private readonly pings = new Map<number, (err?: Error) => void>();
  private pingSeq = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  private corked = false;
  /** Bytes written since the socket was corked. */
  private corkedBytes = 0;
  /** Small frames of this turn, to be written as one buffer before anything larger (or at the turn's end). */
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  /** Small payload pieces of one stream received in this chunk, pushed to it together. */
  private inbox: { stream: YamuxStream; pieces: Buffer[]; bytes: number } | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Duplex,
    options: YamuxSessionOptions,
  ) {
    super();
    this.nextId = options.client ? 1 : 2;
    this.decoder = new FrameDecoder(this.sink);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const fn of waiters) fn();
    });
    socket.on('end', () => this.connectionGone('closed by the peer'));
    socket.on('close', () => this.connectionGone('closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A peer that exits or closes mid-write is the connection ending, not the session failing.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') this.connectionGone(`reset (${err.code})`);
      else this.destroy(new Error(`yamux: connection failed: ${err.message}`, { cause: err }));
    });
    // A listener attached later takes the streams that waited for one.
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event === 'stream') queueMicrotask(() => this.deliver());
    });
    const keepAliveMs = options.keepAliveMs ?? KEEPALIVE_MS;
    if (keepAliveMs !== false) this.scheduleKeepAlive(keepAliveMs);
  }

  /** Opens a stream; it can be written at once. Throws if the session is closing or the peer sent GoAway. */
  open(): YamuxStream {
    if (this.state !== 'open') throw new Error(`yamux: cannot open a stream: the session is ${this.state === 'dead' ? 'closed' : 'closing'}`);
    if (this.remoteGoAway) throw new Error('yamux: cannot open a stream: the peer sent GoAway');
    if (this.nextId > MAX_STREAM_ID) throw new Error('yamux: cannot open a stream: stream ids exhausted');
    const id = this.nextId;
    this.nextId += 2;
    const stream = new YamuxStream(this.host, id);
    this.streams.set(id, stream);
    stream.announce(Flag.SYN);
    return stream;
  }

  /** Round-trip time in ms of a ping; rejects if no answer comes within `timeoutMs` or the session dies. */
  ping(timeoutMs = PING_TIMEOUT_MS): Promise<number> {
    if (this.state === 'dead') return Promise.reject(new Error('yamux: cannot ping: the session is closed'));
    const id = (this.pingSeq = (this.pingSeq + 1) >>> 0);
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new Error(`yamux: ping timed out after ${timeoutMs} ms`));
      }, timeoutMs).unref();
      this.pings.set(id, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(performance.now() - start);
      });
      this.write([encodeHeader(FrameType.Ping, Flag.SYN, 0, id)]);
    });
  }

  /** Graceful close: GoAway(normal) now, the connection ended once no stream is left. */
  close(): void {
    if (this.state !== 'open') return;
    this.write([encodeHeader(FrameType.GoAway, 0, 0, GoAwayCode.Normal)]);
    // Streams still waiting for a listener are refused (RST), as new ones will be.
    for (const stream of this.backlog.splice(0)) stream.destroy();
    this.state = 'closing';
    this.closeIfIdle();
  }

  /** Ends the session and the connection now; with `err`, emits it as 'error' and destroys the streams with it. */
  destroy(err?: Error): void {
    if (this.state === 'dead') return;
    this.socket.destroy();
    this.shutdown(err ?? new Error('yamux: session destroyed'), err);
  }

  private closeIfIdle(): void {
    if (this.state !== 'closing' || this.streams.size > 0) return;
    this.endConnection();
    this.shutdown(new Error('yamux: session closed'));
  }

  /** The end of the connection as such: streams still open have lost it, the session has not failed. */
  private connectionGone(how: string): void {
    if (this.state === 'dead') return;
    this.endConnection();
    this.shutdown(new Error(`yamux: connection ${how}`));
  }

  /** The peer broke the protocol (or we failed): tell it with GoAway, then die. */
  private fail(err: unknown): void {
    if (this.state === 'dead') return;
    const protocol = err instanceof YamuxProtocolError;
    const error = protocol ? err : new Error(`yamux: internal error: ${String(err)}`, { cause: err });
    this.endConnection(encodeHeader(FrameType.GoAway, 0, 0, protocol ? GoAwayCode.ProtocolError : GoAwayCode.InternalError));
    this.shutdown(error, error);
  }

  /** Flushes what is written (and `last`), then lets the connection go: nothing it brings after matters to a dead session. */
  private endConnection(last?: Buffer): void {
    const destroy = () => this.socket.destroy();
    this.sendOutbox();
    if (last) this.socket.end(last, destroy);
    else this.socket.end(destroy);
  }

  private shutdown(streamError: Error, sessionError?: Error): void {
    this.state = 'dead';
    clearTimeout(this.keepAlive);
    // Streams nobody was handed yet have no 'error' listener: they go quietly.
    for (const stream of this.backlog.splice(0)) stream.destroy();
    // forget() removes from the map as each stream is destroyed.
    for (const stream of [...this.streams.values()]) stream.destroy(streamError);
    for (const settle of this.pings.values()) settle(streamError);
    this.pings.clear();
    this.drainWaiters = [];
    this.inbox = undefined;
    this.outbox = [];
    this.outboxBytes = 0;
    // Like a socket's, after the call that ended the session has returned.
    process.nextTick(() => {
      if (sessionError) this.emit('error', sessionError);
      this.emit('close');
    });
  }

  private scheduleKeepAlive(ms: number): void {
    // Unref'd: the keepalive never keeps the process alive by itself.
    this.keepAlive = setTimeout(() => {
      this.ping(Math.min(ms, PING_TIMEOUT_MS)).then(
        () => this.state !== 'dead' && this.scheduleKeepAlive(ms),
        (err: Error) => this.destroy(new Error(`yamux: keepalive failed: ${err.message}`, { cause: err })),
      );
    }, ms).unref();
  }

  private write(frames: Buffer[]): boolean {
    if (this.state === 'dead') return true;
    // Frames written in one turn of the event loop leave in one writev: HTTP/2 over a stream writes each
    // call's frames in ticks of their own, so a tick batches little (measured: 32 calls in flight over
    // go-plugin's multiplexing, 14,600 calls/s with a tick, 15,900 with a turn; one call 236 -> 194 µs).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork, true);
    }
    let ok = true;
    for (const frame of frames) {
      this.corkedBytes += frame.length;
      if (frame.length < COALESCE_BELOW) {
        this.outbox.push(frame);
        this.outboxBytes += frame.length;
        ok = !this.socket.writableNeedDrain;
      } else {
        this.sendOutbox();
        ok = this.socket.write(frame);
      }
    }
    return ok;
  }

  private sendOutbox(): void {
    if (this.outboxBytes === 0) return;
    const out = this.outbox;
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, this.outboxBytes));
    this.outbox = [];
    this.outboxBytes = 0;
  }

  /**
   * A turn that wrote only a control frame or two (an HTTP/2 PING ACK, a
   * WindowUpdate) waits one more turn: grpc-go pings with every response,
   * node:http2 acknowledges as it reads, and the caller's next request comes
   * a turn later; together they leave in one write instead of two.
   */
  private readonly uncork = (mayWait: boolean): void => {
    if (mayWait && this.corkedBytes <= CONTROL_ONLY_BYTES && this.state === 'open') {
      setImmediate(this.uncork, false);
      return;
    }
    this.corked = false;
    this.corkedBytes = 0;
    this.sendOutbox();
    this.socket.uncork();
  };

  private readonly host: StreamHost = {
    write: (frames) => this.write(frames),
    onDrain: (fn) => void this.drainWaiters.push(fn),
    forget: (id) => {
      this.streams.delete(id);
      if (this.backlog.length > 0) this.backlog = this.backlog.filter((s) => s.id !== id);
      this.closeIfIdle();
    },
  };

  private receive(chunk: Buffer): void {
    if (this.state === 'dead') return;
    try {
      this.decoder.push(chunk);
      this.deliverInbox();
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Hands `piece` to `stream`, small pieces held back to go with the next ones
   * of the same stream. Whatever is held is `stream`'s: the header of any
   * other frame delivered it.
   */
  private toStream(stream: YamuxStream, piece: Buffer): void {
    if (piece.length >= COALESCE_BELOW) {
      this.deliverInbox();
      stream.receive(piece);
    } else if (this.inbox) {
      this.inbox.pieces.push(piece);
      this.inbox.bytes += piece.length;
    } else {
      this.inbox = { stream, pieces: [piece], bytes: piece.length };
    }
  }

  private deliverInbox(): void {
    const held = this.inbox;
    if (!held) return;
    this.inbox = undefined;
    held.stream.receive(held.pieces.length === 1 ? held.pieces[0]! : Buffer.concat(held.pieces, held.bytes));
  }

  // Once a frame has ended the session, the rest of its chunk is ignored.
  private readonly sink: FrameSink = {
    header: (h) => {
      if (this.state === 'dead') return;
      // Held data goes first unless this frame only brings more of it (a FIN applies after its payload).
      if (this.inbox && !(h.type === FrameType.Data && (h.flags & ~Flag.FIN) === 0 && h.stream === this.inbox.stream.id)) this.deliverInbox();
      this.frame(h);
    },
    payload: (piece, last) => {
      if (this.state === 'dead') return;
      const current = this.current!;
      if (current.stream) this.toStream(current.stream, piece);
      if (last) {
        this.current = undefined;
        if (current.fin) {
          this.deliverInbox();
          current.stream?.remoteEnd();
        }
      }
    },
  };

  private frame(h: FrameHeader): void {
    switch (h.type) {
      case FrameType.Ping:
        if (h.flags & Flag.SYN) {
          this.write([encodeHeader(FrameType.Ping, Flag.ACK, 0, h.length)]);
        } else {
          this.pings.get(h.length)?.();
          this.pings.delete(h.length);
        }
        return;
      case FrameType.GoAway:
        if (h.length === GoAwayCode.Normal) {
          this.remoteGoAway = true;
          this.emit('goaway');
          return;
        }
        this.destroy(new Error(`yamux: the peer ended the session: GoAway(${GOAWAY_REASONS[h.length] ?? `code ${h.length}`})`));
        return;
    }
    const stream = h.flags & Flag.SYN ? this.incoming(h.stream) : this.streams.get(h.stream);
    const data = h.type === FrameType.Data && h.length > 0;
    // A stream we no longer know (we reset it, or refused it): its frames are dropped.
    if (!stream || h.flags & Flag.RST) {
      stream?.remoteReset(!this.backlog.includes(stream));
      if (data) this.current = { stream: undefined, fin: false };
      return;
    }
    if (h.type === FrameType.WindowUpdate) stream.windowUpdate(h.length);
    if (data) {
      stream.expect(h.length);
      this.current = { stream, fin: (h.flags & Flag.FIN) !== 0 };
    } else if (h.flags & Flag.FIN) {
      stream.remoteEnd();
    }
  }

  /** A SYN: the new stream, or undefined when it is refused (with RST). */
  private incoming(id: number): YamuxStream | undefined {
    if (id === 0 || id % 2 === this.nextId % 2) throw new YamuxProtocolError(`the peer opened stream ${id}, an id of ours`);
    if (this.streams.has(id)) throw new YamuxProtocolError(`the peer opened stream ${id} twice`);
    if (this.state !== 'open' || this.backlog.length >= ACCEPT_BACKLOG) {
      this.write([encodeHeader(FrameType.WindowUpdate, Flag.RST, id, 0)]);
      return undefined;
    }
    const stream = new YamuxStream(this.host, id);
    this.streams.set(id, stream);
    this.backlog.push(stream);
    queueMicrotask(() => this.deliver());
    return stream;
  }

  /** Hands waiting streams to the 'stream' listeners, in order, acknowledging each. */
  private deliver(): void {
    while (this.backlog.length > 0 && this.listenerCount('stream') > 0) {
      const stream = this.backlog.shift()!;
      stream.announce(Flag.ACK);
      this.emit('stream', stream);
    }
  }
}
