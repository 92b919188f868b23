import { it } from 'node:test';
import assert from 'node:assert/strict';
import { allHostServices } from './catalog.js';
import { hostServiceDefinitions } from '../plugin/host-services-client.js';

const CAPABILITIES = new Set(['fs.read', 'fs.write', 'env', 'exec', 'process.spawn', 'kv', 'temp', 'system', 'events.publish', 'events.subscribe', 'log', 'net', 'permissions', 'self']);

it('every RPC of every host service declares a known capability', () => {
  const missing: string[] = [];
  let rpcs = 0;
  for (const module of allHostServices) {
    for (const [key, method] of Object.entries(module.definition.methods as Record<string, { name: string }>)) {
      rpcs++;
      const spec = (module.operations as Record<string, { capability: string } | undefined>)[key];
      if (!spec || !CAPABILITIES.has(spec.capability)) missing.push(`${module.definition.fullName}/${method.name}`);
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(rpcs >= 65, `only ${rpcs} host operations`);
});

it('plugins get a typed client for every domain the host serves', () => {
  const served = allHostServices.map((m) => m.definition.fullName).sort();
  const offered = Object.values(hostServiceDefinitions).map((d) => d.fullName).sort();
  assert.deepEqual(offered, served);
});

it('docs/host-services.md lists every operation', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { repo } = await import('../../test/support/peers.js');
  const doc = readFileSync(join(repo, 'docs', 'host-services.md'), 'utf8');
  const missing = allHostServices.flatMap((m) =>
    Object.values(m.definition.methods as Record<string, { name: string }>)
      .filter((method) => !doc.includes(`| ${m.definition.name} | ${method.name}`))
      .map((method) => `${m.definition.name}/${method.name}`),
  );
  assert.deepEqual(missing, []);
});
