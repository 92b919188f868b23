/**
 * The time limit of one call into a plugin: the caller's, its manifest's
 * resources.call_timeout, or the host's default. When it passes, the call's signal aborts, which
 * cancels the RPC on both sides, and the call fails with DEADLINE_EXCEEDED
 * saying what took too long; the plugin itself is left running.
 */
import { Code, RpcError } from '../rpc/status.js';

/** Which limit a deadline is: whose it is decides what the message tells the reader to change. */
export type DeadlineSource = 'caller' | 'manifest' | 'host';

const SOURCE_TEXT: Record<DeadlineSource, string> = {
  caller: 'the timeout this call was given',
  manifest: "the plugin's call timeout, resources.call_timeout in its manifest",
  host: "the host's default call timeout, for a plugin whose manifest sets none",
};

/** The limit of a call and whose it is: the caller's, else the manifest's, else the host's default. */
export function callLimit(callerMs: number | undefined, manifestMs: number | undefined, hostMs: number): { timeoutMs: number; source: DeadlineSource } {
  if (callerMs !== undefined) return { timeoutMs: callerMs, source: 'caller' };
  if (manifestMs !== undefined) return { timeoutMs: manifestMs, source: 'manifest' };
  return { timeoutMs: hostMs, source: 'host' };
}

export class CallDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  private readonly unlink: () => void;

  constructor(
    readonly timeoutMs: number,
    /** What is being timed, for the message: `plugin "x" command "y"`. */
    private readonly what: string,
    /** The caller's own cancellation, passed on. */
    parent?: AbortSignal,
    /** Whose limit it is, for the message. */
    private readonly source: DeadlineSource = 'manifest',
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(this.error());
    }, timeoutMs);
    const onParentAbort = () => this.controller.abort(parent?.reason);
    if (parent?.aborted) onParentAbort();
    parent?.addEventListener('abort', onParentAbort, { once: true });
    this.unlink = () => parent?.removeEventListener('abort', onParentAbort);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.timedOut;
  }

  error(): RpcError {
    return new RpcError(Code.DEADLINE_EXCEEDED, `${this.what} did not finish within ${this.timeoutMs} ms (${SOURCE_TEXT[this.source]}); the plugin keeps running`);
  }

  /** The error to throw for `err`: the deadline's own once it has passed, since the RPC then only says "cancelled". */
  explain(err: unknown): unknown {
    return this.timedOut ? this.error() : err;
  }

  /** Rejects when the deadline passes or the caller cancels; for waits that take no signal. */
  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    if (signal.aborted) return Promise.reject(this.explain(signal.reason));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.explain(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Stops the clock and cancels whatever still listens on the signal (a stream the consumer left). */
  dispose(): void {
    clearTimeout(this.timer);
    this.unlink();
    if (!this.controller.signal.aborted) this.controller.abort(new RpcError(Code.CANCELLED, `${this.what} ended`));
  }
}
