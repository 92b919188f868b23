/**
 * Plugins inside the OS sandbox still speak the whole protocol: handshake on
 * a socket in a host-owned directory, broker both ways, host services.
 * Whatever the plugin does, it does through the host.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PluginClient, type PluginClientOptions } from '../../src/index.js';
import { MemoryLogger } from '../../src/log.js';
import { allHostServices } from '../../src/host-services/catalog.js';
import { establishHostServices } from '../../src/host-services/establish.js';
import { HostServices } from '../../src/host-services/host-services.js';
import { probeSandbox } from '../../src/security/sandbox.js';
import { AuditLog, readAudit } from '../../src/security/audit.js';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { goPeers, inTempDir, repo } from '../support/peers.js';

const probe = await probeSandbox();
const go = goPeers();
const skip = !probe.bwrap && !probe.launcher && !process.env.CI ? `no isolation here: ${probe.reasons.bwrap}; ${probe.reasons.launcher}` : 'skip' in go ? go.skip : false;

describe('sandboxed plugins', { skip }, () => {
  const cases: Array<{ name: string; sandbox: (dir: string) => NonNullable<PluginClientOptions['sandbox']>; entry: string }> = [
    {
      name: 'a TS plugin',
      entry: join(repo, 'dist', 'test', 'fixtures', 'host-kv-plugin.js'),
      sandbox: (work) => ({ runtime: 'node', pluginDir: join(repo, 'dist'), readOnlyPaths: [join(repo, 'node_modules'), join(repo, 'package.json')], workDir: work, require: ['isolation', 'seccomp'] }),
    },
    {
      name: 'a go-plugin Go plugin',
      entry: join('bin' in go ? go.bin : '', 'host-kv-plugin'),
      sandbox: (work) => ({ runtime: 'binary', pluginDir: 'bin' in go ? go.bin : '', workDir: work, require: ['isolation', 'seccomp'] }),
    },
  ];
  for (const c of cases) {
    it(`${c.name} runs isolated (${probe.bwrap ? 'bwrap' : "hst's launcher"}) under seccomp and works through host services`, () =>
      inTempDir(async (dir) => {
        const workspace = join(dir, 'workspace');
        const work = join(dir, 'work');
        mkdirSync(workspace);
        mkdirSync(work);
        const logger = new MemoryLogger();
        const hostServices = new HostServices({ modules: allHostServices, dataDir: join(dir, 'data'), logger: new MemoryLogger() });
        const client = new PluginClient({
          name: 'sandboxed-kv',
          handshake,
          plugins: { [PLUGIN_NAME]: kvPlugin() },
          command: { path: c.entry },
          sandbox: c.sandbox(work),
          logger,
          stdin: 'ignore',
        });
        const audit = new AuditLog({ path: join(dir, 'data', 'audit.jsonl') });
        client.on('sandbox', (report) => audit.recordEvent(client.name, 'sandbox', { ...report }));
        try {
          await client.start();
          const recorded = readAudit(audit.path).find((r) => r.event === 'sandbox');
          const layers = (recorded?.detail as { layers: string[] } | undefined)?.layers ?? [];
          for (const layer of ['isolation', 'seccomp', 'env', 'watchdog']) assert.ok(layers.includes(layer), `layer ${layer} missing: ${layers}`);
          assert.ok(await establishHostServices(client, hostServices, { workspace }));
          const kv = await client.dispense<KV>(PLUGIN_NAME);
          await kv.put('a', Buffer.from('inside'));
          assert.match(readFileSync(join(workspace, 'kv_a'), 'utf8'), /^inside\n\nWritten from host-kv-plugin/);
          assert.match(Buffer.from(await kv.get('a')).toString(), /^inside/);
        } finally {
          await client.kill();
          await hostServices.close();
          audit.close();
        }
      }));
  }
});
