/**
 * The types a command argument may declare (`type:` in a manifest's
 * commands): the host reads the argument's text as one, refuses text that is
 * not, and the plugin gets the value typed. Apart from the manifest parser,
 * so that the host checks arguments without loading it.
 */
export const ARG_TYPES = ['string', 'int', 'number', 'bool', 'json'] as const;
export type ArgType = (typeof ARG_TYPES)[number];

/**
 * An argument's text as its type's value, or why it is not one. Booleans
 * take true/false, yes/no, on/off and 1/0; ints are whole numbers within
 * JavaScript's safe range, so every language reads them the same.
 */
export function typedArgValue(type: ArgType, text: string): { value: unknown } | { problem: string } {
  switch (type) {
    case 'string':
      return { value: text };
    case 'int': {
      const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
      return Number.isSafeInteger(n) ? { value: n } : { problem: 'is not a whole number' };
    }
    case 'number': {
      const n = text.trim() === '' ? NaN : Number(text);
      return Number.isFinite(n) ? { value: n } : { problem: 'is not a number' };
    }
    case 'bool': {
      const word = text.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(word)) return { value: true };
      if (['false', 'no', 'off', '0'].includes(word)) return { value: false };
      return { problem: 'is not true or false (or yes/no, on/off, 1/0)' };
    }
    case 'json':
      try {
        return { value: JSON.parse(text) as unknown };
      } catch (err) {
        return { problem: `is not JSON (${(err as Error).message})` };
      }
  }
}

/**
 * The types a module export's parameter or result may declare (`params:`
 * and `returns:` in a manifest's exports): JSON-like values as they cross
 * between the application and a plugin. `json` is any of them.
 */
export const VALUE_TYPES = ['string', 'int', 'number', 'bool', 'list', 'map', 'json'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** What kind of JSON-like value `value` is, for messages: "a string", "null", "a list". */
export function valueKind(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'boolean') return 'a bool';
  return `a ${typeof value}`;
}

/** Why `value` is not of `type`, or undefined when it is. */
export function valueTypeProblem(type: ValueType, value: unknown): string | undefined {
  const fits =
    type === 'json' ||
    (type === 'string' && typeof value === 'string') ||
    (type === 'int' && Number.isSafeInteger(value)) ||
    (type === 'number' && typeof value === 'number' && Number.isFinite(value)) ||
    (type === 'bool' && typeof value === 'boolean') ||
    (type === 'list' && Array.isArray(value)) ||
    (type === 'map' && typeof value === 'object' && value !== null && !Array.isArray(value));
  if (fits) return undefined;
  const kind = valueKind(value);
  return type === 'int' && typeof value === 'number' ? `${value} is not a whole number` : `${kind} is not ${aValueType(type)}`;
}

/** A type as a message names a value of it: "a string", "an int". */
export function aValueType(type: ValueType): string {
  return type === 'int' ? 'an int' : `a ${type}`;
}

/** A JavaScript identifier, what `import { name }` can bind: how exports and their methods and parameters are named. */
export const JS_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
