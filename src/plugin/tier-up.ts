/**
 * Lets V8 optimise a plugin's call path sooner, once the plugin serves.
 *
 * Node 20's V8 (11.x) optimises a function after it has run through a budget
 * of bytecode (`--interrupt-budget`, 66 KiB) a few times. A call through a
 * plugin is dozens of small functions that each run once per call, so a
 * plugin that sees a few hundred calls a second stays in the interpreter and
 * baseline code for thousands of calls, at several times the CPU per call.
 * With 50 plugins busy on two cores that made p99 27-33 ms; a budget of
 * 4 KiB made it 9-13 ms (benchmark fleet task, alternating runs).
 *
 * V8 12 and later (Node 22, 24) count invocations instead, and lowering that
 * count made the same task slower (p99 18 -> 40 ms on Node 22), so they keep
 * their defaults.
 *
 * It is set after the handshake, so start-up code, which runs once, is not
 * compiled any sooner (start time unchanged, measured). A budget given to
 * node on its command line is left alone.
 */
import { setFlagsFromString } from 'node:v8';

/** Bytes of bytecode; V8 11's default is 66 KiB. */
const PLUGIN_BUDGET = 4 * 1024;

/** The V8 flag to set for a plugin, if any, given V8's version and node's own arguments. */
export function tierUpFlag(v8Version: string, execArgv: readonly string[]): string | undefined {
  if (Number(v8Version.split('.')[0]) >= 12) return undefined;
  // V8 takes '_' for '-' in flag names; --interrupt-budget-for-... is another flag.
  if (execArgv.some((arg) => /^--interrupt[-_]budget(=|$)/.test(arg))) return undefined;
  return `--interrupt-budget=${PLUGIN_BUDGET}`;
}

export function tierUpSooner(): void {
  const flag = tierUpFlag(process.versions.v8, process.execArgv);
  if (flag) setFlagsFromString(flag);
}
