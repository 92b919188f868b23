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
