/**
 * One HostServices shared by a TypeScript plugin and a real go-plugin Go
 * plugin, each connected with one line, each confined to its own workspace,
 * each known by the connection its calls arrive on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PluginClient } from '../../src/index.js';
import { MemoryLogger } from '../../src/log.js';
import { allHostServices } from '../../src/host-services/catalog.js';
import { establishHostServices } from '../../src/host-services/establish.js';
import { HostServices } from '../../src/host-services/host-services.js';
import type { CallRecord } from '../../src/host-services/dispatch.js';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { openFds } from '../support/assertions.js';
import { eventually, fixture, goPeers, inTempDir } from '../support/peers.js';

const go = goPeers();

function kvClient(name: string, command: { path: string; args?: string[] }) {
  return new PluginClient({ name, handshake, plugins: { [PLUGIN_NAME]: kvPlugin() }, command, logger: new MemoryLogger(), stdin: 'ignore' });
}

describe('host services shared by TS and Go plugins', { skip: 'skip' in go ? go.skip : false }, () => {
  it('serves both through one instance, each in its own workspace under its own identity', () =>
    inTempDir(async (dir) => {
      const fdsBefore = openFds();
      const hostServices = new HostServices({ modules: allHostServices, dataDir: join(dir, 'data'), logger: new MemoryLogger() });
      const records: CallRecord[] = [];
      hostServices.on('call', (r) => records.push(r));
      const bin = 'bin' in go ? go.bin : '';
      const plugins = [
        { name: 'ts-kv', client: kvClient('ts-kv', { path: process.execPath, args: [fixture('host-kv-plugin')] }), suffix: '(ts)' },
        { name: 'go-kv', client: kvClient('go-kv', { path: join(bin, 'host-kv-plugin') }), suffix: '(go)' },
      ];
      for (const p of plugins) {
        const workspace = join(dir, p.name);
        mkdirSync(workspace);
        const connection = await establishHostServices(p.client, hostServices, { workspace });
        assert.ok(connection, `${p.name} did not take host services`);
      }
      // 100 concurrent calls across both plugins, on separate keys and one shared name.
      const work = Array.from({ length: 50 }, (_, i) =>
        plugins.map(async (p) => {
          const kv = await p.client.dispense<KV>(PLUGIN_NAME);
          await kv.put(`k${i}`, Buffer.from(`${p.name}-${i}`));
          assert.equal(Buffer.from(await kv.get(`k${i}`)).toString(), `${p.name}-${i}\n\nWritten from host-kv-plugin ${p.suffix}`);
        }),
      ).flat();
      await Promise.all(work);
      for (const p of plugins) {
        assert.equal(readFileSync(join(dir, p.name, 'kv_k7'), 'utf8'), `${p.name}-7\n\nWritten from host-kv-plugin ${p.suffix}`);
      }
      const owners = new Map<string, Set<string>>();
      for (const r of records) owners.set(r.owner, (owners.get(r.owner) ?? new Set()).add(r.clientId));
      assert.deepEqual([...owners.keys()].sort(), ['go-kv', 'ts-kv']);
      assert.ok([...owners.values()].every((ids) => ids.size === 1), 'one client id per plugin instance');
      assert.equal(records.filter((r) => r.operation === 'Filesystem/WriteFile').length, 100);
      assert.ok(records.every((r) => r.ok));

      // A plugin killed outright releases everything it held.
      process.kill(plugins[1]!.client.pid as number, 'SIGKILL');
      await plugins[1]!.client.exited;
      assert.ok(await eventually(() => hostServices.callers().length === 1), 'the killed plugin still holds host services');
      await plugins[0]!.client.kill();
      assert.ok(await eventually(() => hostServices.callers().length === 0));
      await hostServices.close();
      assert.ok(await eventually(() => openFds() <= fdsBefore), `fds leaked: ${openFds()} > ${fdsBefore}`);
    }));

  it('skips a plugin that does not implement HostConnection', () =>
    inTempDir(async (dir) => {
      const hostServices = new HostServices({ modules: allHostServices, dataDir: join(dir, 'data'), logger: new MemoryLogger() });
      const client = kvClient('plain-go-kv', { path: join('bin' in go ? go.bin : '', 'kv-plugin') });
      const connection = await establishHostServices(client, hostServices, { workspace: dir });
      assert.equal(connection, undefined);
      assert.equal(hostServices.callers().length, 0);
      await client.kill();
      await hostServices.close();
    }));
});
