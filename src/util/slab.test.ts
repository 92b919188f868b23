import { it } from 'node:test';
import assert from 'node:assert/strict';
import { allocFromSlab, SLAB_MAX_BYTES } from './slab.js';

it('gives buffers that never overlap, each of the size asked, large ones memory of their own', () => {
  const sizes = [1, 4097, 0, 7, SLAB_MAX_BYTES, 100, SLAB_MAX_BYTES + 1, 3, 65_000, 65_000, 65_000, 9];
  const buffers = sizes.map((size, i) => allocFromSlab(size).fill(i));
  buffers.forEach((b, i) => {
    assert.equal(b.length, sizes[i]);
    assert.ok(b.every((byte) => byte === i), `buffer ${i} was written over`);
    assert.equal(b.byteOffset % 8, 0);
  });
  assert.equal(buffers[6]?.buffer.byteLength, SLAB_MAX_BYTES + 1);
});
