/**
 * How often a crashed plugin may be restarted: each restart waits twice as
 * long as the one before (from `initialBackoffMs` up to `maxBackoffMs`), and
 * after `maxRestarts` restarts within `windowMs` the plugin is given up on.
 * Only restarts inside the window count, so a plugin that ran steadily for a
 * window starts again from the shortest wait.
 */
export interface RestartOptions {
  /** Restarts allowed within `windowMs`; one more crash marks the plugin failed (default 5). */
  maxRestarts?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Wait before the first restart (default 200 ms). */
  initialBackoffMs?: number;
  /** Longest wait between restarts (default 10 s). */
  maxBackoffMs?: number;
}

export const defaultRestartOptions: Required<RestartOptions> = {
  maxRestarts: 5,
  windowMs: 60_000,
  initialBackoffMs: 200,
  maxBackoffMs: 10_000,
};

export class RestartBudget {
  private readonly options: Required<RestartOptions>;
  /** When each restart inside the window was granted. */
  private recent: number[] = [];

  constructor(
    options: RestartOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...defaultRestartOptions, ...options };
  }

  /**
   * Asks for one more restart: the wait before it, or undefined when the
   * budget for this window is spent.
   */
  next(): number | undefined {
    const now = this.now();
    this.recent = this.recent.filter((t) => now - t < this.options.windowMs);
    if (this.recent.length >= this.options.maxRestarts) return undefined;
    const delay = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** this.recent.length);
    this.recent.push(now);
    return delay;
  }

  /** Says what ran out, for the plugin's last error. */
  describe(): string {
    return `more than ${this.options.maxRestarts} restarts within ${this.options.windowMs / 1000} s`;
  }
}
