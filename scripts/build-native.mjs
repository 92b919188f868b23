#!/usr/bin/env node
// Compiles hst's native pieces into dist/native/ with the machine's C compiler
// ($CC, default cc), as `npm install` builds better-sqlite3's addon: the
// sandbox launcher (native/hst-sandbox.c) and the openat addon
// (native/hst-fs.c). Without a compiler each is skipped with one line saying
// what hst does instead.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const headers = join(dirname(process.execPath), '..', 'include', 'node');
const natives = [
  {
    name: 'hst-sandbox',
    source: join(repo, 'native', 'hst-sandbox.c'),
    target: join(repo, 'dist', 'native', 'hst-sandbox'),
    flags: [],
    without: 'plugins need bubblewrap instead',
  },
  {
    name: 'hst-fs',
    source: join(repo, 'native', 'hst-fs.c'),
    target: join(repo, 'dist', 'native', 'hst-fs.node'),
    // Node-API symbols are resolved against the running node when the addon loads.
    flags: ['-shared', '-fPIC', '-I', headers],
    needs: () => (existsSync(join(headers, 'node_api.h')) ? undefined : `no Node-API headers in ${headers}`),
    without: 'file host services open names through /proc instead (slower, same checks)',
  },
];

const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs;
if (process.platform !== 'linux') {
  console.log('hst-sandbox, hst-fs: not built (they are for Linux)');
  process.exit(0);
}
const cc = process.env.CC || 'cc';
for (const { name, source, target, flags, needs, without } of natives) {
  if ((mtime(target) ?? 0) >= (mtime(source) ?? Infinity)) continue;
  const missing = needs?.();
  if (missing) {
    console.log(`${name}: not built (${missing}); ${without}`);
    continue;
  }
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}`;
  const result = spawnSync(cc, ['-O2', '-Wall', '-Wextra', ...flags, '-o', partial, source], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) {
    console.log(`${name}: not built (${cc}: ${result.error.code === 'ENOENT' ? 'no C compiler; apt-get install gcc' : result.error.message}); ${without}`);
    continue;
  }
  if (result.status !== 0) {
    console.log(`${name}: not built (${cc} exited with ${result.status}); ${without}`);
    continue;
  }
  renameSync(partial, target);
}
