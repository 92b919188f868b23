#!/usr/bin/env node
// Regenerates the TypeScript for every proto root with buf (from npm) and
// ts-proto. `node scripts/generate.mjs [outRoot]` writes below outRoot
// instead of the repository, which is how the staleness test compares.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// ts-proto gives every empty bytes field a fresh `new Uint8Array(0)`, an
// ArrayBuffer of its own at ~200 ns, on every decode and every fromPartial of
// a message with a bytes field (servers encode replies through fromPartial):
// a measurable share of a small call. One frozen empty array per file serves
// them all, as nothing can be written into it. ts-proto has no option for this.
const EMPTY_BYTES_DECLARATION = ['/** Every empty bytes field (scripts/generate.mjs). */', 'const EMPTY_BYTES: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;'];
function shareEmptyBytes(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath ?? entry.path, entry.name);
    const text = readFileSync(file, 'utf8');
    if (!text.includes('new Uint8Array(0)')) continue;
    const lines = text.replaceAll('new Uint8Array(0)', 'EMPTY_BYTES').split('\n');
    const lastImport = lines.findLastIndex((line) => line.startsWith('import '));
    if (lastImport < 0) throw new Error(`${file}: no import to put EMPTY_BYTES after`);
    lines.splice(lastImport + 1, 0, '', ...EMPTY_BYTES_DECLARATION);
    writeFileSync(file, lines.join('\n'));
  }
}
for (const root of new Set(protoRoots.map((r) => r.out))) shareEmptyBytes(join(outRoot, root));

// Go code for the hst protos, for Go plugins; skipped (with a note) without Go.
if (spawnSync('go', ['version']).status === 0) {
  execFileSync('bash', [join(repo, 'interop', 'go', 'generate.sh'), outRoot], { stdio: 'inherit' });
} else {
  console.error('Go is not installed: sdk/go/gen and interop/go/gen were not regenerated');
}
