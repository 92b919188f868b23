/**
 * A plugin command's arguments, checked against its manifest before the
 * plugin sees them: unknown names, missing required ones and values that do
 * not match their pattern are refused with INVALID_ARGUMENT naming the
 * plugin, the command and the argument; defaults are filled in.
 */
import type { Manifest } from '../security/manifest.js';
import { typedArgValue } from '../security/arg-types.js';
import { Code, RpcError } from '../rpc/status.js';

/** Values are user input shown back in messages: long ones are cut. */
function show(value: string): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

/** The arguments as text (the plugin's `args`) and as values of their declared types (its typed `values`). */
export interface ResolvedArgs {
  args: Record<string, string>;
  values: Record<string, unknown>;
}

export function validateCommandArgs(manifest: Pick<Manifest, 'name' | 'commands'>, command: string, args: Readonly<Record<string, string>>): ResolvedArgs {
  const where = `plugin ${JSON.stringify(manifest.name)}`;
  const spec = manifest.commands.find((c) => c.name === command);
  if (!spec) {
    const known = manifest.commands.map((c) => c.name).join(', ') || 'none';
    throw new RpcError(Code.NOT_FOUND, `${where} has no command ${show(command)}; its commands: ${known}`);
  }
  const prefix = `${where} command ${JSON.stringify(command)}`;
  const unknown = Object.keys(args).filter((name) => !spec.args.some((a) => a.name === name));
  if (unknown.length > 0) {
    const takes = spec.args.map((a) => a.name).join(', ') || 'no arguments';
    throw new RpcError(Code.INVALID_ARGUMENT, `${prefix}: unknown argument ${unknown.map(show).join(', ')}; it takes ${takes}`);
  }
  const resolved: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const arg of spec.args) {
    const value = Object.hasOwn(args, arg.name) ? args[arg.name] : arg.default;
    if (value === undefined) {
      if (arg.required) throw new RpcError(Code.INVALID_ARGUMENT, `${prefix}: argument ${JSON.stringify(arg.name)} is required${arg.help ? ` (${arg.help})` : ''}`);
      continue;
    }
    // The manifest compiles patterns with the u flag; so must we, or a valid pattern could mean something else.
    if (arg.pattern !== undefined && !new RegExp(arg.pattern, 'u').test(value)) {
      throw new RpcError(Code.INVALID_ARGUMENT, `${prefix}: argument ${JSON.stringify(arg.name)} = ${show(value)} does not match ${arg.pattern}`);
    }
    const typed = typedArgValue(arg.type ?? 'string', value);
    if ('problem' in typed) throw new RpcError(Code.INVALID_ARGUMENT, `${prefix}: argument ${JSON.stringify(arg.name)} = ${show(value)} ${typed.problem}; it takes a ${arg.type}`);
    resolved[arg.name] = value;
    values[arg.name] = typed.value;
  }
  return { args: resolved, values };
}
