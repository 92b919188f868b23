/**
 * One native-transport connection: streams multiplexed over a single byte
 * stream (the socket pair an hst host shares with its plugin), in both
 * directions, each with its own flow-control window. Calls are typed above
 * this (client.ts, server.ts); here are only streams and frames.
 *
 * Written here, not taken from a library: yamux and HTTP/2 multiplexers for
 * Node frame every write separately and allocate per frame, which is exactly
 * the cost this transport exists to remove. Frames produced during one turn of
 * the event loop leave in one write; a message larger than a fragment is sent
 * a fragment at a time, round-robin with every other stream, so a 64-byte
 * call never waits behind a megabyte.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import { Code, RpcError } from '../status.js';
import { Flag, FRAGMENT_BYTES, FRAGMENT_SLACK_BYTES, FrameReader, FrameType, FrameWriter, ownSpace, slicePayload, type Payload } from './frame.js';
import { payloadLength } from '../codec.js';
import { StreamTable } from './stream-table.js';
import { decodeCancel, decodeOpen, decodeStatus, encodeCancel, encodeOpen, encodeStatus, type OpenHeader } from './payloads.js';

/** Bytes a receiver lets one stream have in flight before it has to credit more. */
export const INITIAL_WINDOW = 4 * 1024 * 1024;
/** A stream's producer waits while this much of its output is not yet written. */
const QUEUE_LIMIT = 1024 * 1024;
/** A message joined from fragments starts no larger than this on a guess (Stream.space): unused room costs memory. */
const MAX_JOIN_GUESS = 64 * 1024 * 1024;
/** Bulk (fragmented) bytes framed per pass over the streams with output waiting. */
const BULK_PER_TURN = 256 * 1024;
/** A stream sending a very large message lets the next one in line have a turn after this much. */
const STREAM_QUANTUM = 1024 * 1024;
/** Bulk output stops while Node holds this much the kernel has not taken (see flush). */
const BULK_BUFFERED = 256 * 1024;
/**
 * A turn that has framed this many frames writes them at once instead of at
 * the turn's end: with many calls in flight the peer starts on the first
 * replies while this side frames the rest, so both processes work at once
 * rather than in turns. Each early write of a turn doubles the count for the
 * next one, so a turn with hundreds of replies still ends in a few writes.
 * Measured (quick runs, 64 B echo): a fixed 32 gave 260,000 calls/s at 32 in
 * flight and 567,000 at 128; a fixed 16, 400,000 and 534,000; doubling from
 * 16, 359,000-387,000 and 580,000-593,000 (and plugin->host Stat at 32 in
 * flight +15 %).
 */
const EARLY_FLUSH_FRAMES = 16;

/** What a stream's owner (a client call or a server call) hears from the peer. */
export interface StreamSink {
  /**
   * A whole message; `bytes` is a view valid only during the call unless the
   * owner keeps it. `credit` is what to pass to stream.consumed() once the
   * owner has taken it (less than its length when part was credited early).
   */
  message(bytes: Buffer, credit: number): void;
  /** The peer sends nothing more (HalfClose, or End on its last message). */
  remoteEnd(): void;
  /** Client side: the server's final status. */
  status(code: Code, details: string): void;
  /** Server side: the caller cancelled, or the connection is gone. */
  cancel(error: RpcError): void;
}

/** A server's entry point for one channel: called for every stream the peer opens there. */
export type StreamAcceptor = (stream: Stream, header: OpenHeader) => StreamSink;

interface OutItem {
  type: FrameType;
  flags: number;
  payload: Payload | undefined;
  /** The payload's length, and how much of it is already sent. */
  length: number;
  offset: number;
}

export class Stream {
  sink: StreamSink | undefined;
  /** Message bytes the peer still has room for. */
  sendWindow = INITIAL_WINDOW;
  /** Output waiting for the window or for its turn, in order. */
  readonly queue: OutItem[] = [];
  queuedBytes = 0;
  /** Bulk bytes sent since this stream's turn began (Session.writeBulk). */
  quantum = 0;
  /** The message being joined from fragments (see space), and how much of it has arrived. */
  private joining: Buffer | undefined;
  private joined = 0;
  /** Bytes of the message being joined already credited to the peer. */
  private partialCredited = 0;
  /** Bytes the owner consumed that the peer was not yet told about. */
  private unacked = 0;
  remoteEnded = false;
  localEnded = false;
  done = false;
  private writableWaiters: Array<() => void> | undefined;

  constructor(
    readonly session: Session,
    readonly id: number,
    /** Opened by this side (a call we make), not by the peer (a call we serve). */
    readonly local: boolean,
  ) {}

  /** Sends one message; `end` half-closes with it. Check writable() first to respect backpressure. */
  send(message: Payload, end = false): void {
    if (this.done || this.localEnded) return;
    if (end) this.localEnded = true;
    this.session.sendMessage(this, message, end);
  }

  halfClose(): void {
    if (this.done || this.localEnded) return;
    this.localEnded = true;
    this.session.sendControl(this, FrameType.HalfClose, undefined);
  }

  /** Server side: the final status; the stream is over. */
  finish(code: Code, details: string): void {
    if (this.done) return;
    this.session.sendControl(this, FrameType.Status, encodeStatus(code, details));
    this.session.forget(this);
  }

  /** Client side: give up on the call; the stream is over. */
  cancel(code: Code, reason: string): void {
    if (this.done) return;
    this.session.sendControl(this, FrameType.Cancel, encodeCancel(code, reason));
    this.session.forget(this);
  }

  /**
   * Sends each of `messages` as the window allows (waiting while QUEUE_LIMIT
   * is queued); stops, leaving the rest of the source unread, once the stream
   * is over or `stopped()` says so. A stream that stops early ends its source.
   */
  async sendAll(messages: AsyncIterable<unknown> | Iterable<unknown>, encode: (message: unknown) => Payload, stopped: () => boolean = () => false): Promise<void> {
    for await (const message of messages) {
      if (this.done || stopped()) return;
      this.send(encode(message));
      if (!this.done && this.queuedBytes >= QUEUE_LIMIT) await new Promise<void>((resolve) => (this.writableWaiters ??= []).push(resolve));
    }
  }

  /** The owner has taken `bytes` of received messages: credit the peer once enough has piled up. */
  consumed(bytes: number): void {
    this.unacked += bytes;
    if (this.remoteEnded || this.done || this.unacked < INITIAL_WINDOW / 4) return;
    const increment = Buffer.allocUnsafe(4);
    increment.writeUInt32BE(this.unacked);
    this.unacked = 0;
    this.session.sendWindow(this, increment);
  }

  /**
   * @internal Where a Message frame of `length` bytes is read into (see
   * FrameReader): a message in one frame gets memory of its own; the
   * fragments of a larger one are read into their places in the message,
   * which starts as large as the session's last joined message and doubles
   * when outgrown. undefined drops the frame: the message is over the limit.
   */
  space(flags: number, length: number, maxMessageBytes: number): Buffer | undefined {
    if (this.joining === undefined && !(flags & Flag.Partial)) return ownSpace(this.id, flags, length);
    const need = this.joined + length;
    if (need > maxMessageBytes) {
      this.tooLarge(maxMessageBytes);
      return undefined;
    }
    let joining = this.joining;
    if (joining === undefined || need > joining.length) {
      const guess = joining ? joining.length * 2 : Math.min(this.session.lastJoinedBytes, MAX_JOIN_GUESS);
      const capacity = Math.min(maxMessageBytes, Math.max(need, guess));
      const grown = Buffer.allocUnsafeSlow(capacity);
      if (joining) joining.copy(grown, 0, 0, this.joined);
      this.joining = joining = grown;
    }
    return joining.subarray(this.joined, need);
  }

  /** @internal A Message frame arrived, read into the memory space() gave it. */
  receive(flags: number, payload: Buffer): void {
    let message = payload;
    let credit = payload.length;
    if (this.joining !== undefined) {
      this.joined += payload.length;
      if (flags & Flag.Partial) {
        // A message larger than the window could never complete: past half of it, fragments are credited as they come.
        if (this.joined > INITIAL_WINDOW / 2) {
          this.partialCredited += payload.length;
          this.consumed(payload.length);
        }
        return;
      }
      message = this.joining.subarray(0, this.joined);
      // Room the size guess left over is not handed to the reader with the message.
      if (this.joining.length - this.joined > this.joined / 8) message = Buffer.from(message);
      this.session.lastJoinedBytes = this.joined;
      credit = this.joined - this.partialCredited;
      this.joining = undefined;
      this.joined = this.partialCredited = 0;
    }
    if (flags & Flag.End) this.remoteEnded = true;
    this.sink?.message(message, credit);
    if (flags & Flag.End && !this.done) this.sink?.remoteEnd();
  }

  /** @internal */
  remoteHalfClose(): void {
    this.remoteEnded = true;
    this.sink?.remoteEnd();
  }

  /** @internal The queue shrank or the stream ended: let waiting producers go on. */
  wake(): void {
    const waiters = this.writableWaiters;
    if (!waiters || (this.queuedBytes >= QUEUE_LIMIT && !this.done)) return;
    this.writableWaiters = undefined;
    for (const w of waiters) w();
  }

  private tooLarge(limit: number): void {
    const error = new RpcError(Code.RESOURCE_EXHAUSTED, `message larger than the limit of ${limit} bytes`);
    const sink = this.sink;
    if (this.local) {
      this.cancel(error.code, error.details);
      sink?.status(error.code, error.details);
    } else {
      this.finish(error.code, error.details);
      sink?.cancel(error);
    }
  }
}

export interface SessionOptions {
  /** The host opens odd stream ids and the plugin even ones, so both may open streams at once. */
  side: 'host' | 'plugin';
  /** For CallContext.peer and logs. */
  peer: string;
  maxMessageBytes: number;
}

export class Session {
  private readonly streams = new StreamTable<Stream>();
  private readonly acceptors = new Map<number, StreamAcceptor>();
  private readonly writer = new FrameWriter();
  private readonly reader: FrameReader;
  /** The size of the last message joined from fragments: the first guess for the next one's (Stream.space). */
  lastJoinedBytes = 0;
  /** Streams with output waiting, in line (see writeBulk). */
  private readonly bulk = new Set<Stream>();
  private nextId: number;
  private flushScheduled = false;
  /** Frames that make this turn's next early write (see EARLY_FLUSH_FRAMES); doubles after each. */
  private earlyFlushAt = EARLY_FLUSH_FRAMES;
  /** Node holds BULK_BUFFERED or more the kernel has not taken: bulk output waits for the write callback. */
  private bulkHeldBack = false;
  private closedWith: RpcError | undefined;
  private readonly closeListeners: Array<(error: RpcError) => void> = [];
  private readonly socket: Duplex;
  /**
   * A plain socket of Node's own: what it has written is in the kernel's
   * copy. Any other Duplex (a multiplexed channel, a stream in a test) may
   * keep a written buffer as it is.
   */
  private readonly ownsSocket: boolean;
  readonly peer: string;
  readonly maxMessageBytes: number;

  /**
   * `connection` is a connected socket's fd (read with the reader's own
   * buffers, see FrameReader) or any byte stream (read as it reads itself).
   */
  constructor(connection: Duplex | number, options: SessionOptions) {
    this.nextId = options.side === 'host' ? 1 : 2;
    this.peer = options.peer;
    this.maxMessageBytes = options.maxMessageBytes;
    this.reader = new FrameReader({
      frame: (type, flags, id, payload) => this.onFrame(type, flags, id, payload),
      messageSpace: (id, flags, length) => {
        const stream = this.streams.get(id);
        return stream && !stream.done ? stream.space(flags, length, this.maxMessageBytes) : undefined;
      },
    });
    const read = (from: () => void): void => {
      if (this.closedWith) return;
      try {
        from();
      } catch (err) {
        this.close(new RpcError(Code.INTERNAL, `native transport: ${(err as Error).message}`));
      }
    };
    const socket = (this.socket =
      typeof connection === 'number'
        ? // onread is the constructor's too (Node's net docs), though @types/node has it only on connect's options.
          new Socket({ fd: connection, readable: true, writable: true, onread: { buffer: this.reader.nextBuffer, callback: (n: number) => read(() => this.reader.filled(n)) } } as SocketConstructorOpts)
        : connection);
    // A TLS socket encrypts on its own schedule, and may keep the cleartext until then.
    this.ownsSocket = socket instanceof Socket && (socket as { encrypted?: boolean }).encrypted !== true;
    if (typeof connection !== 'number') socket.on('data', (chunk: Buffer) => read(() => this.reader.push(chunk)));
    socket.on('error', (err: Error) => this.close(new RpcError(Code.UNAVAILABLE, `connection to ${this.peer} failed: ${err.message}`)));
    socket.on('close', () => this.close(new RpcError(Code.UNAVAILABLE, `connection to ${this.peer} closed`)));
    socket.on('end', () => socket.end());
  }

  get closed(): RpcError | undefined {
    return this.closedWith;
  }

  onClose(listener: (error: RpcError) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  /** Streams the peer opens on `channel` go to `acceptor`; returns the undo. */
  accept(channel: number, acceptor: StreamAcceptor): () => void {
    if (this.acceptors.has(channel)) throw new Error(`native transport: channel ${channel} is already served`);
    this.acceptors.set(channel, acceptor);
    return () => {
      if (this.acceptors.get(channel) === acceptor) this.acceptors.delete(channel);
    };
  }

  /** Opens a stream to the peer's `channel`; returns undefined (having told the sink) when the session is closed. */
  open(header: OpenHeader, sink: StreamSink): Stream | undefined {
    if (this.closedWith) {
      sink.status(this.closedWith.code, this.closedWith.details);
      return undefined;
    }
    const stream = new Stream(this, this.nextId, true);
    this.nextId += 2;
    stream.sink = sink;
    this.streams.add(stream);
    this.writer.frame(FrameType.Open, 0, stream.id, encodeOpen(header));
    this.scheduleFlush();
    return stream;
  }

  /** Fails every stream with `error` and closes the connection. */
  close(error = new RpcError(Code.UNAVAILABLE, `connection to ${this.peer} closed`)): void {
    if (this.closedWith) return;
    this.closedWith = error;
    const streams = this.streams.values();
    this.streams.clear();
    this.bulk.clear();
    for (const s of streams) {
      s.done = true;
      s.wake();
      s.sink?.cancel(error);
      s.sink?.status(error.code, error.details);
    }
    // Frames already framed (a last reply, a Status) still leave; then the peer reads the end.
    if (!this.socket.destroyed) {
      for (const segment of this.writer.take()) this.socket.write(segment);
      this.socket.end();
    }
    for (const l of this.closeListeners.splice(0)) l(error);
  }

  /** @internal */
  sendMessage(stream: Stream, message: Payload, end: boolean): void {
    if (this.closedWith) return;
    const length = payloadLength(message);
    if (stream.queue.length === 0 && goesWhole(length, FRAGMENT_BYTES, stream)) {
      stream.sendWindow -= length;
      this.writer.frame(FrameType.Message, end ? Flag.End : 0, stream.id, message);
      this.scheduleFlush();
      return;
    }
    stream.queue.push({ type: FrameType.Message, flags: end ? Flag.End : 0, payload: message, length, offset: 0 });
    stream.queuedBytes += length;
    this.bulk.add(stream);
    this.scheduleFlush();
  }

  /** @internal A frame that must stay behind the stream's queued messages. */
  sendControl(stream: Stream, type: FrameType, payload: Uint8Array | undefined): void {
    if (this.closedWith) return;
    if (stream.queue.length === 0) this.writer.frame(type, 0, stream.id, payload);
    else stream.queue.push({ type, flags: 0, payload, length: payload?.length ?? 0, offset: 0 });
    this.scheduleFlush();
  }

  /** @internal Window updates overtake queued output: they are about the other direction. */
  sendWindow(stream: Stream, increment: Buffer): void {
    if (this.closedWith) return;
    this.writer.frame(FrameType.Window, 0, stream.id, increment);
    this.scheduleFlush();
  }

  /** @internal The stream is over on our side; frames for it that still arrive are dropped. */
  forget(stream: Stream): void {
    stream.done = true;
    if (stream.queue.length === 0) this.streams.delete(stream.id);
    stream.wake();
  }

  private scheduleFlush(): void {
    if (this.writer.frames >= this.earlyFlushAt) {
      this.earlyFlushAt *= 2;
      return this.flush();
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.earlyFlushAt = EARLY_FLUSH_FRAMES;
      this.flush();
    });
  }

  /**
   * Writes what this turn framed, then bulk output until Node's own write
   * buffer (what the kernel has not taken yet) holds BULK_BUFFERED: enough
   * that libuv keeps the socket full without coming back to JavaScript, little
   * enough that a small frame framed later never waits long behind it.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.closedWith) return;
    for (;;) {
      if (!this.bulkHeldBack) this.writeBulk();
      if (this.writer.bytes === 0) return;
      this.write(this.writer.take());
      if (this.socket.writableLength >= BULK_BUFFERED) {
        this.bulkHeldBack = true;
        return;
      }
      if (this.bulk.size === 0) return;
    }
  }

  /** The last segment's callback says when the kernel has all of it: bulk output may go on then. */
  private write(segments: Buffer[]): void {
    const last = segments.length - 1;
    if (last > 0) this.socket.cork();
    for (let i = 0; i < last; i++) this.socket.write(segments[i] as Buffer);
    this.socket.write(segments[last] as Buffer, this.written);
    if (last > 0) this.socket.uncork();
    // Nothing left in Node's buffer: libuv wrote it all before returning, and the writer may reuse its slab.
    if (this.ownsSocket && this.socket.writableLength === 0) this.writer.reuse();
  }

  private readonly written = (): void => {
    if (!this.bulkHeldBack || this.socket.writableLength >= BULK_BUFFERED) return;
    this.bulkHeldBack = false;
    if (this.bulk.size || this.writer.bytes) this.scheduleFlush();
  };

  /**
   * Frames up to BULK_PER_TURN of queued output. The stream first in line
   * goes on until its message is out (or it has sent STREAM_QUANTUM, or its
   * window is used up), then goes to the back: messages finish one after
   * another, so the peer can work on the first while the next arrives,
   * instead of all of them finishing together at the end.
   */
  private writeBulk(): void {
    let budget = BULK_PER_TURN;
    while (budget > 0 && this.bulk.size > 0) {
      const stream = this.bulk.values().next().value as Stream;
      const head = stream.queue[0];
      const sent = this.writeFromQueue(stream, Math.min(budget, FRAGMENT_BYTES));
      budget -= sent;
      stream.quantum += sent;
      if (stream.queue.length === 0) {
        this.bulk.delete(stream);
        stream.quantum = 0;
        if (stream.done) this.streams.delete(stream.id);
      } else if (sent === 0) {
        // Out of window: a Window frame puts it back in line (see credit).
        this.bulk.delete(stream);
      } else if (stream.queue[0] !== head || stream.quantum >= STREAM_QUANTUM) {
        this.bulk.delete(stream);
        this.bulk.add(stream);
        stream.quantum = 0;
      }
      stream.wake();
    }
  }

  /** Writes the stream's next fragment and any control frames behind it; returns the message bytes written. */
  private writeFromQueue(stream: Stream, max: number): number {
    let sent = 0;
    while (stream.queue.length > 0) {
      const item = stream.queue[0] as OutItem;
      if (item.type !== FrameType.Message) {
        this.writer.frame(item.type, item.flags, stream.id, item.payload);
        stream.queue.shift();
        continue;
      }
      if (sent > 0) break;
      const payload = item.payload as Payload;
      const left = item.length - item.offset;
      const room = Math.min(max, stream.sendWindow);
      // Blocked by the window: the stream waits for a Window frame (an empty message still goes).
      if (room <= 0 && left > 0) break;
      const n = goesWhole(left, max, stream) ? left : Math.min(left, room);
      const last = n === left;
      this.writer.frame(FrameType.Message, last ? item.flags : Flag.Partial, stream.id, slicePayload(payload, item.offset, item.offset + n));
      stream.sendWindow -= n;
      stream.queuedBytes -= n;
      sent += n;
      if (!last) {
        item.offset += n;
        break;
      }
      stream.queue.shift();
      if (sent >= max) break;
    }
    return sent;
  }

  private onFrame(type: FrameType, flags: number, id: number, payload: Buffer): void {
    if (type === FrameType.Message) {
      const stream = this.streams.get(id);
      if (stream && !stream.done) stream.receive(flags, payload);
      return;
    }
    if (type === FrameType.Open) return this.onOpen(id, payload);
    const stream = this.streams.get(id);
    if (!stream) return;
    // A stream that is over on our side may still be writing its last output: it needs the peer's credit.
    if (type === FrameType.Window) return this.credit(stream, payload.readUInt32BE(0));
    // Other frames of a stream already over on our side (cancelled, timed out) are expected and dropped.
    if (stream.done) return;
    switch (type) {
      case FrameType.HalfClose:
        return stream.remoteHalfClose();
      case FrameType.Status: {
        const { code, details } = decodeStatus(payload);
        this.forget(stream);
        return stream.sink?.status(code, details);
      }
      case FrameType.Cancel: {
        const { code, reason } = decodeCancel(payload);
        // The caller will read nothing more: drop what is queued for it.
        stream.queue.length = 0;
        stream.queuedBytes = 0;
        this.bulk.delete(stream);
        this.forget(stream);
        return stream.sink?.cancel(new RpcError(code, reason));
      }
      default:
        return this.close(new RpcError(Code.INTERNAL, `native transport: unknown frame type ${type as number} from ${this.peer}`));
    }
  }

  private credit(stream: Stream, increment: number): void {
    stream.sendWindow += increment;
    if (stream.queue.length) {
      this.bulk.add(stream);
      this.scheduleFlush();
    }
  }

  private onOpen(id: number, payload: Buffer): void {
    const ours = this.nextId % 2;
    if (id % 2 === ours || this.streams.get(id) !== undefined) {
      return this.close(new RpcError(Code.INTERNAL, `native transport: ${this.peer} opened stream ${id}, which is not its to open`));
    }
    const header = decodeOpen(payload);
    const stream = new Stream(this, id, false);
    this.streams.add(stream);
    const acceptor = this.acceptors.get(header.channel);
    if (!acceptor) {
      return stream.finish(Code.UNAVAILABLE, `${header.path}: nothing is served on broker channel ${header.channel}`);
    }
    stream.sink = acceptor(stream, header);
  }
}

/** Whether the rest of a message, `bytes`, leaves in one frame: it fits the window and is at most a little over `max` (FRAGMENT_SLACK_BYTES). */
function goesWhole(bytes: number, max: number, stream: Stream): boolean {
  return bytes <= max + FRAGMENT_SLACK_BYTES && bytes <= stream.sendWindow;
}
