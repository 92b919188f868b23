/**
 * Protobuf encoding for the native transport, with the generated code's own
 * encoders, into one writer reused for every message.
 *
 * A fresh BinaryWriter per message (what `encode(m).finish()` does) grows a
 * zero-filled buffer by doubling up to twice the message, then copies the
 * result out with slice(): for a 1 MiB message, 3 MiB allocated and 2 MiB
 * copied. Reusing one writer leaves one unzeroed copy of exactly the
 * message. finish() is the only method changed, and it relies on the
 * writer's `buffer` and `pos` fields (@bufbuild/protobuf 2.x); if a release
 * lays the writer out differently, the check below notices and every message
 * goes through a fresh writer as before.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { MessageType } from '../definition.js';

interface WriterFields {
  buffer: Uint8Array;
  pos: number;
  stackPos: number[];
}

/** A writer whose buffer stays for the next message; its output is a copy of just what was written. */
class ReusedWriter extends BinaryWriter {
  override finish(): Uint8Array<ArrayBuffer> {
    const self = this as unknown as WriterFields;
    // Node's Buffer pool is an ArrayBuffer, never a shared one.
    const out = Buffer.allocUnsafe(self.pos) as Uint8Array<ArrayBuffer>;
    out.set(self.buffer.subarray(0, self.pos));
    self.pos = 0;
    self.stackPos = [];
    // A buffer grown for one huge message is not kept for the small ones after it.
    if (self.buffer.length > KEEP_BYTES) self.buffer = new Uint8Array(0);
    return out;
  }
}

const KEEP_BYTES = 4 * 1024 * 1024;

function works(): boolean {
  try {
    const plain = new BinaryWriter().uint32(10).bytes(new Uint8Array([1, 2, 3])).string('hst').finish();
    const writer = new ReusedWriter();
    writer.uint32(99).finish();
    const reused = writer.uint32(10).bytes(new Uint8Array([1, 2, 3])).string('hst').finish();
    return Buffer.from(plain).equals(Buffer.from(reused));
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
    (shared as unknown as WriterFields).pos = 0;
    (shared as unknown as WriterFields).stackPos = [];
    throw err;
  }
}
