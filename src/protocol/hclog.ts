/**
 * hclog's JSON line format, both ways. Plugins log this way on stderr and
 * go-plugin hosts re-log each line at its level; anything else on stderr
 * is kept as raw text. A Go host's log goroutine panics on a non-string
 * `@message` or `@level`, so we only ever write strings there.
 */
import { writeSync } from 'node:fs';
import type { LogLevel, Logger } from '../log.js';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export interface HclogEntry {
  level: LogLevel | undefined;
  message: string;
  timestamp?: string;
  module?: string;
  fields: Record<string, unknown>;
}

/** hclog's time layout: `2006-01-02T15:04:05.000000Z07:00`, local time. */
export function formatHclogTime(epochMicros: number): string {
  const ms = Math.floor(epochMicros / 1000);
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(Math.trunc(n)).padStart(w, '0');
  const micros = ((epochMicros % 1_000_000) + 1_000_000) % 1_000_000;
  const offset = -d.getTimezoneOffset();
  const zone =
    offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.abs(offset) / 60)}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(micros, 6)}${zone}`
  );
}

function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export function formatHclogLine(
  level: LogLevel,
  message: string,
  module: string | undefined,
  fields: Record<string, unknown> = {},
  epochMicros = nowMicros(),
): string {
  // hclog marshals a map, so keys come out sorted; "@" sorts before letters.
  const entry: Record<string, unknown> = {
    '@level': level,
    '@message': String(message),
    ...(module ? { '@module': module } : {}),
    '@timestamp': formatHclogTime(epochMicros),
  };
  for (const key of Object.keys(fields).sort()) {
    if (key.startsWith('@')) continue;
    const v = fields[key];
    entry[key] = v instanceof Error ? v.message : v;
  }
  return JSON.stringify(entry, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * A plugin-side logger writing hclog JSON straight to file descriptor 2, so
 * its lines keep going to the host's stderr reader even after process.stderr
 * is redirected into the GRPCStdio stream.
 */
export function createHclogLogger(options: { name?: string; level?: LogLevel; fd?: number } = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? 'trace');
  const fd = options.fd ?? 2;
  const make = (module: string | undefined, bound: Record<string, unknown>): Logger => {
    const log = (level: LogLevel) => (fields: Record<string, unknown>, message?: string) => {
      if (LEVELS.indexOf(level) < min) return;
      try {
        writeSync(fd, formatHclogLine(level, message ?? '', module, { ...bound, ...fields }) + '\n');
      } catch {
        // The host went away; there is nobody left to read the log.
      }
    };
    return {
      trace: log('trace'),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (bindings) => {
        const { name, ...rest } = bindings;
        return make(typeof name === 'string' ? (module ? `${module}.${name}` : name) : module, { ...bound, ...rest });
      },
    };
  };
  return make(options.name, {});
}

/** hclog.LevelFromString. `undefined` is hclog's NoLevel. */
export function levelFromString(s: unknown): LogLevel | undefined {
  if (typeof s !== 'string') return undefined;
  const l = s.trim().toLowerCase();
  if (l === 'warning') return 'warn';
  return (LEVELS as readonly string[]).includes(l) ? (l as LogLevel) : undefined;
}

/** One stderr line as hclog JSON, or undefined when it is not a JSON object. */
export function parseHclogLine(line: string): HclogEntry | undefined {
  if (!line.startsWith('{')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const obj = raw as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!k.startsWith('@')) fields[k] = v;
  const entry: HclogEntry = { level: levelFromString(obj['@level']), message: String(obj['@message'] ?? ''), fields };
  if (typeof obj['@timestamp'] === 'string') entry.timestamp = obj['@timestamp'];
  if (typeof obj['@module'] === 'string') entry.module = obj['@module'];
  return entry;
}

const PREFIX_LEVELS: ReadonlyArray<[string, LogLevel]> = [
  ['[TRACE]', 'trace'],
  ['[DEBUG]', 'debug'],
  ['[INFO]', 'info'],
  ['[WARN]', 'warn'],
  ['[ERROR]', 'error'],
];

/**
 * Routes a plugin's stderr lines into a host logger the way go-plugin does:
 * hclog JSON at its own level, `[LEVEL]` prefixes honoured, raw text at
 * debug, and everything after a `panic: ` or `fatal error: ` line at error.
 */
export class StderrLogRouter {
  private inPanic = false;

  constructor(private readonly logger: Logger) {}

  line(text: string): void {
    const entry = parseHclogLine(text);
    if (entry) {
      const fields = { ...entry.fields, ...(entry.module ? { module: entry.module } : {}), ...(entry.timestamp ? { timestamp: entry.timestamp } : {}) };
      if (entry.level) this.logger[entry.level](fields, entry.message);
      else this.logger.debug({}, text); // JSON, but not hclog's: keep it verbatim
      return;
    }
    if (text.startsWith('panic: ') || text.startsWith('fatal error: ')) this.inPanic = true;
    const prefixed = PREFIX_LEVELS.find(([p]) => text.startsWith(p));
    const level: LogLevel = prefixed ? prefixed[1] : this.inPanic ? 'error' : 'debug';
    this.logger[level]({}, text);
  }
}
