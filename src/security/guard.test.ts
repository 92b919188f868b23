import { it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilesystemDefinition } from '../gen/hst/host/v1/filesystem.js';
import { FileHandlesDefinition } from '../gen/hst/host/v1/handles.js';
import { KeyValueDefinition } from '../gen/hst/host/v1/kv.js';
import { PermissionsDefinition } from '../gen/hst/host/v1/permissions.js';
import { allHostServices } from '../host-services/catalog.js';
import { Code, RpcError } from '../rpc/status.js';
import { hostHarness } from '../../test/support/host-harness.js';
import { AuditLog, readAudit } from './audit.js';
import { guardHostServices } from './guard.js';
import { Policy } from './policy.js';

async function guarded(manifest: string[], onPermissionRequest?: (r: { capability: string }) => boolean) {
  const h = await hostHarness({ modules: allHostServices });
  const policy = new Policy();
  policy.setManifest('a', manifest);
  const audit = new AuditLog({ path: join(h.dir, 'data', 'audit.jsonl') });
  guardHostServices({ hostServices: h.hostServices, policy, audit, binarySha256: () => 'ab'.repeat(32), ...(onPermissionRequest ? { onPermissionRequest } : {}) });
  const p = await h.plugin('a');
  return { h, p, policy, audit };
}

const code = (e: unknown) => (e as RpcError).code;

it('decides every call by the manifest and audits it with the deciding rule', async () => {
  const { h, p, audit } = await guarded(['fs.read:docs/**']);
  try {
    writeFileSync(join(h.workspace, 'secret.txt'), 'no');
    const fs = p.client(FilesystemDefinition);
    await fs.writeFile({ path: 'docs/x', data: Buffer.from('1') }).catch((e) => assert.equal(code(e), Code.PERMISSION_DENIED));
    const denied = await fs.readFile({ path: 'secret.txt' }).catch((e: RpcError) => e);
    assert.equal(code(denied), Code.PERMISSION_DENIED);
    assert.match((denied as RpcError).details, /Filesystem\/ReadFile secret\.txt: denied by default deny/);
    await assert.rejects(fs.readFile({ path: 'docs/missing' }), (e: RpcError) => e.code === Code.NOT_FOUND);
    const records = readAudit(audit.path);
    assert.deepEqual(
      records.map((r) => [r.op, r.resource, r.decision, r.rule]),
      [
        ['Filesystem/WriteFile', 'docs/x', 'deny', 'default deny'],
        ['Filesystem/ReadFile', 'secret.txt', 'deny', 'default deny'],
        ['Filesystem/ReadFile', 'docs/missing', 'allow', 'fs.read:docs/**'],
      ],
    );
    assert.equal(records[2]?.error !== undefined, true, 'an allowed call that failed keeps its error');
    assert.equal(records[0]?.plugin, 'a');
    assert.equal(records[0]?.instance, p.caller.clientId);
    assert.equal(records[0]?.binary_sha256, 'ab'.repeat(32));
  } finally {
    audit.close();
    await h.close();
  }
});

it('a revoke applies to the next call and closes handles opened under it', async () => {
  const { h, p, policy, audit } = await guarded(['fs.read:docs/**', 'kv']);
  try {
    writeFileSync(join(h.workspace, 'x.txt'), 'x');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(h.workspace, 'docs'));
    writeFileSync(join(h.workspace, 'docs', 'a.txt'), 'hello');
    const handles = p.client(FileHandlesDefinition);
    const { handle: id } = await handles.open({ path: 'docs/a.txt', read: true });
    assert.equal(Buffer.from((await handles.read({ handle: id, n: 2 })).data).toString(), 'he');
    await p.client(KeyValueDefinition).put({ key: 'k', value: Buffer.from('v') });
    policy.revoke('a', 'fs.read:docs/**');
    policy.revoke('a', 'kv');
    await assert.rejects(handles.read({ handle: id, n: 2 }), (e: RpcError) => e.code === Code.PERMISSION_DENIED || e.code === Code.NOT_FOUND);
    assert.deepEqual((await handles.listHandles({}).catch(() => ({ handles: [] }))).handles, [], 'the handle survived the revoke');
    await assert.rejects(p.client(KeyValueDefinition).get({ key: 'k' }), (e: RpcError) => e.code === Code.PERMISSION_DENIED);
    policy.grant('a', 'kv');
    assert.equal((await p.client(KeyValueDefinition).get({ key: 'k' })).found, true);
    const events = readAudit(audit.path).filter((r) => r.event);
    assert.deepEqual(events.map((r) => `${r.event} ${r.capability}`), ['revoke fs.read:docs/**', 'revoke kv', 'grant kv']);
  } finally {
    audit.close();
    await h.close();
  }
});

it('lets a plugin ask about its permissions, and the host answer its requests', async () => {
  const asked: string[] = [];
  const { h, p, audit } = await guarded(['fs.read:docs/**', 'deny:fs.read:docs/private/**'], (r) => (asked.push(r.capability), r.capability === 'kv'));
  try {
    const perms = p.client(PermissionsDefinition);
    assert.deepEqual(await perms.query({ kind: 'fs.read', resource: 'docs/a' }), { allowed: true, rule: 'fs.read:docs/**' });
    assert.deepEqual(await perms.query({ kind: 'fs.read', resource: 'docs/private/a' }), { allowed: false, rule: 'deny:fs.read:docs/private/**' });
    await assert.rejects(perms.query({ kind: 'root', resource: '' }), (e: RpcError) => e.code === Code.INVALID_ARGUMENT);
    assert.deepEqual((await perms.request({ capability: 'exec:/bin/sh', reason: 'please' })).granted, false);
    assert.deepEqual((await perms.request({ capability: 'kv', reason: 'cache' })).granted, true);
    assert.deepEqual(asked, ['exec:/bin/sh', 'kv']);
    assert.deepEqual((await perms.list({})).capabilities, ['fs.read:docs/**', 'deny:fs.read:docs/private/**', 'kv']);
    await p.client(KeyValueDefinition).put({ key: 'k', value: Buffer.from('v') });
  } finally {
    audit.close();
    await h.close();
  }
});
