/**
 * gRPC's message framing inside an HTTP/2 stream: each message is a 1-byte
 * compressed flag, a 4-byte big-endian length, then the bytes. HTTP/2 DATA
 * frames split and join messages freely, so the reader reassembles them.
 */
import type { Writable } from 'node:stream';
import { Code, RpcError } from '../status.js';
import { payloadLength } from '../codec.js';

export const FRAME_HEADER_BYTES = 5;

/** Below this a message is copied behind its header into one buffer; above it the two go out as one writev. */
const COPY_BELOW_BYTES = 16 * 1024;

/** The 5-byte prefix of an uncompressed message of `length` bytes. */
function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = 0;
  header.writeUInt32BE(length, 1);
  return header;
}

/**
 * Writes one message with its prefix; false when the stream wants a drain
 * first. A message in parts (see encodeMessageParts) goes out part by part.
 */
export function writeMessage(stream: Writable, message: Uint8Array | readonly Uint8Array[]): boolean {
  if (!Array.isArray(message)) {
    const bytes = message as Uint8Array;
    if (bytes.byteLength < COPY_BELOW_BYTES) return stream.write(framed(bytes));
    message = [bytes];
  }
  stream.cork();
  stream.write(frameHeader(payloadLength(message)));
  let more = true;
  for (const part of message as readonly Uint8Array[]) more = stream.write(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  stream.uncork();
  return more;
}

/** Writes one message and ends the stream: for small messages one write carries both. */
export function endWithMessage(stream: Writable, message: Uint8Array | readonly Uint8Array[]): void {
  if (!Array.isArray(message) && (message as Uint8Array).byteLength < COPY_BELOW_BYTES) stream.end(framed(message as Uint8Array));
  else {
    writeMessage(stream, message);
    stream.end();
  }
}

/** One buffer holding the prefix and the message: one DATA frame for small messages. */
function framed(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}

const EMPTY = Buffer.alloc(0);

/**
 * Collects DATA chunks and hands out whole messages. A message that lies
 * inside one chunk is handed out as a view of it, without a copy.
 */
export class MessageReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly onMessage: (message: Buffer) => void,
  ) {}

  /** Throws an RpcError for a compressed message (hst never negotiates compression) or one over the limit. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const header = this.peek(FRAME_HEADER_BYTES);
      if (header[0] !== 0) throw new RpcError(Code.INTERNAL, 'a compressed message arrived, but no compression was negotiated');
      const length = header.readUInt32BE(1);
      if (length > this.maxMessageBytes) {
        throw new RpcError(Code.RESOURCE_EXHAUSTED, `a message of ${length} bytes is over the limit of ${this.maxMessageBytes}`);
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) return;
      this.take(FRAME_HEADER_BYTES);
      this.onMessage(this.take(length));
    }
  }

  /** True while part of a message is waiting for the rest. */
  get partial(): boolean {
    return this.buffered > 0;
  }

  /** The first n buffered bytes, leaving them buffered. */
  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first;
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const chunk of this.chunks) {
      filled += chunk.copy(out, filled, 0, Math.min(chunk.length, n - filled));
      if (filled === n) break;
    }
    return out;
  }

  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
