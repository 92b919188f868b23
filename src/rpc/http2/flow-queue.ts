/**
 * Messages of one HTTP/2 stream read as an async iterable, with
 * backpressure: when the reader falls behind, the stream is paused, so
 * HTTP/2 stops granting the peer window and a slow reader stalls only its
 * own call.
 */

/** The stream a queue reads from, as far as the queue steers it. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
}

/** Queued messages that pause the stream, and the level that resumes it. */
const HIGH_WATER = 64;
const LOW_WATER = 16;

export class FlowQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  private isEnded = false;
  private failure: { error: unknown } | undefined;
  private source: Pausable | undefined;
  private onAbandon: (() => void) | undefined;
  private paused = false;

  /** No more items will come: ended, failed, or abandoned by the reader. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** The stream to pause and resume, and what to do when the reader stops early (cancel, or drop the rest). */
  controls(source: Pausable, onAbandon: () => void): void {
    this.source = source;
    this.onAbandon = onAbandon;
  }

  push(item: T): void {
    if (this.isEnded) return;
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve({ value: item, done: false });
    this.items.push(item);
    if (!this.paused && this.items.length >= HIGH_WATER && this.source) {
      this.paused = true;
      this.source.pause();
    }
  }

  /** No more items; the reader drains what is queued, then finishes. */
  end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  /** The reader gets `error` once the queued items are drained. */
  fail(error: unknown): void {
    if (this.isEnded) return;
    this.failure = { error };
    this.isEnded = true;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift() as T;
      if (this.paused && this.items.length <= LOW_WATER) {
        this.paused = false;
        this.source?.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.isEnded) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The reader stopped early (break, or a throw in its loop). */
  return(): Promise<IteratorResult<T>> {
    const abandoned = !this.isEnded;
    this.end();
    this.items.length = 0;
    if (abandoned) this.onAbandon?.();
    if (this.paused) {
      this.paused = false;
      this.source?.resume();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
