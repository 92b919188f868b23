/**
 * `import greeter from 'plugin:greeter'`: after importablePlugins(manager),
 * the application imports the plugins' exports (manifest `exports:`) as
 * JavaScript modules. Each export's name must be a JavaScript identifier
 * (the manifest checks), so it can be a named export too.
 */
import { register } from 'node:module';
import type { PluginManager } from './manager.js';

let registered = false;

/**
 * Discovers the manager's plugins and lets `import` load every one that
 * exports something, through this manager (its allowlist applies). One
 * manager per process: a second call throws.
 */
export async function importablePlugins(manager: PluginManager): Promise<void> {
  // Node's hooks are added, never removed: a second registration would resolve first with stale names.
  if (registered) throw new Error('importablePlugins() was already called in this process');
  registered = true;
  const { plugins } = await manager.discover();
  const modules = Object.fromEntries(plugins.filter((p) => p.exports.length > 0).map((p) => [p.name, p.exports.map((e) => e.name)]));
  (globalThis as Record<symbol, unknown>)[Symbol.for('hst.pluginModule')] = (id: string) => manager.module(id);
  register(new URL('./module-hooks.js', import.meta.url), { data: { modules } });
}
