/**
 * What gRPC puts in HTTP/2 headers and trailers: the timeout, the status
 * and its percent-encoded message, and metadata (every header that is not
 * gRPC's own). The names and formats are gRPC's PROTOCOL-HTTP2 spec.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Metadata } from '../definition.js';
import { Code, RpcError } from '../status.js';

export const GRPC_CONTENT_TYPE = 'application/grpc';

/** Headers gRPC itself uses: they are never handed to a handler as metadata, nor taken from a caller's. */
const RESERVED = new Set(['content-type', 'te', 'user-agent', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-status', 'grpc-message', 'grpc-status-details-bin', 'accept-encoding']);

/** TimeoutValue is at most 8 digits: milliseconds up to ~27 hours, then coarser units. */
export function encodeTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1e8) return `${whole}m`;
  const seconds = Math.ceil(whole / 1000);
  if (seconds < 1e8) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Milliseconds, or undefined for a header that is absent or malformed (then there is no deadline). */
export function parseTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
}

/** grpc-message: UTF-8, with bytes outside printable ASCII and '%' itself percent-encoded. */
export function encodeStatusMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeStatusMessage(value: string | string[] | undefined): string {
  if (typeof value !== 'string' || !value.includes('%')) return typeof value === 'string' ? value : '';
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const hex = value[i] === '%' ? /^[0-9a-fA-F]{2}$/.exec(value.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += 2;
    } else {
      bytes.push(value.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The status a response's trailers (or a trailers-only response's headers) carry, if any. */
export function statusIn(headers: IncomingHttpHeaders): { code: Code; message: string } | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  if (!Number.isInteger(code) || code < 0 || code > 16) return { code: Code.UNKNOWN, message: `an invalid grpc-status ${String(raw)}` };
  return { code: code as Code, message: decodeStatusMessage(headers['grpc-message']) };
}

/** The trailers (or trailers-only headers) that end a call with `error`, or with OK. */
export function statusHeaders(error?: RpcError): OutgoingHttpHeaders {
  if (!error) return { 'grpc-status': '0' };
  return { 'grpc-status': String(error.code), 'grpc-message': encodeStatusMessage(error.details) };
}

/** What a caller's metadata adds to a request's headers: reserved and pseudo names are left out. */
export function metadataHeaders(metadata: Metadata | undefined, into: OutgoingHttpHeaders): OutgoingHttpHeaders {
  if (!metadata) return into;
  for (const [key, value] of Object.entries(metadata)) {
    const name = key.toLowerCase();
    if (!name.startsWith(':') && !RESERVED.has(name)) into[name] = value;
  }
  return into;
}

/** A request's metadata as a handler sees it: `-bin` values stay base64, repeated values are joined by ", ". */
export function metadataOf(headers: IncomingHttpHeaders): Metadata {
  const metadata: Metadata = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || RESERVED.has(name) || value === undefined) continue;
    metadata[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return metadata;
}

/** gRPC's mapping of an HTTP status that came without a gRPC status. */
export function statusOfHttp(status: number): Code {
  switch (status) {
    case 400:
      return Code.INTERNAL;
    case 401:
      return Code.UNAUTHENTICATED;
    case 403:
      return Code.PERMISSION_DENIED;
    case 404:
      return Code.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.UNAVAILABLE;
    default:
      return Code.UNKNOWN;
  }
}
