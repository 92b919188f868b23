/**
 * The native transport's frames (docs/native-transport.md has the format for
 * other implementations). Every frame is a 10-byte header, then `length`
 * bytes of payload:
 *
 *   u32 length | u8 type | u8 flags | u32 stream
 *
 * all big-endian.
 */
import { payloadLength } from '../codec.js';
import { allocFromSlab } from '../../util/slab.js';
import { SplitHeader } from '../../util/split-header.js';

export const HEADER_BYTES = 10;

export const enum FrameType {
  /** Opens a stream: channel, timeout, method path and metadata. */
  Open = 1,
  /** A message, or a fragment of one (Flag.Partial). */
  Message = 2,
  /** The sender sends nothing more on this stream. */
  HalfClose = 3,
  /** The server's final word on a stream: code and details. */
  Status = 4,
  /** The caller gave up on the stream: code and reason. */
  Cancel = 5,
  /** The receiver has room for this many more message bytes on the stream. */
  Window = 6,
}

export const enum Flag {
  /** Message frame: the sender half-closes after it (one frame less for a unary request). */
  End = 1,
  /** Message frame: the message continues in the stream's next Message frame. */
  Partial = 2,
}

/** Larger messages travel as fragments of this size, so small calls are never queued behind one. */
export const FRAGMENT_BYTES = 64 * 1024;
/**
 * A message at most this much over FRAGMENT_BYTES still goes whole: a chunk
 * of a 64 KiB stream with its field tags is a few bytes over, and cutting
 * those off cost the receiver a copy of the whole message to join it.
 */
export const FRAGMENT_SLACK_BYTES = 1024;
/**
 * A bytes field in memory handed over (rpc/codec.ts) this large is framed
 * from where it lies: copied once into the writer's slab, where the encoder
 * would copy it into its message and then out of it again.
 */
export const REFERENCE_PART_BYTES = 1024;
/** A frame longer than this is a protocol error (only Open with huge metadata could come near). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * A message's bytes: one buffer, or parts to be sent one after another as if
 * joined (a large bytes field referenced where it lies, see rpc/codec.ts).
 */
export type Payload = Uint8Array | readonly Uint8Array[];

/** Bytes `from` to `to` of a payload, without copying. */
export function slicePayload(payload: Payload, from: number, to: number): Payload {
  if (!Array.isArray(payload)) return (payload as Uint8Array).subarray(from, to);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const part of payload as readonly Uint8Array[]) {
    const end = at + part.length;
    if (end > from && at < to) out.push(part.subarray(Math.max(from - at, 0), Math.min(to, end) - at));
    at = end;
    if (at >= to) break;
  }
  return out.length === 1 ? (out[0] as Uint8Array) : out;
}

/**
 * Builds frames into large shared slabs: a batch of small frames is one
 * contiguous slice, written with one syscall. A payload above COPY_LIMIT is
 * not copied: it becomes a segment of its own (written with writev).
 */
export class FrameWriter {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  /** Where the current batch begins and ends in the slab. */
  private start = 0;
  private end = 0;
  private segments: Buffer[] = [];
  bytes = 0;
  frames = 0;

  frame(type: FrameType, flags: number, stream: number, payload?: Payload): void {
    if (Array.isArray(payload)) return this.frameParts(type, flags, stream, payload);
    const length = payload ? (payload as Uint8Array).length : 0;
    this.frames++;
    this.header(type, flags, stream, length);
    if (length > COPY_LIMIT) this.segment(payload as Uint8Array);
    else if (length) this.copy(payload as Uint8Array);
  }

  /** One frame whose payload is the parts in order: small parts are copied, large ones written from where they are. */
  private frameParts(type: FrameType, flags: number, stream: number, parts: readonly Uint8Array[]): void {
    this.frames++;
    this.header(type, flags, stream, payloadLength(parts), true);
    for (const part of parts) {
      if (part.length > COPY_LIMIT) this.segment(part);
      else if (part.length) {
        this.reserve(part.length);
        this.copy(part);
      }
    }
  }

  private segment(bytes: Uint8Array): void {
    this.seal();
    this.segments.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    this.bytes += bytes.length;
  }

  private copy(bytes: Uint8Array): void {
    this.slab.set(bytes, this.end);
    this.end += bytes.length;
    this.bytes += bytes.length;
  }

  /** Everything framed since the last take, as the segments to write in order. */
  take(): Buffer[] {
    this.seal();
    const out = this.segments;
    this.segments = [];
    this.bytes = 0;
    this.frames = 0;
    return out;
  }

  /**
   * Everything taken so far has left the process (the kernel copied it), so
   * the next frames start the slab over: memory still in the cache, where a
   * fresh slab costs a page fault for every page the frames touch.
   */
  reuse(): void {
    if (this.segments.length === 0 && this.start === this.end) this.start = this.end = 0;
  }

  /** Writes a frame header, with room behind it for the payload unless that is written apart (large, or in parts). */
  private header(type: FrameType, flags: number, stream: number, length: number, parts = false): void {
    this.reserve(HEADER_BYTES + (parts || length > COPY_LIMIT ? 0 : length));
    this.writeHeader(this.end, type, flags, stream, length);
    this.end += HEADER_BYTES;
    this.bytes += HEADER_BYTES;
  }

  private writeHeader(at: number, type: FrameType, flags: number, stream: number, length: number): void {
    const s = this.slab;
    s.writeUInt32BE(length, at);
    s[at + 4] = type;
    s[at + 5] = flags;
    s.writeUInt32BE(stream, at + 6);
  }

  private reserve(bytes: number): void {
    if (this.end + bytes <= this.slab.length) return;
    this.seal();
    // Slices already taken keep the old slab alive until they are written; a new one starts empty.
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
    this.start = this.end = 0;
  }

  private seal(): void {
    if (this.end > this.start) this.segments.push(this.slab.subarray(this.start, this.end));
    this.start = this.end;
  }
}

const SLAB_BYTES = 256 * 1024;
const COPY_LIMIT = 16 * 1024;

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** What the reader hands its frames to. */
export interface FrameSink {
  /** A whole frame. A control frame's payload may be a view of the read buffer: read it before returning. */
  frame(type: FrameType, flags: number, stream: number, payload: Buffer): void;
  /**
   * A Message frame of `length` bytes begins on `stream`: the memory (exactly
   * `length` bytes) its payload is to be read into, which frame() then gets
   * as the payload; undefined drops the payload unread.
   */
  messageSpace(stream: number, flags: number, length: number): Buffer | undefined;
}

/** Memory of its own for a payload, when the sink has nowhere better: small ones cut from a shared slab. */
export function ownSpace(_stream: number, _flags: number, length: number): Buffer {
  return allocFromSlab(length);
}

/** What one read asks the kernel for when no payload is waiting to be read in place; Node's own read size. */
const READ_BYTES = 64 * 1024;
/** The rest of a payload is read straight into its memory when at least this much of it is missing. */
const DIRECT_READ_BYTES = 16 * 1024;

/**
 * Cuts a byte stream into frames. A socket made with the reader's `onread`
 * fills one reused buffer, and a large payload's missing bytes are read
 * straight into the memory the sink gave it (for a fragmented message, its
 * place in the message being joined): the kernel copies them once, and no
 * read allocates. With Node's own reads every read is a fresh buffer, and
 * every fragment was copied out of those again to join the message. Chunks
 * pushed from any other stream (push) go through the same steps.
 *
 * Written here by hand: no framing library reads into memory chosen per
 * frame.
 */
export class FrameReader {
  /** Made at the first read into it: a reader fed by push never needs it. */
  private scratch: Buffer | undefined;
  private readonly header = new SplitHeader(HEADER_BYTES);
  /** The frame whose payload is arriving: bodyLeft > 0, or an empty payload being delivered. */
  private type = 0;
  private flags = 0;
  private stream = 0;
  /** Where the payload goes; undefined: dropped. */
  private body: Buffer | undefined;
  private bodyBytes = 0;
  private bodyLeft = 0;
  /** The last buffer handed out for a read is the payload's own memory. */
  private direct = false;

  constructor(private readonly sink: FrameSink) {}

  /** For net.Socket's `onread`: the buffer the next read fills. */
  readonly nextBuffer = (): Buffer => {
    if (this.body && this.bodyLeft >= DIRECT_READ_BYTES) {
      this.direct = true;
      return this.body.subarray(this.bodyBytes, this.bodyBytes + this.bodyLeft);
    }
    this.direct = false;
    return (this.scratch ??= Buffer.allocUnsafeSlow(READ_BYTES));
  };

  /** For net.Socket's `onread`: `length` bytes arrived at the start of the buffer nextBuffer gave. */
  filled(length: number): void {
    if (!this.direct) return this.consume(this.scratch as Buffer, length);
    this.bodyBytes += length;
    this.bodyLeft -= length;
    if (this.bodyLeft === 0) this.endFrame();
  }

  /** A chunk from a stream that reads on its own; the reader keeps nothing of it. */
  push(chunk: Buffer): void {
    this.consume(chunk, chunk.length);
  }

  private consume(buf: Buffer, end: number): void {
    let at = 0;
    while (at < end) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, end - at);
        if (this.body) buf.copy(this.body, this.bodyBytes, at, at + n);
        this.bodyBytes += n;
        this.bodyLeft -= n;
        at += n;
        if (this.bodyLeft === 0) this.endFrame();
        continue;
      }
      at = this.header.take(buf, at, end);
      if (at < 0) return;
      const h = this.header.source;
      const ho = this.header.offset;
      const length = h.readUInt32BE(ho);
      if (length > MAX_FRAME_BYTES) throw new FrameError(`frame of ${length} bytes is over the limit of ${MAX_FRAME_BYTES}`);
      const type = h[ho + 4] as FrameType;
      const flags = h[ho + 5] as number;
      const stream = h.readUInt32BE(ho + 6);
      if (type !== FrameType.Message && end - at >= length) {
        // A control frame within the read is read where it lies.
        this.sink.frame(type, flags, stream, buf.subarray(at, at + length));
        at += length;
        continue;
      }
      this.type = type;
      this.flags = flags;
      this.stream = stream;
      this.body = type === FrameType.Message ? this.sink.messageSpace(stream, flags, length) : Buffer.allocUnsafe(length);
      this.bodyBytes = 0;
      this.bodyLeft = length;
      if (length === 0) this.endFrame();
    }
  }

  private endFrame(): void {
    const body = this.body;
    this.body = undefined;
    if (body) this.sink.frame(this.type as FrameType, this.flags, this.stream, body);
  }
}
