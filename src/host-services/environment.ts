/**
 * Environment: reads the variables the host chose to expose (host.env), never
 * the host process's own environment unless the host passed it on.
 */
import { EnvironmentDefinition } from '../gen/hst/host/v1/environment.js';
import { invalid } from './errors.js';
import { hostService } from './operation.js';

/** `$NAME` (a shell-style name) or `${ANYTHING}`; `$` followed by anything else is literal. */
const REFERENCE = /\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([^}]*)(\})?)/g;

function checkName(operation: string, name: string): string {
  if (name === '' || name.includes('=') || name.includes('\0')) {
    throw invalid(`Environment/${operation} ${JSON.stringify(name)}: a variable name must be non-empty, without "=" or NUL`);
  }
  return name;
}

/** The variable names `text` refers to, in order of first use; throws on a malformed `${`. */
function references(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(REFERENCE)) {
    const name = m[1] ?? m[2] ?? '';
    if (m[1] === undefined && m[3] === undefined) throw invalid(`Environment/ExpandEnv: unterminated "\${" at offset ${m.index}`);
    checkName('ExpandEnv', name);
    names.add(name);
  }
  return [...names];
}

export const environmentService = hostService({
  definition: EnvironmentDefinition,
  operations: {
    getEnv: { capability: 'env', resource: (r) => r.name },
    lookupEnv: { capability: 'env', resource: (r) => r.name },
    listEnv: { capability: 'env', resource: (r) => r.prefix || '*' },
    expandEnv: { capability: 'env', resource: (r) => references(r.text).join(',') },
    // Discloses nothing but the constant ".", so it names no variable.
    workingDir: { capability: 'env', resource: () => '.' },
  },
  create: (_caller, host) => {
    const env = host.env;
    const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined);
    return {
      getEnv: ({ name }) => ({ value: lookup(checkName('GetEnv', name)) ?? '' }),
      lookupEnv: ({ name }) => {
        const value = lookup(checkName('LookupEnv', name));
        return { value: value ?? '', found: value !== undefined };
      },
      listEnv: ({ prefix }) => {
        if (prefix.includes('=') || prefix.includes('\0')) throw invalid(`Environment/ListEnv ${JSON.stringify(prefix)}: a prefix must not contain "=" or NUL`);
        const names = Object.keys(env)
          .filter((name) => name.startsWith(prefix))
          .sort();
        const kept = names.slice(0, host.limits.maxEntries);
        return { variables: kept.map((name) => ({ name, value: env[name] })), truncated: kept.length < names.length };
      },
      expandEnv: ({ text }) => {
        references(text);
        return { text: text.replace(REFERENCE, (_m, bare: string | undefined, braced: string | undefined) => lookup(bare ?? braced ?? '') ?? '') };
      },
      workingDir: () => ({ path: '.' }),
    };
  },
});
