import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { decodeMessage, encodeMessage, encodeMessageParts, handOver } from './codec.js';
import type { MessageType } from './definition.js';

/** A message written as a list of fields of the kinds generated encoders write, and a throw when asked. */
type Field = { bytes: Uint8Array } | { double: number } | { fixed64: bigint } | { text: string } | { nested: Field[] } | { fail: true };

function write(fields: Field[], w: BinaryWriter): BinaryWriter {
  fields.forEach((f, i) => {
    const tag = i + 1;
    if ('bytes' in f) w.uint32((tag << 3) | 2).bytes(f.bytes);
    else if ('double' in f) w.uint32((tag << 3) | 1).double(f.double);
    else if ('fixed64' in f) w.uint32((tag << 3) | 1).fixed64(f.fixed64);
    else if ('text' in f) w.uint32((tag << 3) | 2).string(f.text);
    else if ('nested' in f) write(f.nested, w.uint32((tag << 3) | 2).fork()).join();
    else throw new Error('asked to fail');
  });
  return w;
}

const Fields: MessageType<Field[]> = {
  encode: (fields, writer = new BinaryWriter()) => write(fields, writer),
  decode: () => [],
  fromPartial: (object: Field[]) => object,
};

const plain = (fields: Field[]) => Buffer.from(write(fields, new BinaryWriter()).finish());
const bytesOf = (size: number, fill: number) => new Uint8Array(size).fill(fill);

const messages: Field[][] = [
  [{ text: 'small' }, { double: 1.5 }],
  // Large enough to leave in the writer's own buffer, with fixed-width fields written through its DataView after it grew.
  [{ bytes: bytesOf(200_000, 1) }, { double: -2.25 }, { fixed64: 1n << 60n }],
  [{ fixed64: 9n }, { double: 3.75 }, { nested: [{ text: 'é'.repeat(300) }, { bytes: bytesOf(70_000, 2) }] }],
  // Past the size a writer keeps, then small again: the view must follow each new buffer.
  [{ bytes: bytesOf(5 * 1024 * 1024, 3) }, { double: 4.5 }],
  [{ double: 5.5 }, { fixed64: 11n }, { text: 'after' }],
  [{ bytes: bytesOf(100_000, 4) }, { fixed64: 12n }],
];

it('writes what a fresh writer writes, message after message, small and large', () => {
  for (const fields of messages) assert.ok(Buffer.from(encodeMessage(Fields, fields)).equals(plain(fields)));
});

it('gives each caller bytes of its own: later messages never change earlier ones', () => {
  const outputs = messages.map((fields) => encodeMessage(Fields, fields));
  const copies = outputs.map((out) => Buffer.from(out));
  for (const fields of messages) encodeMessage(Fields, fields);
  outputs.forEach((out, i) => assert.ok(Buffer.from(out).equals(copies[i] as Buffer), `message ${i} changed`));
  assert.ok(copies.every((copy, i) => copy.equals(plain(messages[i] as Field[]))));
});

it('starts clean after an encoder throws halfway, even inside a nested message', () => {
  assert.throws(() => encodeMessage(Fields, [{ bytes: bytesOf(100_000, 5) }, { nested: [{ text: 'x' }, { fail: true }] }]), /asked to fail/);
  const next: Field[] = [{ text: 'next' }, { double: 6.5 }];
  assert.ok(Buffer.from(encodeMessage(Fields, next)).equals(plain(next)));
});

describe('a message in parts', () => {
  const joined = (parts: Uint8Array | Uint8Array[]) => Buffer.concat(Array.isArray(parts) ? parts : [parts]);
  const handed = (size: number, fill: number) => {
    const bytes = bytesOf(size, fill);
    handOver(bytes);
    return bytes;
  };

  it('sends a large bytes field handed over from where it lies, the rest around it as written', () => {
    const big = handed(100_000, 6);
    const other = handed(40_000, 7);
    const fields: Field[] = [{ text: 'before' }, { bytes: big }, { double: 7.5 }, { bytes: other }];
    const parts = encodeMessageParts(Fields, fields);
    assert.ok(Array.isArray(parts));
    assert.ok(joined(parts).equals(plain(fields)));
    assert.ok(parts.includes(big) && parts.includes(other), 'the handed-over fields are parts of their own, not copies');
  });

  it('references smaller fields where the transport asks (the native one copies parts into its frames once)', () => {
    const field = handed(4096, 13);
    const fields: Field[] = [{ text: 'path' }, { bytes: field }];
    const parts = encodeMessageParts(Fields, fields, 1024);
    assert.ok(Array.isArray(parts) && parts.includes(field));
    assert.ok(joined(parts).equals(plain(fields)));
    assert.ok(!Array.isArray(encodeMessageParts(Fields, fields)), 'referenced below the default size');
  });

  it('copies what was not handed over, what is small, and what lies inside a nested message', () => {
    const small = handed(1000, 8);
    const cases: Field[][] = [
      [{ bytes: bytesOf(100_000, 9) }, { double: 8.5 }],
      [{ bytes: small }, { text: 'x' }],
      [{ text: 'outer' }, { nested: [{ bytes: handed(100_000, 10) }, { fixed64: 3n }] }],
    ];
    for (const fields of cases) {
      const parts = encodeMessageParts(Fields, fields);
      assert.ok(!Array.isArray(parts), 'one buffer');
      assert.ok(Buffer.from(parts).equals(plain(fields)));
    }
  });

  it('may send back the bytes of a received message as they came', () => {
    const received = Buffer.from(plain([{ bytes: bytesOf(50_000, 11) }]));
    const echo: MessageType<Uint8Array> = {
      encode: (payload, w = new BinaryWriter()) => w.uint32(10).bytes(payload),
      decode: (bytes) => bytes.subarray(bytes.length - 50_000),
      fromPartial: (payload: Uint8Array) => payload,
    };
    const payload = decodeMessage(echo, received);
    const parts = encodeMessageParts(echo, payload);
    assert.ok(Array.isArray(parts) && parts.includes(payload));
    assert.ok(joined(parts).equals(received));
  });

  it('starts clean after an encoder throws with a field already referenced', () => {
    assert.throws(() => encodeMessageParts(Fields, [{ bytes: handed(100_000, 12) }, { fail: true }]), /asked to fail/);
    const next: Field[] = [{ text: 'next' }, { double: 9.5 }];
    const parts = encodeMessageParts(Fields, next);
    assert.ok(!Array.isArray(parts) && Buffer.from(parts).equals(plain(next)));
  });
});
