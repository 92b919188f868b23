#!/usr/bin/env node
// Runs the compiled tests with node's test runner. Node 20 does not expand
// globs itself, so the files are listed here. `node scripts/test.mjs protocol`
// runs only the files whose path contains "protocol".
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const dist = join(root, 'dist');
const filters = process.argv.slice(2);

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'fixtures' ? [] : find(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}

const files = ['src', 'examples', 'test']
  .flatMap((d) => {
    try {
      return find(join(dist, d));
    } catch {
      return [];
    }
  })
  // Compiled output of a deleted test stays in dist/: run only tests whose source still exists.
  .filter((f) => ['.ts', '.tsx'].some((ext) => existsSync(join(root, relative(dist, f).replace(/\.js$/, ext)))))
  .filter((f) => filters.length === 0 || filters.some((flt) => relative(dist, f).includes(flt)))
  .sort();

if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '(all)'}; did the build run?`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
