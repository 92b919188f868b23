/**
 * The logger interface hst writes to: the subset of pino's API we use, so
 * an application can hand in its own pino logger (or anything shaped like it).
 */
import { pino } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

type LogFn = (fields: Record<string, unknown>, message?: string) => void;

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** pino on stderr; HST_LOG_LEVEL picks the level (default warn, so libraries stay quiet). */
export function defaultLogger(): Logger {
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
};
