import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bytes, sleep, text, until } from '../../test/support/assertions.js';
import { KvStore, type KvChange } from './kv-store.js';

describe('KvStore', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hst-kvstore-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const open = (name: string, sweepIntervalMs?: number) => new KvStore(join(dir, name), sweepIntervalMs ? { sweepIntervalMs } : {});

  it('opens the database in WAL mode', () => {
    const store = open('wal.sqlite');
    store.close();
    const db = new Database(join(dir, 'wal.sqlite'), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('keeps namespaces apart and versions increasing, even across delete and re-create', () => {
    const store = open('versions.sqlite');
    const v1 = store.put('a', 'k', bytes('one'), 0);
    const v2 = store.put('b', 'k', bytes('other'), 0);
    assert.ok(v2 > v1);
    assert.equal(text(store.get('a', 'k')?.value), 'one');
    assert.equal(text(store.get('b', 'k')?.value), 'other');
    assert.equal(store.delete('a', 'k'), true);
    assert.equal(store.delete('a', 'k'), false);
    assert.equal(store.get('a', 'k'), undefined);
    const v3 = store.put('a', 'k', bytes('again'), 0);
    assert.ok(v3 > v2, 'a re-created key never gets an old version back');
    // A stale CAS from before the delete cannot succeed against the new key.
    assert.deepEqual(store.compareAndSwap('a', 'k', v1, bytes('stale'), 0), { swapped: false, version: v3 });
    store.close();
  });

  it('stores an empty value as present and empty', () => {
    const store = open('empty.sqlite');
    store.put('a', 'e', new Uint8Array(0), 0);
    assert.equal(store.get('a', 'e')?.value.byteLength, 0);
    store.close();
  });

  it('stores the bytes of a view, not the whole buffer behind it', () => {
    const store = open('view.sqlite');
    const backing = bytes('xxHELLOxx');
    store.put('a', 'v', backing.subarray(2, 7), 0);
    assert.equal(text(store.get('a', 'v')?.value), 'HELLO');
    store.close();
  });

  it('lists by prefix in byte order and pages without overlap', () => {
    const store = open('list.sqlite');
    // UTF-8 byte order puts U+FF21 before U+1F600; UTF-16 order would not.
    for (const k of ['p/b', 'p/a', 'p/😀', 'p/é', 'p/Ａ', 'p/z', 'p', 'q/a', 'o/z']) store.put('a', k, bytes(k), 0);
    store.put('b', 'p/other-namespace', bytes('x'), 0);
    const first = store.list('a', 'p/', undefined, 2);
    assert.deepEqual(first.entries.map((e) => e.key), ['p/a', 'p/b']);
    assert.equal(first.more, true);
    const second = store.list('a', 'p/', 'p/b', 2);
    assert.deepEqual(second.entries.map((e) => e.key), ['p/z', 'p/é']);
    assert.equal(second.more, true);
    const third = store.list('a', 'p/', 'p/é', 2);
    assert.deepEqual(third.entries.map((e) => e.key), ['p/Ａ', 'p/😀']);
    assert.equal(third.more, false);
    assert.equal(first.entries[0]?.size, 3);
    assert.deepEqual(store.list('a', '', undefined, 100).entries.map((e) => e.key), ['o/z', 'p', 'p/a', 'p/b', 'p/z', 'p/é', 'p/Ａ', 'p/😀', 'q/a']);
    store.close();
  });

  it('hides expired keys at once and announces their removal', async () => {
    const store = open('ttl.sqlite', 40);
    const changes: KvChange[] = [];
    store.on('change', (c) => changes.push(c));
    const version = store.put('a', 'short', bytes('x'), 30);
    store.put('a', 'long', bytes('y'), 60_000);
    const expiresAt = store.get('a', 'short')?.expiresAtMs ?? 0;
    assert.ok(expiresAt > Date.now() && expiresAt <= Date.now() + 30);
    await sleep(35);
    // Expired but perhaps not yet swept: invisible to every read.
    assert.equal(store.get('a', 'short'), undefined);
    assert.deepEqual(store.list('a', '', undefined, 10).entries.map((e) => e.key), ['long']);
    await until(() => changes.some((c) => c.kind === 'expire'), 'the periodic sweep removes the expired key');
    assert.deepEqual(
      changes.filter((c) => c.kind === 'expire'),
      [{ namespace: 'a', key: 'short', kind: 'expire', version }],
    );
    assert.equal(store.sweep(), 0, 'the periodic sweep already removed it');
    store.close();
  });

  it('treats an expired key as absent for Delete and CompareAndSwap, announcing the expiry first', async () => {
    const store = open('ttl-write.sqlite', 60_000);
    const changes: string[] = [];
    store.on('change', (c) => changes.push(`${c.kind}:${c.key}`));
    store.put('a', 'd', bytes('x'), 10);
    store.put('a', 'c', bytes('x'), 10);
    changes.length = 0;
    await sleep(20);
    assert.equal(store.delete('a', 'd'), false);
    assert.equal(store.compareAndSwap('a', 'c', 0, bytes('new'), 0).swapped, true);
    assert.deepEqual(changes, ['expire:d', 'expire:c', 'put:c']);
    store.close();
  });

  it('announces changes only after they are committed', () => {
    const store = open('commit.sqlite');
    const seen: Array<string | undefined> = [];
    // A listener reading the store must see the change it is told about.
    store.on('change', (c) => seen.push(text(store.get(c.namespace, c.key)?.value)));
    store.put('a', 'k', bytes('committed'), 0);
    assert.deepEqual(seen, ['committed']);
    store.close();
  });

  it('persists across reopening, and close() can be called twice', () => {
    const first = open('persist.sqlite');
    const version = first.put('a', 'kept', bytes('value'), 0);
    first.close();
    first.close();
    const second = open('persist.sqlite');
    assert.deepEqual({ ...second.get('a', 'kept'), value: text(second.get('a', 'kept')?.value) }, { value: 'value', version, expiresAtMs: undefined });
    assert.ok(second.put('a', 'next', bytes('x'), 0) > version, 'the version counter persists too');
    second.close();
  });
});
