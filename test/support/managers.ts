/** PluginManagers for tests: each in a data directory of its own, quiet, without health checks. */
import { join } from 'node:path';
import { MemoryLogger } from '../../src/log.js';
import { PluginManager, type PluginManagerOptions } from '../../src/manager/manager.js';
import assert from 'node:assert/strict';

/** A maker of managers over `pluginsDir`, each with a fresh `<scratch>/data-<n>`; `defaults` and then each call's options win. */
export function managerFactory(pluginsDir: string, scratch: string, defaults: PluginManagerOptions = {}): (options?: PluginManagerOptions) => PluginManager {
  let made = 0;
  return (options = {}) =>
    new PluginManager({
      pluginDirs: [pluginsDir],
      dataDir: join(scratch, `data-${++made}`),
      logger: new MemoryLogger(),
      health: { intervalMs: 0 },
      ...defaults,
      ...options,
    });
}

/** Runs a plugin's command to its end: its result, and its output joined. */
export async function commandResult(m: PluginManager, plugin: string, name: string, args: Record<string, string>): Promise<{ value: any; exitCode: number; output: string }> {
  let output = '';
  let result: { value: unknown; exitCode: number } | undefined;
  for await (const event of m.runCommand(plugin, name, args)) {
    if ('output' in event) output += event.output;
    if ('result' in event) result = event.result;
  }
  assert.ok(result, `${plugin} ${name}: no result`);
  return { value: result.value, exitCode: result.exitCode, output };
}
