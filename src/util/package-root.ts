/**
 * Where this hst package is, what of it a user is told to install, and where
 * Node finds an installed package. Every
 * compiled file of hst sits three directories below the package (dist/src/<dir>/,
 * and the bundle's dist/src/bundle/), so this holds wherever it is bundled.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Installs hst's Python SDK from this package, with every package it imports. */
export const PYTHON_SDK_INSTALL = `pip install ${join(packageRoot, 'sdk', 'python')}`;

/** Where Node resolves package `name` from `dir`: the first node_modules/<name> up from it. */
export function installedPackage(dir: string, name: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(at) === at) return undefined;
  }
}
