/**
 * validator-ts: a module whose manifest types every call. By the time a
 * call arrives the host has checked its arguments and filled in defaults,
 * so the plugin checks only what a type cannot say: the record's content.
 */
import { Code, RpcError, serve } from 'hst/plugin';

type Problem = { field: string; problem: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function check(record: Record<string, unknown>, required: unknown[], strict: boolean): { valid: boolean; problems: Problem[]; fields: number } {
  const problems: Problem[] = [];
  for (const field of required) {
    if (typeof field !== 'string') problems.push({ field: String(field), problem: 'a required field must be named by a string' });
    else if (record[field] === undefined || record[field] === null || record[field] === '') problems.push({ field, problem: 'is required' });
  }
  if (strict) for (const field of Object.keys(record)) if (!required.includes(field)) problems.push({ field, problem: 'is not allowed' });
  if (typeof record.email === 'string' && !EMAIL.test(record.email)) problems.push({ field: 'email', problem: 'is not an email address' });
  return { valid: problems.length === 0, problems, fields: Object.keys(record).length };
}

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  exports: {
    check,
    assertValid: (record: Record<string, unknown>, required: unknown[]) => {
      const { problems } = check(record, required, false);
      if (problems.length > 0) throw new RpcError(Code.INVALID_ARGUMENT, problems.map((p) => `${p.field} ${p.problem}`).join('; '));
    },
    rules: {
      email: (address: string) => EMAIL.test(address),
      range: (value: number, min: number, max: number | undefined) => value >= min && (max === undefined || max === null || value <= max),
    },
  },
});
