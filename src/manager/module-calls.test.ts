import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, RpcError } from '../rpc/status.js';
import type { ManifestSignature } from '../security/manifest.js';
import { checkedArgs, checkedResult, describedExports } from './module-calls.js';

const signature: ManifestSignature = {
  params: [
    { name: 'record', type: 'map', optional: false },
    { name: 'required', type: 'list', optional: true, default: [] },
    { name: 'limit', type: 'int', optional: true },
    { name: 'strict', type: 'bool', optional: true, default: false },
  ],
  returns: 'map',
};

const refused = (fn: () => unknown, code: Code, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof RpcError && e.code === code && message.test(e.details), String(message));

it('arguments: defaults fill what is left out, an optional one without a default is left out unless a later one needs its place', () => {
  assert.deepEqual(checkedArgs('m f', signature, [{ a: 1 }]), [{ a: 1 }, [], false]);
  assert.deepEqual(checkedArgs('m f', signature, [{}, undefined, undefined, true]), [{}, [], null, true]);
  assert.deepEqual(checkedArgs('m f', signature, [{}, ['a'], 3]), [{}, ['a'], 3, false]);
  const defaults = checkedArgs('m f', signature, [{}]);
  (defaults[1] as unknown[]).push('changed');
  assert.deepEqual(checkedArgs('m f', signature, [{}])[1], [], 'each call gets its own copy of a default');
  assert.deepEqual(checkedArgs('m f', {}, [1, 'two', undefined]), [1, 'two', undefined], 'without params nothing is checked');
});

it('arguments: a missing, extra or mistyped one is INVALID_ARGUMENT naming the export and the parameter', () => {
  refused(() => checkedArgs('plugin:v check', signature, []), Code.INVALID_ARGUMENT, /^plugin:v check: argument 1 \(record\) is missing: a map is required$/);
  refused(() => checkedArgs('plugin:v check', signature, [{}, [], 1, true, 'x']), Code.INVALID_ARGUMENT, /^plugin:v check: takes at most 4 arguments \(record, required, limit, strict\), got 5$/);
  refused(() => checkedArgs('plugin:v check', signature, [[]]), Code.INVALID_ARGUMENT, /argument 1 \(record\): a list is not a map$/);
  refused(() => checkedArgs('plugin:v check', signature, [{}, [], 1.5]), Code.INVALID_ARGUMENT, /argument 3 \(limit\): 1\.5 is not a whole number$/);
  refused(() => checkedArgs('plugin:v check', signature, [{}, [], 1, 'yes']), Code.INVALID_ARGUMENT, /argument 4 \(strict\): a string is not a bool$/);
  refused(() => checkedArgs('plugin:v now', { params: [] }, [1]), Code.INVALID_ARGUMENT, /^plugin:v now: takes no arguments, got 1$/);
});

it('results: one that is not what returns declares is refused as the plugin\'s fault', () => {
  assert.deepEqual(checkedResult('m f', signature, { ok: true }), { ok: true });
  assert.equal(checkedResult('m f', {}, 'anything'), 'anything');
  assert.equal(checkedResult('m f', { returns: 'none' }, null), null);
  refused(() => checkedResult('plugin:v check', signature, 'ok'), Code.INTERNAL, /^plugin:v check: the plugin returned a string, but its manifest says it returns a map$/);
  refused(() => checkedResult('plugin:v n', { returns: 'int' }, 2.5), Code.INTERNAL, /returned a number, but its manifest says it returns an int$/);
  refused(() => checkedResult('plugin:v n', { returns: 'none' }, 0), Code.INTERNAL, /returned a number, but its manifest says it returns none$/);
});

it("a plugin's own list of its exports is held to the manifest's rules", () => {
  assert.deepEqual(describedExports('plugin:c', [{ name: 'now', methods: [] }, { name: 'clock', methods: ['today'] }]), [
    { name: 'now', type: 'function' },
    { name: 'clock', type: 'object', methods: [{ name: 'today' }] },
  ]);
  refused(() => describedExports('plugin:c', [{ name: 'not-an-identifier', methods: [] }]), Code.INTERNAL, /^plugin:c: the plugin's list of its exports is unusable: "not-an-identifier" is not a JavaScript identifier$/);
  refused(() => describedExports('plugin:c', [{ name: 'a', methods: [] }, { name: 'a', methods: [] }]), Code.INTERNAL, /a is listed twice$/);
  refused(() => describedExports('plugin:c', [{ name: 'o', methods: ['m', 'm'] }]), Code.INTERNAL, /o's method "m" is not a JavaScript identifier, or is listed twice$/);
  refused(() => describedExports('plugin:c', Array.from({ length: 257 }, (_, i) => ({ name: `e${i}`, methods: [] }))), Code.INTERNAL, /257 exports, more than 256$/);
});
