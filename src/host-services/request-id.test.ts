import { it } from 'node:test';
import assert from 'node:assert/strict';
import { nextRequestId, requestIds } from './request-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The unix milliseconds a UUIDv7 carries in its first 48 bits. */
const millisOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

it('makes UUIDv7 ids that carry the time they were made, all different and in order', () => {
  const before = Date.now();
  const ids = Array.from({ length: 20_000 }, () => nextRequestId());
  const after = Date.now();
  for (const id of ids) assert.match(id, UUID_V7);
  assert.equal(new Set(ids).size, ids.length);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} then ${ids[i]}`);
  assert.ok(millisOf(ids[0]!) >= before && millisOf(ids.at(-1)!) <= after, `${ids[0]} .. ${ids.at(-1)} outside ${before}..${after}`);
});

it('keeps ids in order when the clock steps back, and moves to the next millisecond when one runs out of counter', () => {
  let now = 1_800_000_000_000;
  const next = requestIds({ clock: () => now, node: Buffer.from('a1b2c3d4e5f6', 'hex') });
  assert.deepEqual([next(), next()], ['01a3185c-5000-7000-8000-a1b2c3d4e5f6', '01a3185c-5000-7000-8001-a1b2c3d4e5f6']);
  now -= 5_000;
  const stepped = next();
  assert.equal(stepped, '01a3185c-5000-7000-8002-a1b2c3d4e5f6');
  now += 10_000;
  assert.equal(millisOf(next()), now);

  // The counter's bits: 12 in the third group, 14 after the variant in the fourth.
  const full = requestIds({ clock: () => now, node: Buffer.alloc(6), counterMax: 2 ** 26 - 1 });
  const ids = Array.from({ length: 0x4002 }, full);
  assert.deepEqual([ids[0x3fff], ids[0x4000], ids[0x4001]].map((id) => id!.slice(14, 23)), ['7000-bfff', '7001-8000', '7001-8001']);

  // A millisecond's counter used up: the next id takes the next millisecond, still in order.
  const small = requestIds({ clock: () => now, node: Buffer.alloc(6), counterMax: 2 });
  const run = [small(), small(), small(), small()];
  assert.deepEqual(run.map(millisOf), [now, now, now, now + 1]);
  assert.equal(run[3]!.slice(14, 23), '7000-8000');
  for (let i = 1; i < run.length; i++) assert.ok(run[i - 1]! < run[i]!);

  assert.throws(() => requestIds({ node: Buffer.alloc(5) }), /6 bytes/);
  assert.throws(() => requestIds({ counterMax: 2 ** 26 }), /at most/);
});
