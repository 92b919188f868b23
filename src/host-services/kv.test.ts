import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyValueChangeKind, KeyValueDefinition, type KeyValueWatchResponse } from '../gen/hst/host/v1/kv.js';
import { Code } from '../rpc/status.js';
import { bytes, failure, sleep, streamOutcome, text, until } from '../../test/support/assertions.js';
import { withHarness, type Harness } from '../../test/support/host-harness.js';
import type { Decision } from './dispatch.js';
import type { KvStore } from './kv-store.js';
import { keyValueService } from './kv.js';

/** The store every plugin of this harness shares (created by the first KV call). */
const storeOf = (h: Harness) => h.hostServices.context.shared<KvStore>('kv', () => assert.fail('the KV store is not open'));

describe('KeyValue', () => {
  it('puts, gets and deletes, with versions that only go up', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      assert.deepEqual(await kv.get({ key: 'k' }), { found: false, value: new Uint8Array(0), version: 0, expiresAtMs: 0 });
      const { version: v1 } = await kv.put({ key: 'k', value: bytes('one') });
      assert.ok(v1 > 0);
      const got = await kv.get({ key: 'k' });
      assert.equal(got.found, true);
      assert.equal(text(got.value), 'one');
      assert.equal(got.version, v1);
      assert.equal(got.expiresAtMs, 0);
      const { version: v2 } = await kv.put({ key: 'k', value: bytes('two') });
      assert.ok(v2 > v1);
      assert.deepEqual(await kv.delete({ key: 'k' }), { existed: true });
      assert.deepEqual(await kv.delete({ key: 'k' }), { existed: false });
      assert.equal((await kv.get({ key: 'k' })).found, false);
      const { version: v3 } = await kv.put({ key: 'k', value: bytes('three') });
      assert.ok(v3 > v2, 'a re-created key gets a new version');
    }));

  it('declares capability kv with the key, or the prefix for List and Watch, for every method', async () => {
    const decisions: Decision[] = [];
    await withHarness({ modules: [keyValueService], authorize: (d) => void decisions.push(d) }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      await kv.get({ key: 'g' });
      await kv.put({ key: 'p', value: bytes('x') });
      await kv.delete({ key: 'd' });
      await kv.list({ prefix: 'l/' });
      await kv.compareAndSwap({ key: 'c', expectedVersion: 0, value: bytes('x') });
      for await (const m of kv.watch({ prefix: 'w/' })) if (m.started) break;
      const seen = decisions.map((d) => [d.operation, d.capability, d.resource]);
      assert.deepEqual(seen, [
        ['KeyValue/Get', 'kv', 'g'],
        ['KeyValue/Put', 'kv', 'p'],
        ['KeyValue/Delete', 'kv', 'd'],
        ['KeyValue/List', 'kv', 'l/'],
        ['KeyValue/CompareAndSwap', 'kv', 'c'],
        ['KeyValue/Watch', 'kv', 'w/'],
      ]);
      assert.deepEqual(Object.keys(keyValueService.operations).sort(), Object.keys(KeyValueDefinition.methods).sort());
    });
  });

  it('refuses bad keys, negative TTLs and oversized values, naming the operation and key', () =>
    withHarness({ modules: [keyValueService], limits: { maxValueBytes: 16 } }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      let err = await failure(kv.get({ key: '' }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /KeyValue\/Get: the key is empty/);
      err = await failure(kv.put({ key: 'x'.repeat(1025), value: bytes('v') }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /KeyValue\/Put x+…: the key is longer than 1024 bytes/);
      err = await failure(kv.put({ key: 'neg', value: bytes('v'), ttlMs: -1 }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /KeyValue\/Put neg: ttl_ms is negative/);
      err = await failure(kv.put({ key: 'big', value: new Uint8Array(17) }));
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.details, /KeyValue\/Put big: the value is 17 bytes, more than the limit of 16/);
      err = await failure(kv.compareAndSwap({ key: 'big', expectedVersion: 0, value: new Uint8Array(17) }));
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.details, /KeyValue\/CompareAndSwap big:/);
      // Exactly at the limit is fine.
      assert.ok((await kv.put({ key: 'big', value: new Uint8Array(16) })).version > 0);
      assert.equal(h.records.filter((r) => !r.ok).length, 5);
    }));

  it('expires keys after their TTL: absent from Get, List and Delete', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      const before = Date.now();
      // Long enough to still be live at the next call on a loaded machine; expiry is then awaited, not slept for.
      await kv.put({ key: 't/short', value: bytes('x'), ttlMs: 1_000 });
      await kv.put({ key: 't/long', value: bytes('y'), ttlMs: 60_000 });
      const live = await kv.get({ key: 't/short' });
      assert.equal(live.found, true);
      assert.ok(live.expiresAtMs >= before + 1_000 && live.expiresAtMs <= Date.now() + 1_000);
      await until(async () => !(await kv.get({ key: 't/short' })).found, 'the short key expires', 10_000);
      assert.deepEqual((await kv.list({ prefix: 't/' })).entries.map((e) => e.key), ['t/long']);
      assert.deepEqual(await kv.delete({ key: 't/short' }), { existed: false });
      // The same key written again without a TTL outlives a key written with one beside it.
      await kv.put({ key: 't/short', value: bytes('z') });
      await kv.put({ key: 't/gone', value: bytes('w'), ttlMs: 20 });
      await until(async () => !(await kv.get({ key: 't/gone' })).found, 'the companion key expires', 10_000);
      assert.equal((await kv.get({ key: 't/short' })).found, true);
    }));

  it('compare-and-swap: creates only if absent, swaps only on the expected version', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      const created = await kv.compareAndSwap({ key: 'c', expectedVersion: 0, value: bytes('1') });
      assert.equal(created.swapped, true);
      assert.ok(created.version > 0);
      assert.deepEqual(await kv.compareAndSwap({ key: 'c', expectedVersion: 0, value: bytes('no') }), { swapped: false, version: created.version });
      assert.deepEqual(await kv.compareAndSwap({ key: 'c', expectedVersion: created.version + 1000, value: bytes('no') }), {
        swapped: false,
        version: created.version,
      });
      assert.equal(text((await kv.get({ key: 'c' })).value), '1');
      const swapped = await kv.compareAndSwap({ key: 'c', expectedVersion: created.version, value: bytes('2') });
      assert.equal(swapped.swapped, true);
      assert.ok(swapped.version > created.version);
      assert.equal(text((await kv.get({ key: 'c' })).value), '2');
      assert.deepEqual(await kv.compareAndSwap({ key: 'absent', expectedVersion: 5, value: bytes('no') }), { swapped: false, version: 0 });
      assert.equal((await kv.get({ key: 'absent' })).found, false);
      const err = await failure(kv.compareAndSwap({ key: 'c', expectedVersion: -1, value: bytes('no') }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
    }));

  it('50 concurrent CAS increments from two connections of the same plugin add up to 50', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const clients = [(await h.plugin('counter')).client(KeyValueDefinition), (await h.plugin('counter')).client(KeyValueDefinition)];
      let swaps = 0;
      let conflicts = 0;
      const increment = async (i: number) => {
        const kv = clients[i % 2] as (typeof clients)[number];
        for (;;) {
          const current = await kv.get({ key: 'n' });
          const n = current.found ? Number(text(current.value)) : 0;
          const res = await kv.compareAndSwap({ key: 'n', expectedVersion: current.version, value: bytes(String(n + 1)) });
          if (res.swapped) return void swaps++;
          conflicts++;
        }
      };
      await Promise.all(Array.from({ length: 50 }, (_, i) => increment(i)));
      assert.equal(swaps, 50);
      assert.equal(text((await clients[0]!.get({ key: 'n' })).value), '50');
      assert.ok(conflicts > 0, 'the increments really did race');
    }));

  it('lists by prefix over several pages, clamping page_size to the entry limit', () =>
    withHarness({ modules: [keyValueService], limits: { maxEntries: 50 } }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      const keys = Array.from({ length: 130 }, (_, i) => `page/${String(i).padStart(3, '0')}`);
      for (const key of keys) await kv.put({ key, value: bytes(key) });
      await kv.put({ key: 'pagf', value: bytes('outside the prefix') });
      const listed: string[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const page = await kv.list({ prefix: 'page/', pageSize: 1000, pageToken });
        assert.ok(page.entries.length <= 50, 'page_size is lowered to maxEntries');
        listed.push(...page.entries.map((e) => e.key));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      assert.equal(pages, 3);
      assert.deepEqual(listed, keys);
      const first = await kv.list({ prefix: 'page/', pageSize: 2 });
      assert.deepEqual(first.entries[0], { key: 'page/000', version: first.entries[0]?.version, size: 8, expiresAtMs: 0 });
      assert.equal(Buffer.from(first.nextPageToken, 'base64').toString(), 'page/001');
      // Without page_size, 100 (here capped at 50).
      assert.equal((await kv.list({ prefix: '' })).entries.length, 50);

      let err = await failure(kv.list({ prefix: 'page/', pageSize: -1 }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /KeyValue\/List page\/: page_size is negative/);
      err = await failure(kv.list({ prefix: 'other/', pageToken: first.nextPageToken }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /KeyValue\/List other\/: the page token is not from a listing of this prefix/);
      err = await failure(kv.list({ prefix: 'page/', pageToken: '!!not base64' }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
    }));

  it('keeps each plugin in its own namespace', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const a = (await h.plugin('a')).client(KeyValueDefinition);
      const b = (await h.plugin('b')).client(KeyValueDefinition);
      await a.put({ key: 'secret', value: bytes('a-only') });
      await b.put({ key: 'mine', value: bytes('b-only') });
      assert.equal((await b.get({ key: 'secret' })).found, false);
      assert.deepEqual((await b.list({ prefix: '' })).entries.map((e) => e.key), ['mine']);
      assert.deepEqual(await b.delete({ key: 'secret' }), { existed: false });
      assert.equal((await b.compareAndSwap({ key: 'secret', expectedVersion: 0, value: bytes('b') })).swapped, true);
      assert.equal(text((await a.get({ key: 'secret' })).value), 'a-only');
      assert.equal(text((await b.get({ key: 'secret' })).value), 'b');
      assert.deepEqual((await a.list({ prefix: '' })).entries.map((e) => e.key), ['secret']);
    }));

  it('watches puts and deletes under a prefix, live from the call, own namespace only', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const a = (await h.plugin('a')).client(KeyValueDefinition);
      const b = (await h.plugin('b')).client(KeyValueDefinition);
      await a.put({ key: 'w/before', value: bytes('old') });
      const stream = a.watch({ prefix: 'w/', includeValues: true })[Symbol.asyncIterator]();
      const started = (await stream.next()).value;
      assert.deepEqual({ ...started, value: started.value.byteLength }, { started: true, key: '', kind: 0, version: 0, value: 0 });
      const { version: put } = await a.put({ key: 'w/1', value: bytes('v1') });
      await a.put({ key: 'elsewhere', value: bytes('x') });
      await b.put({ key: 'w/1', value: bytes('other plugin') });
      await a.delete({ key: 'w/1' });
      await a.put({ key: 'w/2', value: bytes('v2'), ttlMs: 1 });
      await sleep(5);
      // Deleting the expired key removes it as an expiry, not a delete.
      assert.deepEqual(await a.delete({ key: 'w/2' }), { existed: false });
      const events: KeyValueWatchResponse[] = [];
      for (let i = 0; i < 4; i++) events.push((await stream.next()).value);
      assert.deepEqual({ ...events[0], value: text(events[0]?.value ?? new Uint8Array()) }, {
        started: false,
        key: 'w/1',
        kind: KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_PUT,
        version: put,
        value: 'v1',
      });
      assert.deepEqual(
        events.slice(1).map((e) => [e.key, e.kind]),
        [
          ['w/1', KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_DELETE],
          ['w/2', KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_PUT],
          ['w/2', KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_EXPIRE],
        ],
      );
      assert.equal(events[1]?.version, put, 'a delete carries the version the key had');
      assert.equal(events[3]?.version, events[2]?.version);
      await stream.return?.();
    }));

  it('leaves values out of watch events unless asked', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      const stream = kv.watch({ prefix: '' })[Symbol.asyncIterator]();
      await stream.next();
      await kv.put({ key: 'k', value: bytes('v') });
      const event = (await stream.next()).value;
      assert.equal(event.key, 'k');
      assert.equal(event.value.byteLength, 0);
      await stream.return?.();
    }));

  it('ends a watch and releases it when the caller cancels or the plugin disconnects', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const p = await h.plugin('a');
      const kv = p.client(KeyValueDefinition);
      const cancel = new AbortController();
      const cancelled = kv.watch({ prefix: 'x' }, { signal: cancel.signal })[Symbol.asyncIterator]();
      await cancelled.next();
      const dropped = kv.watch({ prefix: 'y' })[Symbol.asyncIterator]();
      await dropped.next();
      const store = storeOf(h);
      assert.equal(store.listenerCount('change'), 2);
      assert.equal(p.caller.subscriptions, 2);

      cancel.abort();
      await until(() => store.listenerCount('change') === 1, 'the cancelled watch is released');
      assert.equal(p.caller.subscriptions, 1);

      const ended = dropped.next().then(
        (r) => r.done,
        () => true,
      );
      await p.disconnect();
      // Released by the time disconnect completes, not some time later.
      assert.equal(store.listenerCount('change'), 0);
      assert.equal(p.caller.subscriptions, 0);
      assert.equal(await ended, true, 'the plugin side sees its stream end');
    }));

  it('limits live watches per plugin', () =>
    withHarness({ modules: [keyValueService], limits: { maxSubscriptions: 2 } }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      const first = kv.watch({ prefix: '1' })[Symbol.asyncIterator]();
      const second = kv.watch({ prefix: '2' })[Symbol.asyncIterator]();
      await first.next();
      await second.next();
      const err = await streamOutcome(h, kv.watch({ prefix: '3' })[Symbol.asyncIterator](), 'KeyValue/Watch');
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.details, /KeyValue\/Watch 3: the plugin already has 2 live subscriptions and watches, the limit/);
      // Another plugin has its own allowance.
      const other = (await h.plugin('b')).client(KeyValueDefinition).watch({ prefix: '3' })[Symbol.asyncIterator]();
      assert.equal((await other.next()).value.started, true);
      await first.return?.();
      await until(() => storeOf(h).listenerCount('change') === 2, 'the first watch is released');
      const again = kv.watch({ prefix: '3' })[Symbol.asyncIterator]();
      assert.equal((await again.next()).value.started, true);
      await Promise.all([second.return?.(), other.return?.(), again.return?.()]);
    }));

  it('fails a watcher that falls too far behind rather than skip changes', () =>
    withHarness({ modules: [keyValueService] }, async (h) => {
      const kv = (await h.plugin('a')).client(KeyValueDefinition);
      const stream = kv.watch({ prefix: '' })[Symbol.asyncIterator]();
      await stream.next();
      const store = storeOf(h);
      // Synchronous commits give the stream no chance to drain in between.
      for (let i = 0; i < 1100; i++) store.put('a', `k${i}`, bytes('v'), 0);
      const err = await streamOutcome(h, stream, 'KeyValue/Watch');
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.details, /KeyValue\/Watch : the watcher fell 76 changes behind; list and watch again/);
      await until(() => store.listenerCount('change') === 0, 'the failed watch is released');
    }));

  it('persists across host restarts with the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hst-kv-data-'));
    try {
      let version = 0;
      await withHarness({ modules: [keyValueService], dataDir }, async (h) => {
        const kv = (await h.plugin('a')).client(KeyValueDefinition);
        ({ version } = await kv.put({ key: 'kept', value: bytes('across restarts') }));
      });
      await withHarness({ modules: [keyValueService], dataDir }, async (h) => {
        const p = await h.plugin('a');
        const got = await p.client(KeyValueDefinition).get({ key: 'kept' });
        assert.equal(text(got.value), 'across restarts');
        assert.equal(got.version, version);
        assert.equal((await (await h.plugin('b')).client(KeyValueDefinition).get({ key: 'kept' })).found, false);
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
