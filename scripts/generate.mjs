#!/usr/bin/env node
// Regenerates the TypeScript for every proto root with buf (from npm) and
// ts-proto. `node scripts/generate.mjs [outRoot]` writes below outRoot
// instead of the repository, which is how the staleness test compares.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outRoot = resolve(process.argv[2] ?? repo);

/** Each proto root, the files in it we compile, and where its code goes. */
export const protoRoots = [
  { input: 'proto', out: 'src/gen' },
  { input: 'node_modules/grpc-health-check/proto', out: 'src/gen/grpc' },
  {
    input: 'node_modules/@grpc/reflection/build/proto',
    paths: ['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'],
    out: 'src/gen',
  },
  { input: 'examples/kv/proto', out: 'examples/kv/gen' },
  { input: 'examples/bidirectional/proto', out: 'examples/bidirectional/gen' },
  { input: 'examples/notes/proto', out: 'examples/notes/gen' },
  { input: 'test/proto', out: 'test/gen' },
  { input: 'bench/proto', out: 'bench/gen' },
];

const buf = join(repo, 'node_modules', '.bin', 'buf');
for (const root of new Set(protoRoots.map((r) => r.out))) {
  rmSync(join(outRoot, root), { recursive: true, force: true });
}
for (const { input, paths = [], out } of protoRoots) {
  const target = join(outRoot, out);
  mkdirSync(target, { recursive: true });
  const pathArgs = paths.flatMap((p) => ['--path', join(input, p)]);
  execFileSync(buf, ['generate', input, ...pathArgs, '--template', 'buf.gen.yaml', '-o', target], {
    cwd: repo,
    stdio: 'inherit',
  });
}

// Go code for the hst protos, for Go plugins; skipped (with a note) without Go.
if (spawnSync('go', ['version']).status === 0) {
  execFileSync('bash', [join(repo, 'interop', 'go', 'generate.sh'), outRoot], { stdio: 'inherit' });
} else {
  console.error('Go is not installed: sdk/go/gen and interop/go/gen were not regenerated');
}
