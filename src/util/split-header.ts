/**
 * A fixed-size frame header that may arrive split across reads. A header
 * within one read is read where it lies; one split is gathered here first.
 * The frame readers of both multiplexers (native and yamux) take headers
 * this way.
 */
export class SplitHeader {
  private readonly held: Buffer;
  private heldBytes = 0;
  /** After take() succeeded: the buffer and offset the header's bytes are at. */
  source: Buffer = Buffer.alloc(0);
  offset = 0;

  constructor(readonly size: number) {
    this.held = Buffer.allocUnsafe(size);
  }

  /**
   * Takes the header that starts (or continues) at `at` in `buf`, up to
   * `end`: returns where the bytes after it begin, or -1 when `buf` ended
   * before the header did (what it had is kept for the next read).
   */
  take(buf: Buffer, at: number, end: number): number {
    if (this.heldBytes === 0 && end - at >= this.size) {
      this.source = buf;
      this.offset = at;
      return at + this.size;
    }
    const n = Math.min(this.size - this.heldBytes, end - at);
    buf.copy(this.held, this.heldBytes, at, at + n);
    this.heldBytes += n;
    if (this.heldBytes < this.size) return -1;
    this.heldBytes = 0;
    this.source = this.held;
    this.offset = 0;
    return at + n;
  }
}
