/** PluginManagers for tests: each in a data directory of its own, quiet, without health checks. */
import { join } from 'node:path';
import { MemoryLogger } from '../../src/log.js';
import { PluginManager, type PluginManagerOptions } from '../../src/manager/manager.js';

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
