import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../test/support/assertions.js';
import { StreamTable } from './stream-table.js';

interface FakeStream {
  readonly id: number;
}

describe('StreamTable', () => {
  it('finds, adds and deletes as a Map does under random traffic of both sides (seeded, 50 runs)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const random = seededRandom(seed);
      const table = new StreamTable<FakeStream>();
      const model = new Map<number, FakeStream>();
      const next = [1, 2];
      for (let op = 0; op < 4_000; op++) {
        const r = random(100);
        if (r < 50 || model.size === 0) {
          const side = random(2);
          const stream = { id: next[side] as number };
          next[side] = stream.id + 2;
          table.add(stream);
          model.set(stream.id, stream);
        } else {
          // Mostly the oldest open stream, sometimes any: calls finish roughly in order.
          const ids = [...model.keys()];
          const id = r < 90 ? (ids[0] as number) : (ids[random(ids.length)] as number);
          table.delete(id);
          model.delete(id);
        }
        const probe = random(Math.max(next[0] as number, next[1] as number)) + 1;
        assert.equal(table.get(probe), model.get(probe), `seed ${seed}, op ${op}, id ${probe}`);
      }
      assert.equal(table.size, model.size, `seed ${seed}`);
      assert.deepEqual(new Set(table.values()), new Set(model.values()), `seed ${seed}`);
      table.clear();
      assert.equal(table.size, 0);
      for (const id of model.keys()) assert.equal(table.get(id), undefined);
    }
  });

  it('grows to hold 128 calls in flight in its slots, and keeps them all through the growth', () => {
    const table = new StreamTable<FakeStream>();
    const open: FakeStream[] = [];
    for (let id = 2; open.length < 128; id += 2) {
      const s = { id };
      table.add(s);
      open.push(s);
    }
    assert.ok(table.capacity >= 256, `capacity ${table.capacity}`);
    for (const s of open) assert.equal(table.get(s.id), s);
    assert.equal(table.size, 128);
  });

  it('does not grow for one long-lived stream that each lap of ids meets', () => {
    const table = new StreamTable<FakeStream>();
    const lasting = { id: 1 };
    table.add(lasting);
    const inFlight: FakeStream[] = [];
    for (let id = 3; id < 200_000; id += 2) {
      const s = { id };
      table.add(s);
      inFlight.push(s);
      if (inFlight.length > 8) table.delete((inFlight.shift() as FakeStream).id);
      assert.equal(table.get(id), s);
    }
    assert.equal(table.get(1), lasting);
    assert.equal(table.size, 1 + inFlight.length);
    assert.equal(table.capacity, 64);
  });

  it('keeps streams that met a taken slot when it grows', () => {
    const table = new StreamTable<FakeStream>();
    // 1 and 129 share a slot at 64 and at 128 slots: 129 goes to the Map, and stays there through the growth.
    const lasting = [{ id: 1 }, { id: 129 }];
    table.add(lasting[0] as FakeStream);
    for (let id = 3; id < 129; id += 2) {
      table.add({ id });
      table.delete(id);
    }
    table.add(lasting[1] as FakeStream);
    const burst: FakeStream[] = [];
    for (let id = 131; burst.length < 100; id += 2) {
      const s = { id };
      table.add(s);
      burst.push(s);
    }
    assert.ok(table.capacity > 64, `capacity ${table.capacity}`);
    for (const s of [...lasting, ...burst]) assert.equal(table.get(s.id), s, `id ${s.id}`);
    assert.equal(table.size, 102);
  });
});
