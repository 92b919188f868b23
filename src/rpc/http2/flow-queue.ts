/**
 * Messages of one HTTP/2 stream read as an async iterable, with
 * backpressure: when the reader falls behind, the stream is paused, so
 * HTTP/2 stops granting the peer window and a slow reader stalls only its
 * own call.
 */
import { AsyncQueue } from '../async-queue.js';

/** The stream a queue reads from, as far as the queue steers it. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/** Queued messages that pause the stream, and the level that resumes it. */
const HIGH_WATER = 64;
const LOW_WATER = 16;

export class FlowQueue<T> extends AsyncQueue<T> {
  private source: Pausable | undefined;
  private onAbandon: (() => void) | undefined;
  private paused = false;

  /** The stream to pause and resume, and what to do when the reader stops early (cancel, or drop the rest). */
  controls(source: Pausable, onAbandon: () => void): void {
    this.source = source;
    this.onAbandon = onAbandon;
  }

  override push(item: T): void {
    super.push(item);
    if (!this.paused && this.size >= HIGH_WATER && this.source) {
      this.paused = true;
      this.source.pause();
    }
  }

  override next(): Promise<IteratorResult<T>> {
    const next = super.next();
    if (this.paused && this.size <= LOW_WATER) this.resume();
    return next;
  }

  /** The reader stopped early (break, or a throw in its loop). */
  override return(): Promise<IteratorResult<T>> {
    const abandoned = !this.isEnded;
    const done = super.return();
    if (abandoned) this.onAbandon?.();
    if (this.paused) this.resume();
    return done;
  }

  private resume(): void {
    this.paused = false;
    this.source?.resume();
  }
}
