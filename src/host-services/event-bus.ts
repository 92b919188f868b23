/**
 * The in-memory event bus plugins publish to and subscribe on, and the pieces
 * every live stream of host changes shares: a bounded mailbox that never makes
 * the producer wait. (The per-plugin subscription count lives on the Caller.)
 */

export interface Publisher {
  owner: string;
  clientId: string;
}

export interface BusEvent {
  topic: string;
  payload: Uint8Array;
  contentType: string;
  publisher: Publisher;
  sequence: number;
  timestampMs: number;
}

export interface TopicStatus {
  topic: string;
  subscribers: number;
  /** 0 when only subscribed to, never published. */
  lastPublishMs: number;
}

const SEGMENT = /^[A-Za-z0-9_/-]+$/;
const MAX_TOPIC_BYTES = 256;
/** Topics remembered for ListTopics; beyond it the least recently published are forgotten. */
const MAX_TOPICS = 4096;

/** Why `topic` is not a valid topic, or undefined when it is. */
export function topicProblem(topic: string): string | undefined {
  if (topic === '') return 'the topic is empty';
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return `the topic is longer than ${MAX_TOPIC_BYTES} bytes`;
  if (!topic.split('.').every((s) => SEGMENT.test(s))) return 'a topic is segments of [A-Za-z0-9_/-] joined by "."';
  return undefined;
}

/** Why `pattern` is not a valid pattern, or undefined when it is. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'the pattern is empty';
  if (Buffer.byteLength(pattern) > MAX_TOPIC_BYTES) return `the pattern is longer than ${MAX_TOPIC_BYTES} bytes`;
  const segments = pattern.split('.');
  const valid = segments.every((s, i) => SEGMENT.test(s) || s === '*' || (s === '>' && i === segments.length - 1));
  if (!valid) return 'a pattern is topic segments, "*" (one segment) or a last ">" (the rest), joined by "."';
  return undefined;
}

/** `*` matches exactly one segment; a last `>` matches one or more. */
export function topicMatches(pattern: readonly string[], topic: readonly string[]): boolean {
  for (const [i, p] of pattern.entries()) {
    if (p === '>') return topic.length > i;
    const t = topic[i];
    if (t === undefined || (p !== '*' && p !== t)) return false;
  }
  return pattern.length === topic.length;
}

export interface MailboxBounds<T> {
  maxItems: number;
  maxBytes: number;
  sizeOf(item: T): number;
}

/**
 * A queue between a producer that must never wait (a publisher, a commit) and
 * one stream reader. Past its bounds it drops the oldest items and tells the
 * reader how many with the next one. It closes when any of its signals aborts
 * or close() is called, and then runs its cleanups once, synchronously, so a
 * disconnect has released everything by the time it completes.
 */
export class Mailbox<T> {
  private readonly items: T[] = [];
  private bytes = 0;
  private dropped = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly bounds: MailboxBounds<T>,
    signals: readonly AbortSignal[],
  ) {
    for (const signal of signals) {
      signal.addEventListener('abort', this.close);
      this.cleanups.push(() => signal.removeEventListener('abort', this.close));
    }
    if (signals.some((s) => s.aborted)) this.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.bytes += this.bounds.sizeOf(item);
    // The newest item is always kept, even when it alone is over the byte bound.
    while (this.items.length > this.bounds.maxItems || (this.bytes > this.bounds.maxBytes && this.items.length > 1)) {
      this.bytes -= this.bounds.sizeOf(this.items.shift() as T);
      this.dropped++;
    }
    this.wake?.();
  }

  /** Runs `fn` when the mailbox closes (now, if it already has). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.cleanups.push(fn);
  }

  readonly close = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.items.length = 0;
    this.bytes = 0;
    for (const fn of this.cleanups.splice(0).reverse()) fn();
    this.wake?.();
  };

  /** Each item with the number dropped just before it; ends when the mailbox closes. */
  async *drain(): AsyncGenerator<{ item: T; dropped: number }> {
    while (!this.closed) {
      if (this.items.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const item = this.items.shift() as T;
      this.bytes -= this.bounds.sizeOf(item);
      const dropped = this.dropped;
      this.dropped = 0;
      yield { item, dropped };
    }
  }
}

interface Subscription {
  pattern: readonly string[];
  mailbox: Mailbox<BusEvent>;
}

/** One per host: every plugin publishes and subscribes here. */
export class EventBus {
  private sequence = 0;
  private readonly subscriptions = new Set<Subscription>();
  /** Topic -> last publish time (0: never), least recently published first. */
  private readonly topics = new Map<string, number>();

  /** Queues the event for every matching subscription and returns how many; never waits for them. */
  publish(event: Omit<BusEvent, 'sequence' | 'timestampMs'>): number {
    const published: BusEvent = { ...event, sequence: ++this.sequence, timestampMs: Date.now() };
    this.remember(event.topic, published.timestampMs);
    const segments = event.topic.split('.');
    let delivered = 0;
    for (const s of this.subscriptions) {
      if (!topicMatches(s.pattern, segments)) continue;
      s.mailbox.push(published);
      delivered++;
    }
    return delivered;
  }

  /** Delivers matching events to `mailbox` until it closes. */
  subscribe(pattern: string, mailbox: Mailbox<BusEvent>): void {
    const subscription: Subscription = { pattern: pattern.split('.'), mailbox };
    if (!pattern.includes('*') && !pattern.includes('>') && !this.topics.has(pattern)) this.remember(pattern, 0);
    this.subscriptions.add(subscription);
    mailbox.onClose(() => this.subscriptions.delete(subscription));
  }

  listTopics(): TopicStatus[] {
    return [...this.topics].map(([topic, lastPublishMs]) => {
      const segments = topic.split('.');
      let subscribers = 0;
      for (const s of this.subscriptions) if (topicMatches(s.pattern, segments)) subscribers++;
      return { topic, subscribers, lastPublishMs };
    });
  }

  /** Ends every subscription. */
  close(): void {
    for (const s of [...this.subscriptions]) s.mailbox.close();
  }

  private remember(topic: string, lastPublishMs: number): void {
    // Re-inserting moves the topic to the end, keeping the map in publish order.
    this.topics.delete(topic);
    this.topics.set(topic, lastPublishMs);
    if (this.topics.size > MAX_TOPICS) this.topics.delete(this.topics.keys().next().value as string);
  }
}
