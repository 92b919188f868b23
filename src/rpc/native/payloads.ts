/**
 * Payloads of the native transport's control frames (see frame.ts and
 * docs/native-transport.md). Integers are big-endian, strings UTF-8.
 */
import type { Metadata } from '../definition.js';
import { Code } from '../status.js';

export interface OpenHeader {
  /** 0: the plugin's main services; otherwise a broker id the receiving side accepted. */
  channel: number;
  /** `/package.Service/Method`. */
  path: string;
  /** Milliseconds the caller will wait, 0 for no deadline. */
  timeoutMs: number;
  metadata: Metadata | undefined;
}

/** Method paths are few and reused for every call: their bytes are made once. */
const pathBytes = new Map<string, Buffer>();

function utf8(path: string): Buffer {
  let bytes = pathBytes.get(path);
  if (!bytes) {
    bytes = Buffer.from(path, 'utf8');
    if (pathBytes.size < 10_000) pathBytes.set(path, bytes);
  }
  return bytes;
}

/** u32 channel | u32 timeoutMs | u16 path length | path | u16 entries | (u16 key length | key | u32 value length | value)* */
export function encodeOpen(header: OpenHeader): Buffer {
  const path = utf8(header.path);
  const entries = header.metadata ? Object.entries(header.metadata) : [];
  let size = 12 + path.length;
  const encoded: Array<[Buffer, Buffer]> = [];
  for (const [k, v] of entries) {
    const pair: [Buffer, Buffer] = [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')];
    encoded.push(pair);
    size += 6 + pair[0].length + pair[1].length;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(header.channel, 0);
  out.writeUInt32BE(header.timeoutMs, 4);
  out.writeUInt16BE(path.length, 8);
  path.copy(out, 10);
  let at = 10 + path.length;
  out.writeUInt16BE(encoded.length, at);
  at += 2;
  for (const [k, v] of encoded) {
    out.writeUInt16BE(k.length, at);
    k.copy(out, at + 2);
    at += 2 + k.length;
    out.writeUInt32BE(v.length, at);
    v.copy(out, at + 4);
    at += 4 + v.length;
  }
  return out;
}

export function decodeOpen(payload: Buffer): OpenHeader {
  const channel = payload.readUInt32BE(0);
  const timeoutMs = payload.readUInt32BE(4);
  const pathLength = payload.readUInt16BE(8);
  const path = payload.toString('utf8', 10, 10 + pathLength);
  let at = 10 + pathLength;
  const count = payload.readUInt16BE(at);
  at += 2;
  let metadata: Metadata | undefined;
  for (let i = 0; i < count; i++) {
    const kl = payload.readUInt16BE(at);
    const key = payload.toString('utf8', at + 2, at + 2 + kl);
    at += 2 + kl;
    const vl = payload.readUInt32BE(at);
    (metadata ??= {})[key] = payload.toString('utf8', at + 4, at + 4 + vl);
    at += 4 + vl;
  }
  return { channel, path, timeoutMs, metadata };
}

/** The status nearly every call ends with, made once: frames copy or only read their payloads. */
const OK_STATUS = Buffer.alloc(4);

/** u32 code | details */
export function encodeStatus(code: Code, details: string): Buffer {
  if (code === Code.OK && details === '') return OK_STATUS;
  const text = Buffer.from(details, 'utf8');
  const out = Buffer.allocUnsafe(4 + text.length);
  out.writeUInt32BE(code, 0);
  text.copy(out, 4);
  return out;
}

export function decodeStatus(payload: Buffer): { code: Code; details: string } {
  return { code: knownCode(payload.readUInt32BE(0)), details: payload.toString('utf8', 4) };
}

/** Same layout as Status: u32 code | reason */
export const encodeCancel = encodeStatus;

export function decodeCancel(payload: Buffer): { code: Code; reason: string } {
  const { code, details } = decodeStatus(payload);
  return { code, reason: details };
}

/** A code outside gRPC's range is reported as UNKNOWN, as gRPC does. */
function knownCode(code: number): Code {
  return code >= Code.OK && code <= Code.UNAUTHENTICATED ? code : Code.UNKNOWN;
}
