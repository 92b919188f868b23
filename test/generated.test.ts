/**
 * Generated code is committed and never edited by hand: regenerate into a
 * scratch directory and require the committed files to match exactly.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { goPeers, inTempDir, repo } from './support/peers.js';
import { ReadFileResponse, WriteFileRequest } from '../src/gen/hst/host/v1/filesystem.js';

// The Go code needs Go to regenerate; goPeers() fails in CI when Go is missing.
const outputs = ['src/gen', 'examples/kv/gen', 'examples/bidirectional/gen', 'test/gen', 'bench/gen', ...('bin' in goPeers() ? ['sdk/go/gen', 'interop/go/gen'] : [])];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

it('the committed code generated from the protos is up to date', () =>
  inTempDir(async (scratch) => {
    execFileSync(process.execPath, [join(repo, 'scripts', 'generate.mjs'), scratch], { cwd: repo, stdio: 'pipe' });
    const stale: string[] = [];
    for (const out of outputs) {
      const fresh = files(join(scratch, out)).map((f) => relative(scratch, f));
      const committed = files(join(repo, out)).map((f) => relative(repo, f));
      for (const f of new Set([...fresh, ...committed])) {
        const a = fresh.includes(f) ? readFileSync(join(scratch, f), 'utf8') : '<missing>';
        const b = committed.includes(f) ? readFileSync(join(repo, f), 'utf8') : '<missing>';
        if (a !== b) stale.push(f);
      }
    }
    assert.deepEqual(stale, [], `stale generated files (run npm run generate): ${stale.join(', ')}`);
  }));

it('empty bytes fields share one frozen empty array, and a message still carries its own bytes', () => {
  const decoded = ReadFileResponse.decode(new Uint8Array(0));
  const partial = WriteFileRequest.fromPartial({ path: 'a' });
  assert.equal(decoded.data.length, 0);
  assert.equal(decoded.data, partial.data);
  assert.ok(Object.isFrozen(decoded.data));
  const data = Uint8Array.of(1, 2, 3);
  assert.deepEqual(ReadFileResponse.decode(ReadFileResponse.encode({ data }).finish()).data, data);
  assert.equal(ReadFileResponse.fromPartial({ data }).data, data);
});
