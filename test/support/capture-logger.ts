/** A Logger that records entries, so tests can assert what was logged at which level. */
import type { LogLevel, Logger } from '../../src/log.js';

export interface LogEntry {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

export class CaptureLogger implements Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  private log(level: LogLevel) {
    return (fields: Record<string, unknown>, message = '') => {
      this.entries.push({ level, message, fields: { ...this.bindings, ...fields } });
    };
  }

  trace = this.log('trace');
  debug = this.log('debug');
  info = this.log('info');
  warn = this.log('warn');
  error = this.log('error');

  child(bindings: Record<string, unknown>): Logger {
    return new CaptureLogger(this.entries, { ...this.bindings, ...bindings });
  }

  find(message: string | RegExp): LogEntry | undefined {
    return this.entries.find((e) => (typeof message === 'string' ? e.message === message : message.test(e.message)));
  }
}
