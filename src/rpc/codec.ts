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
