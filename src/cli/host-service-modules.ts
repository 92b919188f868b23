/**
 * `--host-services <file>`: host services an application adds, loaded from a
 * JavaScript module whose default export is one module made with
 * `hostService({...})` or a list of them (docs/extending-host-services.md),
 * and served by every PluginManager the CLI makes.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { allHostServices } from '../host-services/catalog.js';
import { admitModules, type HostServiceModule } from '../host-services/operation.js';
import { UsageError } from './output.js';

let loaded: HostServiceModule<any>[] = [];

function isModule(value: unknown): value is HostServiceModule<any> {
  const m = value as Partial<HostServiceModule<any>> | null;
  return typeof m === 'object' && m !== null && typeof m.definition?.fullName === 'string' && typeof m.operations === 'object' && typeof m.create === 'function';
}

/** Imports each file once, before the command runs; a file that is missing or exports something else is a usage error naming it. */
export async function loadHostServiceModules(files: readonly string[]): Promise<void> {
  const modules: HostServiceModule<any>[] = [];
  for (const file of files) {
    let exported: { default?: unknown };
    try {
      exported = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
    } catch (err) {
      throw new UsageError(`--host-services ${file}: ${(err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'no such module' : (err as Error).message}`);
    }
    const found = Array.isArray(exported.default) ? exported.default : [exported.default];
    if (found.length === 0 || !found.every(isModule)) {
      throw new UsageError(`--host-services ${file}: its default export is not a host service module (made with hostService({ definition, operations, create })) or a list of them`);
    }
    modules.push(...found);
  }
  // Checked now, and their capability kinds defined, so that manifests asking for them validate in every command.
  try {
    admitModules([...allHostServices, ...modules]);
  } catch (err) {
    throw new UsageError(`--host-services: ${(err as Error).message}`);
  }
  loaded = modules;
}

/** PluginManager options with what --host-services loaded, if anything. */
export function withHostServices(): { hostServices?: HostServiceModule<any>[] } {
  return loaded.length > 0 ? { hostServices: loaded } : {};
}
