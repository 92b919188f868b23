import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs } from './make-dirs.js';

it('makes every missing level with the mode, accepts what exists, and fails where Node would spin', () => {
  const base = mkdtempSync(join(tmpdir(), 'hst-make-dirs-'));
  try {
    makeDirs(join(base, 'a', 'b', 'c'), 0o700);
    assert.equal(statSync(join(base, 'a', 'b', 'c')).mode & 0o777, 0o700);
    makeDirs(join(base, 'a', 'b'));
    writeFileSync(join(base, 'file'), '');
    assert.throws(() => makeDirs(join(base, 'file', 'x')), /ENOTDIR/);
    // /proc answers ENOENT under an existing parent: Node's recursive mkdir loops on it forever.
    assert.throws(() => makeDirs('/proc/hst-data/x'), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
