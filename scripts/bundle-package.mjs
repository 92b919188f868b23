#!/usr/bin/env node
// Bundles the package's entry points (hst, hst/plugin, hst/host) from tsc's
// output into dist/src/bundle/, in one esbuild run so the three share chunks
// and a class is one class whichever entry it came through. An application
// importing hst/host then loads a few files instead of ~100, and
// @bufbuild/protobuf's wire encoding without the reflection runtime its index
// also pulls in (~10 MiB of a host's memory together). What loads on demand
// (grpc-js's transport, AutoMTLS, the manifest parser) stays in its own chunk.
// Dependencies stay external: they are installed beside hst and an
// application may share them.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const src = join(root, 'dist', 'src');
// The bundle sits where tsc's files do, two levels under dist/: paths the
// code finds relative to itself (the sandbox launcher, the package root) hold.
const outdir = join(src, 'bundle');
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const inlined = new Set(['@bufbuild/protobuf', 'picomatch', 'uuid']);

rmSync(outdir, { recursive: true, force: true });
await build({
  // module-hooks runs on Node's hooks thread, loaded by URL next to the bundle (src/manager/plugin-modules.ts).
  entryPoints: { index: join(src, 'index.js'), plugin: join(src, 'plugin', 'index.js'), host: join(src, 'host', 'index.js'), 'module-hooks': join(src, 'manager', 'module-hooks.js') },
  outdir,
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(dependencies).filter((name) => !inlined.has(name)),
  sourcemap: true,
  logLevel: 'warning',
});
