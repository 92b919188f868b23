/**
 * One plugin against another on the same host: a victim plugin process opens
 * handles, runs a process, keeps temp files, KV keys and a subscription; the
 * attacker is told the victim's real ids and client id and tries to use
 * them, to claim the victim's identity, and to keep using capabilities the
 * host has revoked. Everything is refused, and audited under the attacker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Code } from '../../src/rpc/status.js';
import { readAudit } from '../../src/security/audit.js';
import { sleep } from '../support/assertions.js';
import { alive } from '../support/peers.js';
import { ATTACKER, bytes, createScene, narrowManifest, textOf, type AttackCase, type Scene } from './scene.js';

let scene: Scene;
const check = (c: AttackCase) => async () => void (await scene.attack(c));

/** What the victim holds, known once it has run. */
const victim = { readHandle: '', writeHandle: '', processId: '', processPid: 0, tempFile: '', tempName: '' };
const CLAIM = 'x-hst-client-id';

const attackerManifest = [...narrowManifest(1), 'process.spawn'];
const victimManifest = ['fs.read:**', 'fs.write:**', 'exec:/bin/sleep', 'process.spawn', 'kv', 'temp', 'events.publish:victim.*', 'events.subscribe:victim.*'];

async function victimSetsUp(s: Scene): Promise<void> {
  const v = s.victim;
  victim.readHandle = (await v.must('handles', 'open', { path: 'data.txt', read: true })).handle;
  victim.writeHandle = (await v.must('handles', 'open', { path: 'data.txt', read: true, write: true })).handle;
  const proc = await v.must('processes', 'spawn', { program: '/bin/sleep', args: ['60'] });
  victim.processId = proc.id;
  victim.processPid = proc.pid;
  victim.tempFile = (await v.must('temp', 'createTempFile', { prefix: 'victim-', suffix: '.txt' })).path;
  victim.tempName = victim.tempFile.split('/').pop() as string;
  await v.must('filesystem', 'writeFile', { path: victim.tempFile, data: bytes(s.secrets.victimTemp) });
  await v.must('kv', 'put', { key: 'victim-key', value: bytes(s.secrets.victimKv) });
  await v.must('kv', 'put', { key: 'shared', value: bytes(s.secrets.victimKv) });
  const started = await v.must('hold', 'events.subscribe', { pattern: 'victim.inbox' });
  assert.equal(started.started, true);
}

const handleMethods: Array<[string, (handle: string) => unknown]> = [
  ['read', (handle) => ({ handle, n: 100 })],
  ['readAt', (handle) => ({ handle, offset: 0, n: 100 })],
  ['readLines', (handle) => ({ handle, maxLines: 10 })],
  ['statHandle', (handle) => ({ handle })],
  ['seek', (handle) => ({ handle, offset: 0 })],
  ['write', (handle) => ({ handle, data: bytes('pwned') })],
  ['writeAt', (handle) => ({ handle, offset: 0, data: bytes('pwned') })],
  ['truncateHandle', (handle) => ({ handle, size: 0 })],
  ['sync', (handle) => ({ handle })],
  ['close', (handle) => ({ handle })],
];

/** The victim's handle ids, and a well-formed guess. */
const handleIds: Array<[string, () => string]> = [
  ["the victim's read handle", () => victim.readHandle],
  ["the victim's write handle", () => victim.writeHandle],
  ['a guessed id', () => '0123456789abcdef0123456789abcdef'],
];

function handleCases(expect: AttackCase['expect']): AttackCase[] {
  return handleMethods.flatMap(([method, request]) =>
    handleIds.map(([which, id]): AttackCase => ({ name: `${method} on ${which}`, service: 'handles', method, request: () => request(id()), expect })),
  );
}

const processCases: AttackCase[] = (['processOutput', 'wait', 'signal', 'writeStdin'] as const).flatMap((method) =>
  [
    ["the victim's process", () => victim.processId],
    ['a guessed id', () => '01900000-0000-7000-8000-000000000000'],
  ].map(([which, id]): AttackCase => ({
    name: `${method} on ${which as string}`,
    service: 'processes',
    method,
    request: () => ({ id: (id as () => string)(), signal: 'SIGKILL', timeoutMs: 100, data: bytes('rm -rf /\n'), close: true }),
    expect: { code: Code.NOT_FOUND },
  })),
);

const tempCases: AttackCase[] = [
  { name: "readFile of the victim's $tmp name", service: 'filesystem', method: 'readFile', request: () => ({ path: victim.tempFile }), expect: { code: Code.NOT_FOUND } },
  { name: "stat of the victim's $tmp name", service: 'filesystem', method: 'stat', request: () => ({ path: victim.tempFile }), expect: { code: Code.NOT_FOUND } },
  { name: "open of the victim's $tmp name", service: 'handles', method: 'open', request: () => ({ path: victim.tempFile, read: true }), expect: { code: Code.NOT_FOUND } },
  {
    name: "removeTemp of the victim's $tmp name",
    service: 'temp',
    method: 'removeTemp',
    request: () => ({ path: victim.tempFile }),
    expect: { code: Code.NOT_FOUND },
  },
  {
    name: "the victim's temp directory by its client id",
    service: 'filesystem',
    method: 'readFile',
    request: (s: Scene) => ({ path: `$tmp/../${s.victim.clientId}/${victim.tempName}` }),
    expect: { denyOr: Code.INVALID_ARGUMENT },
  },
  {
    name: "the victim's temp file by its host path",
    service: 'filesystem',
    method: 'readFile',
    request: (s: Scene) => ({ path: join(s.dir, 'temp', s.victim.clientId, victim.tempName) }),
    expect: 'deny',
  },
  {
    name: 'listTemp shows only the attacker\'s own files',
    service: 'temp',
    method: 'listTemp',
    request: {},
    expect: { allowed: (r) => assert.ok(!JSON.stringify(r).includes('victim-'), JSON.stringify(r)) },
  },
  {
    name: 'cleanupTemp removes only the attacker\'s own files',
    service: 'temp',
    method: 'cleanupTemp',
    request: {},
    expect: { allowed: (r) => assert.equal(r.removed ?? 0, 0) },
  },
];

const kvCases: AttackCase[] = [
  { name: "get of the victim's key", service: 'kv', method: 'get', request: { key: 'victim-key' }, expect: { allowed: (r) => assert.equal(r.found, false) } },
  { name: 'get of a key both use', service: 'kv', method: 'get', request: { key: 'shared' }, expect: { allowed: (r) => assert.equal(r.found, false) } },
  { name: 'list of everything', service: 'kv', method: 'list', request: { prefix: '' }, expect: { allowed: (r) => assert.deepEqual(r.entries, []) } },
  { name: "delete of the victim's key", service: 'kv', method: 'delete', request: { key: 'victim-key' }, expect: { allowed: (r) => assert.equal(r.existed, false) } },
  {
    name: "compareAndSwap on the victim's key",
    service: 'kv',
    method: 'compareAndSwap',
    request: { key: 'victim-key', expectedVersion: 1, value: bytes('pwned') },
    expect: { allowed: (r) => assert.equal(r.swapped, false) },
  },
  // Keys are opaque names inside the caller's own namespace: nothing in one reaches another's.
  ...['victim/victim-key', '../victim/victim-key', 'victim:victim-key', '\0victim-key', '%', '_ictim-key', "victim-key' OR '1'='1"].map(
    (key): AttackCase => ({
      name: `get of ${JSON.stringify(key)}`,
      service: 'kv',
      method: 'get',
      request: { key },
      expect: { allowed: (r) => assert.equal(r.found, false) },
    }),
  ),
  ...['%', '_', 'v%', "' OR '1'='1", 'victim'].map(
    (prefix): AttackCase => ({ name: `list with prefix ${JSON.stringify(prefix)}`, service: 'kv', method: 'list', request: { prefix }, expect: { allowed: (r) => assert.deepEqual(r.entries, []) } }),
  ),
];

const eventCases: AttackCase[] = [
  { name: "subscribe to the victim's topic", service: 'events', method: 'subscribe', request: { pattern: 'victim.inbox' }, expect: 'deny' },
  { name: "publish into the victim's topic", service: 'events', method: 'publish', request: { topic: 'victim.inbox', payload: bytes('pwned') }, expect: 'deny' },
  { name: 'listTopics', service: 'events', method: 'listTopics', request: {}, expect: 'deny' },
];

/** Calls that carry the victim's client id as the attacker's own. */
const spoofCases: AttackCase[] = [
  { name: 'a denied read', service: 'filesystem', method: 'readFile', request: { path: 'secret.txt' }, expect: 'deny' },
  { name: "a KV get of the victim's key", service: 'kv', method: 'get', request: { key: 'victim-key' }, expect: { allowed: (r) => assert.equal(r.found, false) } },
  { name: "a read on the victim's handle", service: 'handles', method: 'read', request: () => ({ handle: victim.readHandle, n: 10 }), expect: 'deny' },
  { name: "a signal to the victim's process", service: 'processes', method: 'signal', request: () => ({ id: victim.processId, signal: 'SIGKILL' }), expect: { code: Code.NOT_FOUND } },
  { name: 'listTemp', service: 'temp', method: 'listTemp', request: {}, expect: { allowed: (r) => assert.ok(!JSON.stringify(r).includes('victim-')) } },
  { name: 'listProcesses', service: 'processes', method: 'listProcesses', request: {}, expect: { allowed: (r) => assert.deepEqual(r.processes, []) } },
];

describe('isolation between plugins', () => {
  before(async () => {
    scene = await createScene({ attacker: attackerManifest, victim: victimManifest });
    await victimSetsUp(scene);
  });
  after(() => scene.close());

  describe("the victim's handles, with only the attacker's narrow grants", () => {
    // A handle the attacker does not hold names no path of its own, so its policy refuses it outright.
    for (const c of handleCases('deny')) it(c.name, check(c));
  });

  describe("the victim's handles, with fs.read:** and fs.write:** granted to the attacker", () => {
    before(() => {
      scene.policy.grant(ATTACKER, 'fs.read:**');
      scene.policy.grant(ATTACKER, 'fs.write:**');
    });
    after(() => {
      scene.policy.revoke(ATTACKER, 'fs.read:**');
      scene.policy.revoke(ATTACKER, 'fs.write:**');
    });
    // Past the policy, the handle table is the attacker's own: the same NOT_FOUND for a real id as for a guess.
    for (const c of handleCases({ code: Code.NOT_FOUND })) it(c.name, check(c));
    it("listHandles shows none of the victim's", async () => {
      const { outcome, audit } = await scene.attack({ name: 'listHandles', service: 'handles', method: 'listHandles', request: {}, expect: 'contained' });
      // Refused (its resource is empty, which no fs.read pattern covers) or answered with the attacker's own, none.
      if (outcome.ok) assert.deepEqual(outcome.response.handles, []);
      else assert.deepEqual([outcome.code, audit.map((r) => r.decision)], [Code.PERMISSION_DENIED, ['deny']]);
    });
  });

  describe("the victim's processes", () => {
    for (const c of processCases) it(c.name, check(c));
    it(
      'listProcesses shows none of the victim\'s',
      check({ name: 'listProcesses', service: 'processes', method: 'listProcesses', request: {}, expect: { allowed: (r) => assert.deepEqual(r.processes, []) } }),
    );
  });

  describe("the victim's temp files", () => {
    for (const c of tempCases) it(c.name, check(c));
  });

  describe("the victim's KV namespace", () => {
    for (const c of kvCases) it(c.name, check(c));
    it("a watch on every key sees none of the victim's writes", async () => {
      const write = sleep(500).then(() => scene.victim.must('kv', 'put', { key: 'victim-later', value: bytes(scene.secrets.victimKv) }));
      const { outcome } = await scene.attack({ name: 'watch', service: 'kv', method: 'watch', request: { prefix: '', includeValues: true }, expect: { allowed: () => {} } });
      await write;
      assert.ok(!outcome.raw.includes('victim-later'), outcome.raw);
    });
  });

  describe("the victim's subscriptions", () => {
    for (const c of eventCases) it(c.name, check(c));
  });

  describe("claiming the victim's client id in metadata", () => {
    for (const c of spoofCases) {
      it(c.name, async () => {
        const { audit } = await scene.attack({ ...c, metadata: { [CLAIM]: scene.victim.clientId } });
        for (const r of audit) assert.equal(r.claimed_instance, scene.victim.clientId, 'the claim is not on record');
      });
    }
    it('other identity headers change nothing', async () => {
      const { audit } = await scene.attack({
        name: 'headers',
        service: 'filesystem',
        method: 'readFile',
        request: { path: 'secret.txt' },
        metadata: { 'x-hst-owner': 'victim', 'x-hst-plugin': 'victim', 'x-hst-client-id': 'victim', authorization: 'Bearer victim' },
        expect: 'deny',
      });
      assert.equal(audit[0]?.claimed_instance, 'victim');
    });
  });

  describe('revoked capabilities', () => {
    it('revoking fs.read:public/** while the attacker holds a handle: the next read fails, both audited', async () => {
      const handle = (await scene.attacker.must('handles', 'open', { path: 'public/readme.txt', read: true })).handle as string;
      assert.equal(textOf((await scene.attacker.must('handles', 'read', { handle, n: 6 })).data), 'public');
      scene.policy.revoke(ATTACKER, 'fs.read:public/**');
      try {
        const { outcome } = await scene.attack({ name: 'read after revoke', service: 'handles', method: 'read', request: { handle, n: 6 }, expect: 'deny' });
        assert.ok(!outcome.raw.includes('readme'), outcome.raw);
        await scene.attack({ name: 'open after revoke', service: 'handles', method: 'open', request: { path: 'public/readme.txt', read: true }, expect: 'deny' });
        await scene.attack({ name: 'readFile after revoke', service: 'filesystem', method: 'readFile', request: { path: 'public/readme.txt' }, expect: 'deny' });
      } finally {
        scene.policy.grant(ATTACKER, 'fs.read:public/**');
      }
      const events = readAudit(scene.audit.path).filter((r) => r.event && r.plugin === ATTACKER && r.capability === 'fs.read:public/**');
      assert.deepEqual(events.map((r) => r.event), ['revoke', 'grant']);
      // The handle died with the capability; granting it again does not bring it back.
      await scene.attack({ name: 'read after re-grant', service: 'handles', method: 'read', request: { handle, n: 6 }, expect: 'deny' });
    });

    it('revoking kv: the next Get fails, both audited', async () => {
      await scene.attacker.must('kv', 'put', { key: 'mine', value: bytes('v') });
      scene.policy.revoke(ATTACKER, 'kv');
      try {
        await scene.attack({ name: 'get after revoke', service: 'kv', method: 'get', request: { key: 'mine' }, expect: 'deny' });
        await scene.attack({ name: 'put after revoke', service: 'kv', method: 'put', request: { key: 'mine', value: bytes('w') }, expect: 'deny' });
      } finally {
        scene.policy.grant(ATTACKER, 'kv');
      }
      const events = readAudit(scene.audit.path).filter((r) => r.event && r.plugin === ATTACKER && r.capability === 'kv');
      assert.deepEqual(events.map((r) => r.event), ['revoke', 'grant']);
    });

    it('revoking events.subscribe:attacker.* while the attacker holds a subscription: the next Subscribe fails', async () => {
      const first = await scene.attacker.must('hold', 'events.subscribe', { pattern: 'attacker.news' });
      assert.equal(first.started, true);
      scene.policy.revoke(ATTACKER, 'events.subscribe:attacker.*');
      try {
        await scene.attack({ name: 'subscribe after revoke', service: 'events', method: 'subscribe', request: { pattern: 'attacker.news' }, expect: 'deny' });
      } finally {
        scene.policy.grant(ATTACKER, 'events.subscribe:attacker.*');
      }
    });
  });

  it("the victim still has everything: its handle reads its data, its process runs, its temp file and keys are there", async () => {
    assert.equal(textOf((await scene.victim.must('handles', 'readAt', { handle: victim.readHandle, offset: 0, n: 100 })).data), scene.secrets.victimFile);
    assert.ok(alive(victim.processPid), "the victim's process was killed");
    assert.equal(textOf((await scene.victim.must('filesystem', 'readFile', { path: victim.tempFile })).data), scene.secrets.victimTemp);
    assert.equal(textOf((await scene.victim.must('kv', 'get', { key: 'victim-key' })).value), scene.secrets.victimKv);
  });
});
