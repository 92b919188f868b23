/**
 * yamux frames (hashicorp/yamux spec.md). Every frame starts with a 12-byte
 * big-endian header:
 *
 *   u8 version (0) | u8 type | u16 flags | u32 stream id | u32 length
 *
 * Only Data frames carry a payload (`length` bytes); for the other types
 * `length` is a value: the window delta, the ping's opaque value, the GoAway
 * code.
 */
import { SplitHeader } from '../../util/split-header.js';

export const HEADER_BYTES = 12;
const VERSION = 0;

export const enum FrameType {
  Data = 0,
  WindowUpdate = 1,
  /** Stream 0; SYN asks, ACK answers, echoing `length`. */
  Ping = 2,
  /** Stream 0; `length` is a GoAwayCode. */
  GoAway = 3,
}

export const enum Flag {
  /** Opens a stream. */
  SYN = 1,
  /** Accepts a stream. */
  ACK = 2,
  /** The sender sends nothing more on the stream (half-close). */
  FIN = 4,
  /** Abandons the stream in both directions. */
  RST = 8,
}

export const enum GoAwayCode {
  Normal = 0,
  ProtocolError = 1,
  InternalError = 2,
}

/** Each side of a stream starts out allowed to send this much; both sides assume it without a handshake. */
export const INITIAL_WINDOW = 256 * 1024;
/**
 * What we let a peer send on a stream before it hears from us: more than
 * yamux's initial window, granted with the stream's SYN or ACK as yamux
 * allows. With go-plugin multiplexing, every gRPC call of a connection
 * shares one stream, and at 256 KiB a 1 MiB message waited on a
 * WindowUpdate round trip every 128 KiB. HTTP/2's stream window here is the
 * same 4 MiB (src/rpc/http2/session-options.ts).
 */
export const RECEIVE_WINDOW = 4 * 1024 * 1024;

/** The peer broke the protocol: the session answers with GoAway(ProtocolError) and dies. */
export class YamuxProtocolError extends Error {
  constructor(what: string) {
    super(`yamux: protocol error: ${what}`);
    this.name = 'YamuxProtocolError';
  }
}

export interface FrameHeader {
  type: FrameType;
  flags: number;
  stream: number;
  length: number;
}

export function encodeHeader(type: FrameType, flags: number, stream: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  b.writeUInt8(VERSION, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(flags, 2);
  b.writeUInt32BE(stream, 4);
  b.writeUInt32BE(length, 8);
  return b;
}

/** Where a FrameDecoder delivers what it decodes. May throw (a YamuxProtocolError) to stop decoding. */
export interface FrameSink {
  /** A frame's header. A Data frame's payload follows in `payload` calls. */
  header(h: FrameHeader): void;
  /** The next piece of the current Data frame's payload; `last` on its final piece. */
  payload(piece: Buffer, last: boolean): void;
}

/**
 * Decodes frames from a byte stream split anywhere. Payloads are handed on
 * in the pieces they arrive in (views of the input, no copies), so a large
 * Data frame reaches its stream as it arrives and is never reassembled; only
 * a header split across chunks is copied.
 */
export class FrameDecoder {
  private readonly split = new SplitHeader(HEADER_BYTES);
  /** Payload bytes of the current Data frame still to come. */
  private payloadLeft = 0;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - at);
        this.payloadLeft -= n;
        this.sink.payload(chunk.subarray(at, at + n), this.payloadLeft === 0);
        at += n;
        continue;
      }
      at = this.split.take(chunk, at, chunk.length);
      if (at < 0) return;
      this.header(this.split.source, this.split.offset);
    }
  }

  private header(b: Buffer, at: number): void {
    const version = b.readUInt8(at);
    if (version !== VERSION) throw new YamuxProtocolError(`unsupported version ${version}`);
    const type = b.readUInt8(at + 1);
    if (type > FrameType.GoAway) throw new YamuxProtocolError(`unknown frame type ${type}`);
    const h: FrameHeader = { type, flags: b.readUInt16BE(at + 2), stream: b.readUInt32BE(at + 4), length: b.readUInt32BE(at + 8) };
    if (h.type === FrameType.Data) this.payloadLeft = h.length;
    this.sink.header(h);
  }
}
