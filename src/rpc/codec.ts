/**
 * Protobuf encoding for both transports, with the generated code's own
 * encoders, into one writer reused for every message.
 *
 * A fresh BinaryWriter per message (what `encode(m).finish()` does) grows a
 * zero-filled buffer by doubling up to twice the message, then copies the
 * result out with slice(): for a 1 MiB message, 3 MiB allocated (2 of them
 * zeroed) and 2 MiB copied. The reused writer grows without zeroing, copies
 * out a small message (its buffer stays for the next one), and hands a large
 * message its own buffer instead of copying it (the next one starts a new
 * buffer): 1 MiB allocated and copied once.
 *
 * Written here because @bufbuild/protobuf has no writer that can be reused
 * or that grows without zeroing. The methods replaced rely on the writer's
 * `buffer`, `viewCache`, `pos` and `stackPos` fields (@bufbuild/protobuf
 * 2.x); if a release lays the writer out differently, the check below
 * notices and every message goes through a fresh writer as before.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { MessageType } from './definition.js';
import { allocFromSlab } from '../util/slab.js';

interface WriterFields {
  buffer: Uint8Array;
  /** The writer's DataView over `buffer`, which it trusts while the two have the same length. */
  viewCache: DataView;
  pos: number;
  stackPos: number[];
}

/** A message at least this large leaves in the writer's buffer rather than in a copy of it. */
const HAND_OVER_BYTES = 64 * 1024;
/** A buffer grown for one huge message is not kept for the small ones after it. */
const KEEP_BYTES = 4 * 1024 * 1024;
const INITIAL_BYTES = 1024;
/**
 * A bytes field at least this large, in memory handed over, is referenced
 * rather than copied, unless the transport says otherwise: HTTP/2 writes each
 * part apart, so a part must be worth a write of its own.
 */
const REFERENCE_BYTES = 16 * 1024;

/**
 * Memory no one will write to again (see handOver): a bytes field in it may
 * leave by reference, written to the peer from where it lies.
 */
const handedOver = new WeakSet<ArrayBufferLike>();

/**
 * Promises that `bytes` (and the rest of its ArrayBuffer) are not changed
 * again, so a message carrying them need not copy them. Received messages are
 * handed over by decodeMessage: an echo sends its request's bytes back as
 * they came. Anything a caller might reuse (a read buffer) must not be.
 */
export function handOver(bytes: Uint8Array): void {
  handedOver.add(bytes.buffer);
}

/** Decodes a received message; its bytes fields are views of `bytes`, which the transport never writes to again. */
export function decodeMessage<T>(type: MessageType<T>, bytes: Uint8Array): T {
  handedOver.add(bytes.buffer);
  return type.decode(bytes);
}

function fields(writer: BinaryWriter): WriterFields {
  return writer as unknown as WriterFields;
}

/** Gives the writer `buffer`, and a view of it: a view left over from a buffer of the same length would write into that one. */
function useBuffer(self: WriterFields, buffer: Uint8Array): void {
  self.buffer = buffer;
  self.viewCache = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A small message's copy comes from a shared slab (see util/slab.ts); the transports hold it only until it is written. */
function copyOut(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = allocFromSlab(bytes.length);
  out.set(bytes);
  return out;
}

class ReusedWriter extends BinaryWriter {
  /**
   * While encodeMessageParts runs: each referenced bytes field as the
   * position in `buffer` it belongs at, then the bytes themselves.
   */
  refs: Array<number | Uint8Array> | undefined;
  referenceBytes = REFERENCE_BYTES;

  override bytes(value: Uint8Array): this {
    const refs = this.refs;
    // Only at the top level: a field inside a nested message counts towards that message's length prefix, written from the buffer.
    if (refs === undefined || value.length < this.referenceBytes || fields(this).stackPos.length > 0 || !handedOver.has(value.buffer)) return super.bytes(value);
    this.uint32(value.length);
    refs.push(fields(this).pos, value);
    return this;
  }

  override finish(): Uint8Array<ArrayBuffer> {
    const self = fields(this);
    const length = self.pos;
    let out: Uint8Array<ArrayBuffer>;
    if (length >= HAND_OVER_BYTES && length * 2 >= self.buffer.length) {
      out = self.buffer.subarray(0, length) as Uint8Array<ArrayBuffer>;
      useBuffer(self, new Uint8Array(0));
    } else {
      out = copyOut(self.buffer.subarray(0, length));
      if (self.buffer.length > KEEP_BYTES) useBuffer(self, new Uint8Array(0));
    }
    self.pos = 0;
    self.stackPos = [];
    return out;
  }
}

/**
 * Grows to at least twice the old size, or exactly what is needed when that
 * is more (one large bytes field: no slack to carry), without zeroing: every
 * byte below `pos` is written before it is read. The memory is the buffer's
 * own (allocUnsafeSlow, never Node's pool), as the writer's DataView starts
 * at offset 0 of the ArrayBuffer.
 */
function ensureCapacity(this: BinaryWriter, size: number): void {
  const self = fields(this);
  const required = self.pos + size;
  const old = self.buffer;
  if (required <= old.length) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(required, old.length * 2, INITIAL_BYTES));
  if (self.pos > 0) grown.set(old.subarray(0, self.pos));
  useBuffer(self, grown);
}
(ReusedWriter.prototype as unknown as { ensureCapacity: typeof ensureCapacity }).ensureCapacity = ensureCapacity;

/** Writes the same fields with a fresh writer and the reused one (twice, across a large message) and compares. */
function works(): boolean {
  const sample = (w: BinaryWriter, big: Uint8Array) => w.uint32(10).bytes(big).double(1.5).fixed64(7n).string('hst').finish();
  try {
    const writer = new ReusedWriter();
    if (!['buffer', 'viewCache', 'pos', 'stackPos'].every((field) => field in writer)) return false;
    for (const size of [3, HAND_OVER_BYTES + 1, 3]) {
      const big = new Uint8Array(size).fill(7);
      const plain = Buffer.from(sample(new BinaryWriter(), big));
      writer.uint32(99).finish();
      if (!plain.equals(Buffer.from(sample(writer, big)))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const shared: BinaryWriter | undefined = works() ? new ReusedWriter() : undefined;

/** The message's wire bytes, owned by the caller. */
export function encodeMessage<T>(type: MessageType<T>, message: T): Uint8Array {
  if (!shared) return type.encode(message).finish();
  try {
    return type.encode(message, shared).finish();
  } catch (err) {
    // A throw halfway leaves the shared writer mid-message: start the next one clean.
    fields(shared).pos = 0;
    fields(shared).stackPos = [];
    throw err;
  }
}

/**
 * The message's wire bytes as parts to be sent in order: one part, unless a
 * large bytes field at its top level lies in memory handed over (handOver),
 * which is then a part of its own instead of a copy.
 */
export function encodeMessageParts<T>(type: MessageType<T>, message: T, referenceBytes = REFERENCE_BYTES): Uint8Array | Uint8Array[] {
  if (!shared) return type.encode(message).finish();
  const writer = shared as ReusedWriter;
  const refs: Array<number | Uint8Array> = (writer.refs = []);
  writer.referenceBytes = referenceBytes;
  let head: Uint8Array;
  try {
    head = encodeMessage(type, message);
  } finally {
    writer.refs = undefined;
  }
  if (refs.length === 0) return head;
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let i = 0; i < refs.length; i += 2) {
    const at = refs[i] as number;
    if (at > from) parts.push(head.subarray(from, at));
    parts.push(refs[i + 1] as Uint8Array);
    from = at;
  }
  if (from < head.length) parts.push(head.subarray(from));
  return parts;
}

/** The length of a message given as one buffer or as parts (encodeMessageParts). */
export function payloadLength(payload: Uint8Array | readonly Uint8Array[]): number {
  if (!Array.isArray(payload)) return (payload as Uint8Array).length;
  let n = 0;
  for (const part of payload as readonly Uint8Array[]) n += part.length;
  return n;
}
