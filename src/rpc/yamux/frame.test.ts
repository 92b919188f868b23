import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeHeader, Flag, FrameDecoder, FrameType, HEADER_BYTES, YamuxProtocolError, type FrameHeader } from './frame.js';
import { seededRandom } from '../../../test/support/assertions.js';

interface Decoded extends FrameHeader {
  payload?: Buffer;
}

function frame(type: FrameType, flags: number, stream: number, lengthOrPayload: number | Buffer): { wire: Buffer; frame: Decoded } {
  if (typeof lengthOrPayload === 'number') {
    return { wire: encodeHeader(type, flags, stream, lengthOrPayload), frame: { type, flags, stream, length: lengthOrPayload } };
  }
  const payload = lengthOrPayload;
  return {
    wire: Buffer.concat([encodeHeader(type, flags, stream, payload.length), payload]),
    frame: { type, flags, stream, length: payload.length, ...(payload.length > 0 ? { payload } : {}) },
  };
}

/** Frames of every kind, with payloads of `sizes`. */
function sample(sizes: number[]): { wire: Buffer; frames: Decoded[] } {
  const parts = [
    frame(FrameType.WindowUpdate, Flag.SYN, 1, 0),
    frame(FrameType.Data, 0, 1, Buffer.alloc(0)),
    ...sizes.map((n, i) => frame(FrameType.Data, i % 2 ? Flag.FIN : 0, 2 * i + 1, randomBytes(n))),
    frame(FrameType.Ping, Flag.SYN, 0, 0xffff_ffff),
    frame(FrameType.WindowUpdate, Flag.ACK | Flag.FIN | Flag.RST, 0xffff_fffe, 262_144),
    frame(FrameType.GoAway, 0, 0, 2),
  ];
  return { wire: Buffer.concat(parts.map((p) => p.wire)), frames: parts.map((p) => p.frame) };
}

/** Decodes `chunks` in order, reassembling payloads and checking that `last` marks exactly each frame's final piece. */
function decode(chunks: Iterable<Buffer>): Decoded[] {
  const out: Decoded[] = [];
  let pieces: Buffer[] = [];
  let left = 0;
  const decoder = new FrameDecoder({
    header(h) {
      assert.equal(left, 0, 'a header arrived inside a payload');
      out.push({ ...h });
      left = h.type === FrameType.Data ? h.length : 0;
    },
    payload(piece, last) {
      assert.ok(piece.length > 0, 'empty payload piece');
      left -= piece.length;
      assert.equal(last, left === 0, `last=${last} with ${left} bytes to come`);
      pieces.push(piece);
      if (last) {
        out.at(-1)!.payload = Buffer.concat(pieces);
        pieces = [];
      }
    },
  });
  for (const chunk of chunks) decoder.push(chunk);
  assert.equal(left, 0, 'input ended inside a payload');
  return out;
}

function* randomSplits(wire: Buffer, next: (n: number) => number, maxPiece: number): Generator<Buffer> {
  for (let at = 0; at < wire.length; ) {
    // Mostly small pieces (headers split every way), sometimes large ones (many frames at once).
    const n = 1 + (next(4) === 0 ? next(maxPiece) : next(40));
    yield wire.subarray(at, at + n);
    at += n;
  }
}

describe('yamux frames', () => {
  it('encodes the header big-endian: version, type, flags, stream, length', () => {
    const h = encodeHeader(FrameType.WindowUpdate, Flag.SYN | Flag.RST, 0x01020304, 0xa0b0c0d0);
    assert.equal(h.length, HEADER_BYTES);
    assert.deepEqual([...h], [0, 1, 0, 9, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0]);
  });

  it('decodes many frames from one chunk', () => {
    const { wire, frames } = sample([1, 100, 70_000]);
    assert.deepEqual(decode([wire]), frames);
  });

  it('decodes byte by byte, across a 2 MiB payload', () => {
    const { wire, frames } = sample([3, 2 * 1024 * 1024, 13]);
    function* bytes(): Generator<Buffer> {
      for (let i = 0; i < wire.length; i++) yield wire.subarray(i, i + 1);
    }
    assert.deepEqual(decode(bytes()), frames);
  });

  it('decodes under random splits (seeded, 300 runs)', () => {
    const { wire, frames } = sample([0, 1, 11, 12, 13, 4096, 65_535, 65_536, 65_537, 300_000]);
    for (let seed = 1; seed <= 300; seed++) {
      assert.deepEqual(decode(randomSplits(wire, seededRandom(seed), 200_000)), frames, `seed ${seed}`);
    }
  });

  it('decodes multi-MiB payloads under random splits', () => {
    const { wire, frames } = sample([3 * 1024 * 1024, 5 * 1024 * 1024 + 7]);
    for (let seed = 1; seed <= 5; seed++) {
      assert.deepEqual(decode(randomSplits(wire, seededRandom(seed), 1 << 20)), frames, `seed ${seed}`);
    }
  });

  it('hands payloads on as views of the input, without copying', () => {
    const { wire } = sample([1000]);
    const seen: Buffer[] = [];
    new FrameDecoder({ header() {}, payload: (piece) => void seen.push(piece) }).push(wire);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.buffer, wire.buffer);
  });

  it('rejects an unknown version or frame type, even when the header is split', () => {
    const sink = { header() {}, payload() {} };
    const badVersion = encodeHeader(FrameType.Ping, 0, 0, 0);
    badVersion[0] = 1;
    const decoder = new FrameDecoder(sink);
    decoder.push(badVersion.subarray(0, 5));
    assert.throws(() => decoder.push(badVersion.subarray(5)), (e) => e instanceof YamuxProtocolError && /unsupported version 1/.test(e.message));
    const badType = encodeHeader(4 as FrameType, 0, 0, 0);
    assert.throws(() => new FrameDecoder(sink).push(badType), /yamux: protocol error: unknown frame type 4/);
  });
});
