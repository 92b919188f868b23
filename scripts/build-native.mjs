#!/usr/bin/env node
// Compiles hst's sandbox launcher (native/hst-sandbox.c) into dist/native/
// with the machine's C compiler ($CC, default cc), as `npm install` builds
// better-sqlite3's addon. Without a compiler this is skipped with one line:
// hst then sandboxes with bubblewrap alone, and says so when neither exists.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(repo, 'native', 'hst-sandbox.c');
const target = join(repo, 'dist', 'native', 'hst-sandbox');

const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs;
if (process.platform !== 'linux') {
  console.log('hst-sandbox: not built (the launcher is for Linux)');
  process.exit(0);
}
if ((mtime(target) ?? 0) >= (mtime(source) ?? Infinity)) process.exit(0);

const cc = process.env.CC || 'cc';
mkdirSync(dirname(target), { recursive: true });
const partial = `${target}.${process.pid}`;
const result = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-o', partial, source], { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.error) {
  console.log(`hst-sandbox: not built (${cc}: ${result.error.code === 'ENOENT' ? 'no C compiler; apt-get install gcc' : result.error.message}); plugins need bubblewrap instead`);
  process.exit(0);
}
if (result.status !== 0) {
  console.log(`hst-sandbox: not built (${cc} exited with ${result.status}); plugins need bubblewrap instead`);
  process.exit(0);
}
renameSync(partial, target);
