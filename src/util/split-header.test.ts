import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SplitHeader } from './split-header.js';

describe('SplitHeader', () => {
  it('reads a header within one read where it lies, and gathers one split across reads', () => {
    const header = new SplitHeader(4);
    const read = Buffer.from('xxABCDyy');
    assert.equal(header.take(read, 2, read.length), 6);
    assert.equal(header.source, read);
    assert.equal(header.source.toString('latin1', header.offset, header.offset + 4), 'ABCD');

    const pieces = [Buffer.from('zE'), Buffer.from('F'), Buffer.from('GHrest')];
    assert.equal(header.take(pieces[0] as Buffer, 1, 2), -1);
    assert.equal(header.take(pieces[1] as Buffer, 0, 1), -1);
    assert.equal(header.take(pieces[2] as Buffer, 0, 6), 2, 'the bytes after the header begin where its last piece ended');
    assert.equal(header.source.toString('latin1', header.offset, header.offset + 4), 'EFGH');
    // The next header starts clean.
    assert.equal(header.take(Buffer.from('IJKL'), 0, 4), 4);
    assert.equal(header.source.toString('latin1', header.offset, header.offset + 4), 'IJKL');
  });
});
