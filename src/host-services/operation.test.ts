/**
 * Host-service modules an application adds: what admitModules refuses before
 * anything is served, and the capability kinds a module defines, as the
 * manifest, the policy and the matcher then see them. Kinds are process-wide
 * (each test file runs in a process of its own), so the order here matters:
 * the first test sees none of the application's kinds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NotesDefinition } from '../../examples/notes/gen/acme/notes/v1/notes.js';
import { parseManifest } from '../security/manifest.js';
import { Policy } from '../security/policy.js';
import { appCapabilityStyle, covers, defineCapabilityKind, parseCapabilityString } from '../security/capability.js';
import { allHostServices } from './catalog.js';
import { admitModules, hostService, type HostServiceModule } from './operation.js';

const MANIFEST = 'name: p\nversion: 0.1.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: K\n  magic_cookie_value: v\ncapabilities:\n  - notes.read:shared/**\n';

function notes(overrides: Partial<HostServiceModule<typeof NotesDefinition>> = {}): HostServiceModule<typeof NotesDefinition> {
  return hostService({
    definition: NotesDefinition,
    capabilities: { 'notes.read': 'glob', 'notes.write': 'glob' },
    operations: { put: { capability: 'notes.write', resource: (r) => r.name }, get: { capability: 'notes.read', resource: (r) => r.name } },
    create: () => ({ put: () => ({ revision: 1 }), get: () => ({ text: '', revision: 0, writtenBy: '' }) }),
    ...overrides,
  });
}

describe("host services an application adds", () => {
  it('before its module is admitted, its kinds are no capability: the manifest says so, with a hint', () => {
    assert.throws(() => parseManifest(MANIFEST, 'p.yaml'), /p\.yaml:9:5: capabilities\[0\]: "notes\.read:shared\/\*\*" is not a capability; .*hst --host-services <module>/);
    assert.throws(() => parseCapabilityString('notes.read:x'), /is not a capability/);
  });

  it('refuses, in one line naming the service: an undeclared kind, a method without a spec, a spec for no method, a service twice, a kind of hst\'s', () => {
    const cases: Array<[HostServiceModule<any>[], RegExp]> = [
      [[notes({ capabilities: { 'notes.read': 'glob' } })], /^Error: host service acme\.notes\.v1\.Notes: operation put uses capability "notes\.write", which neither hst nor the module defines/],
      [[notes({ operations: { get: { capability: 'notes.read' } } as never })], /^Error: host service acme\.notes\.v1\.Notes: method put has no operation spec/],
      [[notes({ operations: { put: { capability: 'notes.write' }, get: { capability: 'notes.read' }, remove: { capability: 'notes.write' } } as never })], /operation remove is not a method of the service/],
      [[notes(), notes()], /^Error: host service acme\.notes\.v1\.Notes is registered twice$/],
      [[notes({ capabilities: { kv: 'flag', 'notes.read': 'glob', 'notes.write': 'glob' } })], /^Error: host service acme\.notes\.v1\.Notes: capability kind "kv" is hst's own and cannot be redefined$/],
      [[notes({ capabilities: { 'Notes Read': 'glob', 'notes.write': 'glob' } })], /is not a capability kind name/],
      [[...allHostServices, { ...allHostServices[0]! }], /is registered twice/],
    ];
    for (const [modules, message] of cases) assert.throws(() => admitModules(modules), message);
  });

  it('once admitted, its kinds are capabilities: manifests ask for them, globs match names, flags take no pattern', () => {
    admitModules([...allHostServices, notes()]);
    assert.deepEqual(parseManifest(MANIFEST, 'p.yaml').capabilities, ['notes.read:shared/**']);
    assert.throws(() => parseManifest(MANIFEST.replace('notes.read:shared/**', 'notes.read'), 'p.yaml'), /notes\.read needs a pattern; expected notes\.read:<glob>/);
    const grant = parseCapabilityString('notes.read:shared/**');
    assert.equal(covers(grant, 'notes.read', 'shared/a/b'), true);
    assert.equal(covers(grant, 'notes.read', 'private/a'), false);
    assert.equal(covers(grant, 'notes.write', 'shared/a'), false);

    defineCapabilityKind('notes.admin', 'flag');
    assert.equal(appCapabilityStyle('notes.admin'), 'flag');
    assert.throws(() => parseCapabilityString('notes.admin:x'), /notes\.admin takes no pattern/);
    assert.throws(() => defineCapabilityKind('notes.admin', 'glob'), /already defined as a flag, not a glob/);
    defineCapabilityKind('notes.admin', 'flag'); // the same again is harmless
  });

  it('the policy decides them like hst\'s own: the manifest grants, an operator deny wins', () => {
    const policy = new Policy({ deny: ['notes.read:shared/secret/**'] });
    policy.setManifest('p', ['notes.read:shared/**']);
    assert.equal(policy.decide('p', 'notes.read', 'shared/todo').allowed, true);
    assert.equal(policy.decide('p', 'notes.read', 'shared/secret/key').allowed, false);
    assert.equal(policy.decide('p', 'notes.write', 'shared/todo').allowed, false);
  });
});
