/**
 * Where this hst package is, what of it a user is told to install, and where
 * Node finds an installed package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How far up from a compiled file the package can be: a bundle of hst's sources made elsewhere (the benchmark's runner) sits deeper than dist/src/<dir>/. */
const MAX_DEPTH = 5;

/**
 * The nearest directory up whose package.json is hst's. Every compiled file
 * of hst, the package's bundle included, sits three directories below it
 * (dist/src/<dir>/), which is where it is taken to be if no package.json says so.
 */
function findPackageRoot(from: string): string {
  for (let at = from, depth = 0; depth <= MAX_DEPTH; depth++, at = dirname(at)) {
    try {
      if ((JSON.parse(readFileSync(join(at, 'package.json'), 'utf8')) as { name?: unknown }).name === 'hst') return at;
    } catch {
      // no package.json here, or not one Node could read: look further up
    }
  }
  return join(from, '..', '..', '..');
}

export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

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
