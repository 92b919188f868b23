/**
 * Received messages of one stream, read as an async iterator. Taking a
 * message credits its bytes to the sender's window, so a consumer that stops
 * reading stops its own stream, and only its own.
 */
import type { Stream } from './session.js';

export class Inbox<T> implements AsyncIterableIterator<T> {
  private readonly items: Array<{ value: T; bytes: number }> = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly stream: Stream,
    /** Called when the reader stops before the end (break, return()). */
    private readonly onAbandon?: () => void,
  ) {}

  push(value: T, bytes: number): void {
    if (this.ended) return;
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.stream.consumed(bytes);
      waiter.resolve({ value, done: false });
    } else {
      this.items.push({ value, bytes });
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.settleWaiter();
  }

  /** Readers get `error` after the messages already received. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = { error };
    this.settleWaiter();
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item) {
      this.stream.consumed(item.bytes);
      return Promise.resolve({ value: item.value, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    const abandoned = !this.ended;
    this.ended = true;
    this.items.length = 0;
    if (abandoned) this.onAbandon?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settleWaiter(): void {
    const waiter = this.waiter;
    if (!waiter || this.items.length) return;
    this.waiter = undefined;
    if (this.failure) waiter.reject(this.failure.error);
    else waiter.resolve({ value: undefined, done: true });
  }
}
