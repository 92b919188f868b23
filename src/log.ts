/**
 * The logger interface hst writes to: the subset of pino's API we use, so
 * an application can hand in its own pino logger (or anything shaped like it).
 */
import { createRequire } from 'node:module';
import type { pino as Pino } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

type LogFn = (fields: Record<string, unknown>, message?: string) => void;

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** Whether `level` is written (pino's); without it, every level is. Lets a hot path skip building fields. */
  isLevelEnabled?(level: LogLevel): boolean;
}

/** pino on stderr; HST_LOG_LEVEL picks the level (default warn, so libraries stay quiet). */
export function defaultLogger(): Logger {
  // Loaded on first use: plugins log hclog and should not pay for pino at start-up.
  const { pino } = createRequire(import.meta.url)('pino') as { pino: typeof Pino };
  return pino({ name: 'hst', level: process.env.HST_LOG_LEVEL ?? 'warn' }, pino.destination(2));
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
  isLevelEnabled: () => false,
};

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

/** Keeps entries in memory: for `hst probe` reports and for tests. */
export class MemoryLogger implements Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  private log(level: LogLevel): LogFn {
    return (fields, message = '') => {
      this.entries.push({ level, message, fields: { ...this.bindings, ...fields } });
    };
  }

  trace = this.log('trace');
  debug = this.log('debug');
  info = this.log('info');
  warn = this.log('warn');
  error = this.log('error');

  child(bindings: Record<string, unknown>): Logger {
    return new MemoryLogger(this.entries, { ...this.bindings, ...bindings });
  }

  find(message: string | RegExp): LogEntry | undefined {
    return this.entries.find((e) => (typeof message === 'string' ? e.message === message : message.test(e.message)));
  }
}
