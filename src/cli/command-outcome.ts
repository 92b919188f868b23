/**
 * One plugin command run to its end, as the demo and the TUI show it: its
 * output and progress as they come, then whether it worked, its result, its
 * exit code and how long it took; and that result shortened to one line.
 */
import type { CommandEvent } from '../host/commands.js';
import type { PluginManager, RunCommandOptions } from '../manager/manager.js';
import { clip, errorMessage } from './output.js';

export interface CommandOutcome {
  /** Exit code 0 and no failed operations in the result. */
  ok: boolean;
  output: string;
  /** How many progress updates came. */
  progress: number;
  value: unknown;
  exitCode: number;
  ms: number;
  /** Why the command did not run to a result (a refused argument, a crash, a timeout). */
  error?: string;
}

/** Never throws: a command that fails to run is an outcome too. */
export async function runToOutcome(
  manager: Pick<PluginManager, 'runCommand'>,
  plugin: string,
  command: string,
  args: Record<string, string>,
  onEvent?: (event: CommandEvent) => void,
  options: RunCommandOptions = {},
): Promise<CommandOutcome> {
  const started = performance.now();
  let output = '';
  let progress = 0;
  try {
    for await (const event of manager.runCommand(plugin, command, args, options)) {
      onEvent?.(event);
      if ('output' in event) output += event.output;
      else if ('progress' in event) progress++;
      else {
        const { value, exitCode } = event.result;
        const failed = typeof (value as { failed?: unknown } | null)?.failed === 'number' && (value as { failed: number }).failed > 0;
        return { ok: exitCode === 0 && !failed, output, progress, value, exitCode, ms: performance.now() - started };
      }
    }
    return { ok: false, output, progress, value: null, exitCode: 1, ms: performance.now() - started, error: 'the command ended without a result' };
  } catch (err) {
    return { ok: false, output, progress, value: null, exitCode: 1, ms: performance.now() - started, error: errorMessage(err) };
  }
}

/** Why a command failed, in one line: the error its result names, why it did not run, or its last output. */
export function failureText(outcome: CommandOutcome): string {
  const error = (outcome.value as { error?: unknown } | null)?.error;
  return typeof error === 'string' ? error : (outcome.error ?? lastLines(outcome.output));
}

/** A result on one line: scalars as name=value, lists by their length. */
export function summarize(value: unknown, max = 72): string {
  if (value === null || value === undefined) return 'no result';
  if (Array.isArray(value)) return `${value.length} items`;
  if (typeof value !== 'object') return clip(JSON.stringify(value), max);
  const parts = Object.entries(value).map(([key, v]) => {
    if (Array.isArray(v)) return `${key}: ${v.length}`;
    if (v !== null && typeof v === 'object') return `${key}: {...}`;
    return `${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
  });
  return clip(parts.join(', '), max);
}

export function lastLines(output: string): string {
  return output.trim().split('\n').slice(-3).join(' / ') || 'no output';
}
