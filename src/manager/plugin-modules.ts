/**
 * `import greeter from 'plugin:greeter'`: after importablePlugins(manager),
 * the application imports the plugins' exports (manifest `exports:`) as
 * JavaScript modules. Each export's name must be a JavaScript identifier
 * (the manifest checks), so it can be a named export too.
 */
import { register } from 'node:module';
import type { PluginManager } from './manager.js';
import type { PluginInfo } from './plugin-info.js';
import { Code, RpcError } from '../rpc/status.js';

let registered = false;

/**
 * Discovers the manager's plugins and lets `import` load every one that
 * exports something, through this manager (its allowlist applies). A plugin
 * found by its name is started and asked for its exports now, so that they
 * can be named imports too; when it cannot be, the returned warnings say
 * why, and importing it gives the reason.
 * One manager per process: a second call throws.
 */
export async function importablePlugins(manager: PluginManager): Promise<{ warnings: string[] }> {
  // Node's hooks are added, never removed: a second registration would resolve first with stale names.
  if (registered) throw new Error('importablePlugins() was already called in this process');
  registered = true;
  const { plugins } = await manager.discover();
  const warnings: string[] = [];
  const exportNames = async (p: PluginInfo): Promise<string[] | undefined> => {
    if (!p.foundByName) return p.exports.length > 0 ? p.exports.map((e) => e.name) : undefined;
    if (p.status === 'invalid' || p.status === 'unavailable') return undefined;
    try {
      return (await manager.moduleExports(p.name)).map((e) => e.name);
    } catch (err) {
      if (!(err instanceof RpcError && err.code === Code.PERMISSION_DENIED)) warnings.push(`plugin:${p.name} has no named exports: ${(err as Error).message}`);
      // Still importable by name: the import then fails with the reason (the allowlist, its start).
      return [];
    }
  };
  const listed = await Promise.all(plugins.map(async (p) => [p.name, await exportNames(p)] as const));
  const modules = Object.fromEntries(listed.filter((entry): entry is readonly [string, string[]] => entry[1] !== undefined));
  (globalThis as Record<symbol, unknown>)[Symbol.for('hst.pluginModule')] = (id: string) => manager.module(id);
  register(new URL('./module-hooks.js', import.meta.url), { data: { modules } });
  return { warnings };
}
