/**
 * One yamux stream as a Node Duplex, so that node:http2 and node:tls can run
 * over it as over a socket.
 *
 * Flow control is per stream, in both directions:
 * - writing: the peer lets us send `sendWindow` more bytes; a write that does
 *   not fit waits (its callback is held, so Writable buffers behind it)
 *   until a WindowUpdate grants more;
 * - reading: the peer may send `recvWindow` more bytes. We grant more only
 *   for what the consumer has taken out of the Readable's buffer, so
 *   received-but-unread bytes plus the peer's allowance never exceed
 *   RECEIVE_WINDOW: a consumer that stops reading stalls its own stream,
 *   never the connection. (Data that is consumed as it is pushed, in
 *   flowing mode, never enters the buffer: receive() grants for that.)
 */
import { Duplex } from 'node:stream';
import { encodeHeader, Flag, FrameType, INITIAL_WINDOW, RECEIVE_WINDOW, YamuxProtocolError } from './frame.js';

/** What a stream needs from its session. */
export interface StreamHost {
  /** Writes frames to the connection; false when the connection wants `onDrain` first. Ignored once the session is dead. */
  write(frames: Buffer[]): boolean;
  onDrain(fn: () => void): void;
  /** The stream is done (destroyed): the session drops it. */
  forget(id: number): void;
}

/**
 * Data frames are cut at this size even when the window allows more, so
 * that streams sharing the connection take turns in reasonably small steps.
 */
const MAX_DATA_FRAME = 64 * 1024;
/** Like hashicorp/yamux, grant window in steps of at least half of it: fewer WindowUpdate frames. */
const GRANT_STEP = RECEIVE_WINDOW / 2;

interface PendingWrite {
  chunks: Buffer[];
  bytes: number;
  callback: (err?: Error | null) => void;
}

export class YamuxStream extends Duplex {
  /** Bytes the peer still lets us send. */
  private sendWindow = INITIAL_WINDOW;
  /** Bytes we still let the peer send. */
  private recvWindow = INITIAL_WINDOW;
  /** Announced by a Data header but not yet arrived. */
  private arriving = 0;
  private pending: PendingWrite | undefined;
  private awaitingDrain = false;
  private sentFin = false;
  private receivedFin = false;
  private resetByPeer = false;
  /** Our SYN or ACK has gone out: until then nothing else may be said on the stream. */
  private announced = false;

  constructor(
    private readonly host: StreamHost,
    private readonly streamId: number,
  ) {
    // Half-open like TCP: FIN in one direction leaves the other open.
    super({ allowHalfOpen: true });
  }

  get id(): number {
    return this.streamId;
  }

  /** Session: open the stream (SYN) or acknowledge the peer's SYN (ACK), granting our whole window with it. */
  announce(flag: Flag.SYN | Flag.ACK): void {
    this.announced = true;
    this.grant(flag);
  }

  /** Session: a Data header announced `length` bytes for this stream. */
  expect(length: number): void {
    if (this.receivedFin) throw new YamuxProtocolError(`data after FIN on stream ${this.streamId}`);
    if (length > this.recvWindow) {
      throw new YamuxProtocolError(`data beyond the window on stream ${this.streamId} (${length} bytes, window ${this.recvWindow})`);
    }
    this.recvWindow -= length;
    this.arriving += length;
  }

  /** Session: a piece of announced data arrived. */
  receive(piece: Buffer): void {
    this.arriving -= piece.length;
    if (this.destroyed) return;
    this.push(piece);
    this.grant(0);
  }

  /** Session: the peer granted more window. */
  windowUpdate(delta: number): void {
    this.sendWindow += delta;
    this.flush();
  }

  /** Session: the peer half-closed (FIN). */
  remoteEnd(): void {
    if (this.receivedFin) return;
    this.receivedFin = true;
    if (!this.destroyed) this.push(null);
  }

  /** Session: the peer reset the stream (RST). One never handed out goes quietly: nobody listens for its error. */
  remoteReset(handedOut: boolean): void {
    this.resetByPeer = true;
    this.destroy(handedOut ? Object.assign(new Error(`yamux: stream ${this.streamId} reset by peer`), { code: 'ECONNRESET' }) : undefined);
  }

  /**
   * Every consumer (flowing mode, pipe, 'readable', async iteration) takes
   * data out through read(), so this is where window is freed. _read() is no
   * help: Readable calls it before it dequeues, and not again while a call
   * is still unanswered, so a grant decided there could come too early or
   * never.
   */
  override read(size?: number): ReturnType<Duplex['read']> {
    const chunk: unknown = super.read(size);
    if (chunk !== null) this.grant(0);
    return chunk;
  }

  override _read(): void {
    // Nothing to fetch: data is pushed as it arrives, bounded by the window.
  }

  /** Sends a WindowUpdate when the consumer has freed enough (or always, when `flags` must go out). */
  private grant(flags: number): void {
    if (this.destroyed) return;
    // After the peer's FIN nothing more comes (an ACK may still be due).
    // unshift() can put back more than was read: never a negative delta.
    const delta = this.receivedFin ? 0 : Math.max(0, RECEIVE_WINDOW - this.arriving - this.readableLength - this.recvWindow);
    if (flags === 0 && (delta < GRANT_STEP || !this.announced)) return;
    this.recvWindow += delta;
    this.host.write([encodeHeader(FrameType.WindowUpdate, flags, this.streamId, delta)]);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.pending = { chunks: [chunk], bytes: chunk.length, callback };
    this.flush();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    const list = chunks.map((c) => c.chunk);
    this.pending = { chunks: list, bytes: list.reduce((n, c) => n + c.length, 0), callback };
    this.flush();
  }

  /** Sends as much of the pending write as window and connection allow; completes it when all is sent. */
  private readonly flush = (): void => {
    const w = this.pending;
    if (!w || this.awaitingDrain) return;
    while (w.bytes > 0 && this.sendWindow > 0) {
      const n = Math.min(w.bytes, this.sendWindow, MAX_DATA_FRAME);
      const frame = [encodeHeader(FrameType.Data, 0, this.streamId, n), ...take(w.chunks, n)];
      w.bytes -= n;
      this.sendWindow -= n;
      if (!this.host.write(frame)) {
        this.awaitingDrain = true;
        this.host.onDrain(() => {
          this.awaitingDrain = false;
          this.flush();
        });
        return;
      }
    }
    if (w.bytes === 0) {
      this.pending = undefined;
      w.callback();
    }
  };

  override _final(callback: (err?: Error | null) => void): void {
    this.sentFin = true;
    this.host.write([encodeHeader(FrameType.WindowUpdate, Flag.FIN, this.streamId, 0)]);
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    // A stream closed both ways is done; anything else tells the peer to stop.
    if (!this.resetByPeer && !(this.sentFin && this.receivedFin)) {
      this.host.write([encodeHeader(FrameType.WindowUpdate, Flag.RST, this.streamId, 0)]);
    }
    this.host.forget(this.streamId);
    const w = this.pending;
    this.pending = undefined;
    w?.callback(err ?? new Error(`yamux: stream ${this.streamId} destroyed`));
    callback(err);
  }
}

/** Removes the first `n` bytes from `chunks` and returns them, as views. */
function take(chunks: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  while (n > 0) {
    const head = chunks[0]!;
    if (head.length <= n) {
      out.push(head);
      chunks.shift();
      n -= head.length;
    } else {
      out.push(head.subarray(0, n));
      chunks[0] = head.subarray(n);
      n = 0;
    }
  }
  return out;
}
