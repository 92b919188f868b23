/**
 * Node module customization hooks (module.register) that make
 * `import greeter from 'plugin:greeter'` work: the specifier resolves to a
 * module of our own whose default export, and one named export per export
 * of the manifest, are what PluginManager.module() gives. They run on
 * Node's hooks thread; the main thread hands them, at registration, which
 * plugins export what (plugin-modules.ts).
 */
const PREFIX = 'plugin:';
const SCHEME = 'hst-plugin-module:';

let modules: Record<string, string[]> = {};

export function initialize(data: { modules: Record<string, string[]> }): void {
  modules = data.modules;
}

type Next<T> = (...args: any[]) => Promise<T>;

export async function resolve(specifier: string, context: unknown, next: Next<{ url: string }>): Promise<{ url: string; shortCircuit?: boolean }> {
  if (!specifier.startsWith(PREFIX)) return next(specifier, context);
  const name = specifier.slice(PREFIX.length);
  if (!Object.hasOwn(modules, name)) {
    throw new Error(`cannot import ${specifier}: no plugin of that name exports anything (plugins with exports: ${Object.keys(modules).join(', ') || 'none'})`);
  }
  return { url: `${SCHEME}${name}`, shortCircuit: true };
}

export async function load(url: string, context: unknown, next: Next<unknown>): Promise<unknown> {
  if (!url.startsWith(SCHEME)) return next(url, context);
  const name = url.slice(SCHEME.length);
  const names = modules[name] ?? [];
  const source = [
    `const m = await globalThis[Symbol.for('hst.pluginModule')](${JSON.stringify(PREFIX + name)});`,
    'export default m;',
    ...names.map((n) => `export const ${n} = m[${JSON.stringify(n)}];`),
  ].join('\n');
  return { format: 'module', source, shortCircuit: true };
}
