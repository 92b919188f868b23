/**
 * Uninitialized memory for short-lived buffers up to 16 KiB, cut from a
 * shared 64 KiB slab, as Node's Buffer pool does only under 4 KiB. A fresh
 * ArrayBuffer for each 4 KiB file read and each 4 KiB reply cost more than
 * the read or the copy itself (profiled: ReadFile of 4 KiB at 32 in flight).
 * The slab stays under malloc's mmap threshold (128 KiB): a larger one was
 * mapped and faulted in page by page each time, and measured slower. A slab
 * lives as long as any buffer cut from it: for bytes on their way to a
 * socket, not for bytes kept.
 */
const SLAB_BYTES = 64 * 1024;
/** Larger requests get memory of their own: one of them would use up a slab. */
export const SLAB_MAX_BYTES = SLAB_BYTES / 4;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

export function allocFromSlab(length: number): Buffer<ArrayBuffer> {
  if (length > SLAB_MAX_BYTES) return Buffer.allocUnsafeSlow(length);
  if (used + length > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + length);
  // Each buffer starts 8-byte aligned, as in Node's pool.
  used += (length + 7) & ~7;
  return out;
}
