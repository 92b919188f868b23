/**
 * The native transport's frames (docs/native-transport.md has the format for
 * other implementations). Every frame is a 10-byte header, then `length`
 * bytes of payload:
 *
 *   u32 length | u8 type | u8 flags | u32 stream
 *
 * all big-endian. Written here by hand: no framing library reads a frame
 * split across socket reads without copying every chunk, and this one only
 * copies when a frame actually straddles two reads.
 */
import { payloadLength } from '../codec.js';

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

/**
 * A frame's payload as the reader hands it out: a view of one chunk, or, for
 * a Message frame split across chunks, the views of its pieces in order.
 */
export type FramePayload = Buffer | Buffer[];

/**
 * Cuts a byte stream into frames. A frame inside one chunk is handed out as a
 * view of that chunk. A Message frame split across chunks is handed out in
 * pieces, uncopied: a message of many fragments is joined once, whole, not
 * once per fragment and again whole. Any other frame split across chunks is
 * copied once.
 */
export class FrameReader {
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes the held frame needs in all (header included), once its header is known. */
  private need = HEADER_BYTES;

  constructor(private readonly onFrame: (type: FrameType, flags: number, stream: number, payload: FramePayload) => void) {}

  push(chunk: Buffer): void {
    while (this.heldBytes > 0) {
      // Only the held frame's own bytes are joined; what follows it in the chunk is parsed in place.
      const missing = this.need - this.heldBytes;
      if (chunk.length < missing) {
        this.held.push(chunk);
        this.heldBytes += chunk.length;
        return;
      }
      this.held.push(chunk.subarray(0, missing));
      chunk = chunk.subarray(missing);
      const held = this.held;
      this.held = [];
      this.heldBytes = 0;
      // A held frame whose header is known starts with the whole header (see parse).
      const first = held[0] as Buffer;
      if (this.need > HEADER_BYTES && first[4] === FrameType.Message) {
        const pieces = first.length > HEADER_BYTES ? [first.subarray(HEADER_BYTES)] : [];
        for (let i = 1; i < held.length; i++) if ((held[i] as Buffer).length > 0) pieces.push(held[i] as Buffer);
        this.need = HEADER_BYTES;
        this.onFrame(FrameType.Message, first[5] as number, first.readUInt32BE(6), pieces.length === 1 ? (pieces[0] as Buffer) : pieces);
        continue;
      }
      // The join completed a header (need grows to the whole frame) or a whole frame.
      this.parse(Buffer.concat(held, this.need));
    }
    if (chunk.length > 0) this.parse(chunk);
  }

  private parse(chunk: Buffer): void {
    let at = 0;
    const size = chunk.length;
    while (size - at >= HEADER_BYTES) {
      const length = chunk.readUInt32BE(at);
      if (length > MAX_FRAME_BYTES) throw new FrameError(`frame of ${length} bytes is over the limit of ${MAX_FRAME_BYTES}`);
      const end = at + HEADER_BYTES + length;
      if (end > size) {
        this.need = HEADER_BYTES + length;
        break;
      }
      this.onFrame(chunk[at + 4] as FrameType, chunk[at + 5] as number, chunk.readUInt32BE(at + 6), chunk.subarray(at + HEADER_BYTES, end));
      at = end;
    }
    if (at < size) {
      if (size - at < HEADER_BYTES) this.need = HEADER_BYTES;
      this.held.push(at === 0 ? chunk : chunk.subarray(at));
      this.heldBytes = size - at;
    } else {
      this.need = HEADER_BYTES;
    }
  }
}
