/**
 * What the plugin commands of the CLI share: the global options, colours
 * only on a terminal, `--json`, and a pino log that goes to a file (or to
 * stderr with `--log-stderr`) and never into a command's output.
 */
import { openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { pino as Pino } from 'pino';
import type { Logger } from '../log.js';
import { PluginManager, type PluginManagerOptions } from '../manager/manager.js';
import type { SandboxMode } from '../manager/plugin-runner.js';
import type { SignaturePolicy } from '../security/signature.js';
import { Code, RpcError } from '../rpc/status.js';
import { terminalSafe } from '../util/terminal-text.js';
import { dataDir as defaultDataDir } from './paths.js';
import { withHostServices } from './host-service-modules.js';
import { makeDirs } from '../util/make-dirs.js';

/** The options every command takes (commander's names). */
export interface GlobalOptions {
  /** Repeatable; undefined when not given. */
  pluginDir?: string[];
  dataDir?: string;
  json?: boolean;
  /** False with --no-color. */
  color?: boolean;
  logStderr?: boolean;
  /** The operator's sandbox mode; default auto. */
  sandbox?: SandboxMode;
  /** The operator's signature policy; default warn. */
  signatures?: SignaturePolicy;
  /** Modules of host services the application adds (--host-services, repeatable). */
  hostServices?: string[];
}

/** What the operator decided for every plugin this host runs: passed to each PluginManager the CLI makes. */
export interface HostPolicy {
  sandbox: SandboxMode;
  signaturePolicy: SignaturePolicy;
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const ansi = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string) => text;

export function style(color: boolean): Style {
  if (!color) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  return { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39), yellow: ansi(33, 39), cyan: ansi(36, 39) };
}

/** Text without its colour codes, to measure it. */
export function visibleLength(text: string): number {
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

/** Text cut to `max` characters, with "..." where it was cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** Columns padded to their widest cell; cells may be coloured. */
export function table(rows: string[][], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell) + gap)))
      .join('')
      .trimEnd(),
  );
}

export class Cli {
  readonly pluginDirs: string[];
  /** Whether --plugin-dir was given (the demo otherwise uses the repository's plugins). */
  readonly pluginDirsGiven: boolean;
  readonly dataDir: string;
  readonly dataDirGiven: boolean;
  readonly json: boolean;
  /** Colours on stdout: a terminal, no --no-color, no NO_COLOR, no --json. */
  readonly color: boolean;
  readonly style: Style;
  /** Where the log goes: a file, or undefined for stderr. */
  readonly logFile: string | undefined;
  private logger: Logger | undefined;

  constructor(
    readonly options: GlobalOptions,
    overrides: { dataDir?: string } = {},
  ) {
    this.pluginDirsGiven = (options.pluginDir?.length ?? 0) > 0;
    this.pluginDirs = this.pluginDirsGiven ? (options.pluginDir as string[]) : ['./plugins'];
    this.dataDirGiven = options.dataDir !== undefined;
    this.dataDir = resolve(overrides.dataDir ?? options.dataDir ?? defaultDataDir());
    this.json = !!options.json;
    this.color = !this.json && options.color !== false && !process.env.NO_COLOR && !!process.stdout.isTTY;
    this.style = style(this.color);
    this.logFile = options.logStderr ? undefined : join(this.dataDir, 'logs', 'hst.log');
  }

  out(text: string): void {
    process.stdout.write(text);
  }

  err(text: string): void {
    process.stderr.write(text);
  }

  /** pino at HST_LOG_LEVEL (default info), to the log file or stderr. */
  log(): Logger {
    if (!this.logger) {
      const { pino } = createRequire(import.meta.url)('pino') as { pino: typeof Pino };
      const destination = this.logFile ? new LazyFile(this.logFile) : pino.destination({ fd: 2, sync: true });
      this.logger = pino({ name: 'hst', level: process.env.HST_LOG_LEVEL ?? 'info' }, destination);
    }
    return this.logger;
  }

  get hostPolicy(): HostPolicy {
    return { sandbox: this.options.sandbox ?? 'auto', signaturePolicy: this.options.signatures ?? 'warn' };
  }

  manager(options: PluginManagerOptions = {}): PluginManager {
    return new PluginManager({ pluginDirs: this.pluginDirs, dataDir: this.dataDir, logger: this.log(), ...this.hostPolicy, ...withHostServices(), ...options });
  }
}

/** A log file opened at the first entry, so a command that logs nothing leaves nothing behind. */
class LazyFile {
  private fd: number | undefined;

  constructor(private readonly path: string) {}

  write(chunk: string): void {
    if (this.fd === undefined) {
      makeDirs(dirname(this.path), 0o700);
      this.fd = openSync(this.path, 'a', 0o600);
    }
    writeSync(this.fd, chunk);
  }
}

/** A mistake in how a command was called: exit code 2. */
export class UsageError extends Error {}

/** Exit code for a mistake in the command line, as opposed to a failure while running. */
export const USAGE_EXIT = 2;

/** The message for an error, without a stack trace, and without the control bytes a plugin may have put in it. */
export function errorMessage(err: unknown): string {
  if (err instanceof RpcError) return terminalSafe(err.details || err.message);
  return terminalSafe(err instanceof Error ? err.message : String(err));
}

/** Unknown plugins, commands and arguments are the caller's mistake (2); anything else failed while running (1). */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return USAGE_EXIT;
  if (err instanceof RpcError && (err.code === Code.INVALID_ARGUMENT || err.code === Code.NOT_FOUND)) return USAGE_EXIT;
  return 1;
}
