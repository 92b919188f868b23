/**
 * KeyValue: persistent per-plugin storage. The namespace is the caller's
 * owner (the plugin's name), never anything in the request, so a plugin sees
 * only its own keys and finds them again after a restart.
 */
import { join } from 'node:path';
import {
  KeyValueChangeKind,
  KeyValueDefinition,
  type KeyValueWatchResponse,
} from '../gen/hst/host/v1/kv.js';
import type { DeepPartial } from '../rpc/definition.js';
import { exhausted, invalid } from './errors.js';
import { Mailbox } from './event-bus.js';
import type { Caller } from './caller.js';
import { KvStore, type KvChange } from './kv-store.js';
import { hostService } from './operation.js';

const MAX_KEY_BYTES = 1024;
const DEFAULT_PAGE_SIZE = 100;
/** Changes a watcher may fall behind by before its stream fails. */
const WATCH_QUEUE_ITEMS = 1024;
const WATCH_QUEUE_BYTES = 16 * 1024 * 1024;

const CHANGE_KINDS = {
  put: KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_PUT,
  delete: KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_DELETE,
  expire: KeyValueChangeKind.KEY_VALUE_CHANGE_KIND_EXPIRE,
} as const;

function checkKey(operation: string, key: string): string {
  if (key === '') throw invalid(`${operation}: the key is empty`);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw invalid(`${operation} ${key.slice(0, 64)}…: the key is longer than ${MAX_KEY_BYTES} bytes`);
  return key;
}

function checkPrefix(operation: string, prefix: string): string {
  if (Buffer.byteLength(prefix) > MAX_KEY_BYTES) throw invalid(`${operation} ${prefix.slice(0, 64)}…: the prefix is longer than ${MAX_KEY_BYTES} bytes`);
  return prefix;
}

function checkWrite(caller: Caller, operation: string, key: string, value: Uint8Array, ttlMs: number): void {
  checkKey(operation, key);
  if (ttlMs < 0) throw invalid(`${operation} ${key}: ttl_ms is negative`);
  const max = caller.limits.maxValueBytes;
  if (value.byteLength > max) throw exhausted(`${operation} ${key}: the value is ${value.byteLength} bytes, more than the limit of ${max}`);
}

/** The page token is the last key listed, so the next page starts after it. */
function afterKey(prefix: string, pageToken: string): string | undefined {
  if (pageToken === '') return undefined;
  const key = Buffer.from(pageToken, 'base64').toString('utf8');
  if (Buffer.from(key).toString('base64') !== pageToken || !key.startsWith(prefix)) {
    throw invalid(`KeyValue/List ${prefix}: the page token is not from a listing of this prefix`);
  }
  return key;
}

export const keyValueService = hostService({
  definition: KeyValueDefinition,
  operations: {
    get: { capability: 'kv', resource: (r) => r.key },
    put: { capability: 'kv', resource: (r) => r.key },
    delete: { capability: 'kv', resource: (r) => r.key },
    list: { capability: 'kv', resource: (r) => r.prefix },
    compareAndSwap: { capability: 'kv', resource: (r) => r.key },
    watch: { capability: 'kv', resource: (r) => r.prefix },
  },
  create(caller, host) {
    // Opened on first use, so a database that cannot open fails the call, not the plugin's connection.
    const store = () => host.shared('kv', () => new KvStore(join(host.dataDir, 'kv.sqlite')));
    const namespace = caller.owner;
    return {
      get({ key }) {
        const entry = store().get(namespace, checkKey('KeyValue/Get', key));
        if (!entry) return { found: false };
        return { found: true, value: entry.value, version: entry.version, expiresAtMs: entry.expiresAtMs ?? 0 };
      },

      put({ key, value, ttlMs }) {
        checkWrite(caller, 'KeyValue/Put', key, value, ttlMs);
        return { version: store().put(namespace, key, value, ttlMs) };
      },

      delete({ key }) {
        return { existed: store().delete(namespace, checkKey('KeyValue/Delete', key)) };
      },

      list({ prefix, pageSize, pageToken }) {
        checkPrefix('KeyValue/List', prefix);
        if (pageSize < 0) throw invalid(`KeyValue/List ${prefix}: page_size is negative`);
        const limit = Math.min(pageSize || DEFAULT_PAGE_SIZE, caller.limits.maxEntries);
        const { entries, more } = store().list(namespace, prefix, afterKey(prefix, pageToken), limit);
        const last = entries.at(-1);
        return {
          entries: entries.map((e) => ({ key: e.key, version: e.version, size: e.size, expiresAtMs: e.expiresAtMs ?? 0 })),
          nextPageToken: more && last ? Buffer.from(last.key).toString('base64') : '',
        };
      },

      compareAndSwap({ key, expectedVersion, value, ttlMs }) {
        checkWrite(caller, 'KeyValue/CompareAndSwap', key, value, ttlMs);
        if (expectedVersion < 0) throw invalid(`KeyValue/CompareAndSwap ${key}: expected_version is negative`);
        return store().compareAndSwap(namespace, key, expectedVersion, value, ttlMs);
      },

      async *watch({ prefix, includeValues }, ctx): AsyncGenerator<DeepPartial<KeyValueWatchResponse>> {
        const what = `KeyValue/Watch ${checkPrefix('KeyValue/Watch', prefix)}`;
        const kv = store();
        const release = caller.claimSubscription(what);
        const mailbox = new Mailbox<KvChange>(
          {
            maxItems: WATCH_QUEUE_ITEMS,
            maxBytes: WATCH_QUEUE_BYTES,
            sizeOf: (c) => c.key.length + (includeValues ? (c.value?.byteLength ?? 0) : 0),
          },
          [ctx.signal, caller.signal],
        );
        mailbox.onClose(release);
        const onChange = (c: KvChange) => {
          if (c.namespace === namespace && c.key.startsWith(prefix)) mailbox.push(c);
        };
        kv.on('change', onChange);
        mailbox.onClose(() => kv.off('change', onChange));
        try {
          yield { started: true };
          for await (const { item, dropped } of mailbox.drain()) {
            // Consumers rebuild state from the changes, so a gap must not pass silently.
            if (dropped > 0) throw exhausted(`${what}: the watcher fell ${dropped} changes behind; list and watch again`);
            yield {
              key: item.key,
              kind: CHANGE_KINDS[item.kind],
              version: item.version,
              ...(includeValues && item.value ? { value: item.value } : {}),
            };
          }
        } finally {
          mailbox.close();
        }
      },
    };
  },
});
