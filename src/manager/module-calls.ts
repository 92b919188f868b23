/**
 * What crosses between the application and a plugin module, checked. A call
 * against the manifest's signature of the export: the arguments before it
 * (count, types, defaults filled in) and the result after it, so the types
 * `hst types` declares hold at run time whatever the plugin is written in;
 * without `params` the arguments pass unchecked, without `returns` the
 * result. And the exports a plugin found by its name says it has.
 */
import { aValueType, JS_IDENTIFIER, valueKind, valueTypeProblem } from '../security/arg-types.js';
import type { ManifestExport, ManifestSignature } from '../security/manifest.js';
import { Code, RpcError } from '../rpc/status.js';

/** The arguments to send: checked against `signature.params`, with omitted optional ones given their defaults. */
export function checkedArgs(label: string, signature: ManifestSignature, args: readonly unknown[]): unknown[] {
  const { params } = signature;
  if (!params) return [...args];
  const invalid = (problem: string) => new RpcError(Code.INVALID_ARGUMENT, `${label}: ${problem}`);
  let given = args.length;
  while (given > 0 && args[given - 1] === undefined) given--;
  if (given > params.length) {
    const names = params.map((p) => p.name).join(', ');
    throw invalid(`takes ${params.length === 0 ? 'no arguments' : `at most ${params.length} argument${params.length === 1 ? '' : 's'} (${names})`}, got ${given}`);
  }
  const out: unknown[] = [];
  params.forEach((param, i) => {
    const value = i < given ? args[i] : undefined;
    const named = `argument ${i + 1} (${param.name})`;
    if (value === undefined) {
      if (param.default !== undefined) out.push(structuredClone(param.default));
      else if (!param.optional) throw invalid(`${named} is missing: ${aValueType(param.type)} is required`);
      // An optional parameter without a default is left out, unless a later argument needs its place.
      else if (i < given) out.push(null);
      return;
    }
    const problem = valueTypeProblem(param.type, value);
    if (problem) throw invalid(`${named}: ${problem}`);
    out.push(value);
  });
  return out;
}

/** The plugin's result, refused when it is not what `signature.returns` declares. */
export function checkedResult(label: string, signature: ManifestSignature, result: unknown): unknown {
  const { returns } = signature;
  if (returns === undefined) return result;
  const fits = returns === 'none' ? result === null || result === undefined : valueTypeProblem(returns, result) === undefined;
  if (!fits) throw new RpcError(Code.INTERNAL, `${label}: the plugin returned ${valueKind(result)}, but its manifest says it returns ${returns === 'json' || returns === 'none' ? returns : aValueType(returns)}`);
  return result;
}

/** More than any real module has; a plugin listing more is refused rather than believed. */
const MAX_DESCRIBED = 256;

/**
 * A plugin's own list of its exports (Module/Describe), held to the rules a
 * manifest's `exports:` is: identifiers, each name once, a function without
 * methods. It comes from the plugin, so a bad one is the plugin's fault.
 */
export function describedExports(label: string, exports: ReadonlyArray<{ name: string; methods: readonly string[] }>): ManifestExport[] {
  const wrong = (problem: string) => new RpcError(Code.INTERNAL, `${label}: the plugin's list of its exports is unusable: ${problem}`);
  if (exports.length > MAX_DESCRIBED) throw wrong(`${exports.length} exports, more than ${MAX_DESCRIBED}`);
  const names = new Set<string>();
  return exports.map(({ name, methods }) => {
    if (!JS_IDENTIFIER.test(name)) throw wrong(`${JSON.stringify(name)} is not a JavaScript identifier`);
    if (names.has(name)) throw wrong(`${name} is listed twice`);
    names.add(name);
    if (methods.length > MAX_DESCRIBED) throw wrong(`${name} has ${methods.length} methods, more than ${MAX_DESCRIBED}`);
    const bad = methods.find((m, i) => !JS_IDENTIFIER.test(m) || methods.indexOf(m) !== i);
    if (bad !== undefined) throw wrong(`${name}'s method ${JSON.stringify(bad)} is not a JavaScript identifier, or is listed twice`);
    return methods.length === 0 ? { name, type: 'function' } : { name, type: 'object', methods: methods.map((m) => ({ name: m })) };
  });
}
