/**
 * The Python plugin built on sdk/python (grpcio from PyPI) with our TS host,
 * and with go-plugin's own Go host where broker multiplexing is concerned.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PluginClient } from '../../src/index.js';
import { MemoryLogger } from '../../src/log.js';
import { allHostServices } from '../../src/host-services/catalog.js';
import type { CallRecord } from '../../src/host-services/dispatch.js';
import { establishHostServices } from '../../src/host-services/establish.js';
import { HostServices } from '../../src/host-services/host-services.js';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { checkKvRoundTrip, killCleanly } from '../support/contracts.js';
import { collector, eventually, goPeers, inTempDir, pythonPeer, repo } from '../support/peers.js';

const peer = pythonPeer();
const skip = 'skip' in peer ? peer.skip : false;
const python = 'python' in peer ? peer.python : 'python3';
const kvPluginPy = join(repo, 'interop', 'python', 'kv_plugin.py');
const hostKvPluginPy = join(repo, 'interop', 'python', 'host_kv_plugin.py');

describe('TS host loads the Python plugin', { skip }, () => {
  it('has up-to-date generated Python code', () => {
    const out = execFileSync(python, [join(repo, 'sdk', 'python', 'check_generated.py')], { encoding: 'utf8' });
    assert.match(out, /generated Python code is up to date/);
  });

  for (const autoMTLS of [false, true]) {
    for (const multiplex of [false, true]) {
      const named = [autoMTLS ? 'with AutoMTLS' : '', multiplex ? 'multiplexed' : ''].filter(Boolean).join(', ');
      it(`KV${named ? ` ${named}` : ''}: calls and GRPCStdio`, () =>
        inTempDir(async (dir) => {
          const stdout = collector();
          const stderr = collector();
          const logger = new MemoryLogger();
          const client = new PluginClient({
            name: 'py-kv',
            handshake,
            plugins: { [PLUGIN_NAME]: kvPlugin() },
            command: { path: python, args: [kvPluginPy], cwd: dir },
            autoMTLS,
            multiplex,
            logger,
            syncStdout: stdout.stream,
            syncStderr: stderr.stream,
            stdin: 'ignore',
          });
          await checkKvRoundTrip(client, 'plugin-python', autoMTLS);
          assert.equal(client.handshake?.multiplex, multiplex || undefined);
          assert.ok(await eventually(() => stdout.text().includes('put a') && stderr.text().includes('get a')), `${stdout.text()} | ${stderr.text()}`);
          await killCleanly(client, logger);
        }));
    }
  }

  for (const autoMTLS of [false, true]) {
    for (const multiplex of [false, true]) {
      const named = [autoMTLS ? 'with AutoMTLS' : '', multiplex ? 'multiplexed' : ''].filter(Boolean).join(', ');
      it(`host services${named ? ` ${named}` : ''}: the plugin dials the host through the broker`, () =>
        inTempDir(async (dir) => {
          const hostServices = new HostServices({ modules: allHostServices, dataDir: join(dir, 'data'), logger: new MemoryLogger() });
          const records: CallRecord[] = [];
          hostServices.on('call', (r) => records.push(r));
          const logger = new MemoryLogger();
          const client = new PluginClient({
            name: 'py-host-kv',
            handshake,
            plugins: { [PLUGIN_NAME]: kvPlugin() },
            command: { path: python, args: [hostKvPluginPy], cwd: dir },
            autoMTLS,
            multiplex,
            logger,
            stdin: 'ignore',
          });
          try {
            assert.ok(await establishHostServices(client, hostServices, { workspace: dir }), 'the plugin did not take host services');
            assert.equal(client.handshake?.multiplex, multiplex || undefined);
            const kv = await client.dispense<KV>(PLUGIN_NAME);
            // Concurrent calls, each a host-service call back over the broker connection.
            await Promise.all(Array.from({ length: 10 }, (_, i) => kv.put(`k${i}`, Buffer.from(`v${i}`))));
            assert.equal(Buffer.from(await kv.get('k7')).toString(), 'v7\n\nWritten from host-kv-plugin (python)');
            assert.equal(readFileSync(join(dir, 'kv_k3'), 'utf8'), 'v3\n\nWritten from host-kv-plugin (python)');
            assert.equal(records.filter((r) => r.operation === 'Filesystem/WriteFile' && r.ok && r.owner === 'py-host-kv').length, 10);
            await killCleanly(client, logger);
            assert.ok(await eventually(() => hostServices.callers().length === 0), 'the plugin still holds host services');
          } finally {
            await client.kill();
            await hostServices.close();
          }
        }));
    }
  }
});

const go = goPeers();
const goBin = 'bin' in go ? go.bin : '';

interface GoHostReport {
  results: Array<{ op: string; key: string; ok: boolean; value?: string; error?: string }>;
  stdout: string;
  stderr: string;
  forcedKill: boolean;
  killMs: number;
  exitedAfterKill: boolean;
  hostLog: string;
  error?: string;
}

describe('Go host (go-plugin) loads the Python plugin, multiplexed', { skip: skip || ('skip' in go ? go.skip : false) }, () => {
  for (const autoMTLS of [false, true]) {
    it(`KV${autoMTLS ? ' with AutoMTLS' : ''}: calls, GRPCStdio and Shutdown all on the one connection`, () =>
      inTempDir(async (dir) => {
        const flags = ['-contract', 'kv', '-multiplex', '-do', 'put=a=hello', '-do', 'get=a', ...(autoMTLS ? ['-auto-mtls'] : [])];
        const { stdout } = await promisify(execFile)(join(goBin, 'host'), [...flags, '--', python, kvPluginPy], { cwd: dir });
        const report = JSON.parse(stdout) as GoHostReport;
        assert.equal(report.error ?? '', '', report.hostLog);
        assert.deepEqual(report.results.map((r) => r.ok), [true, true]);
        assert.equal(report.results[1]?.value, 'hello\n\nWritten from plugin-python');
        assert.match(report.hostLog, /client muxer connected/, 'go-plugin ran the connection multiplexed');
        if (autoMTLS) assert.match(report.hostLog, /configuring client automatic mTLS/);
        assert.match(report.stdout, /put a\n/);
        assert.match(report.stderr, /get a\n/);
        assert.equal(report.forcedKill, false, report.hostLog);
        assert.ok(report.killMs < 2_000, `kill took ${report.killMs} ms`);
        assert.equal(report.exitedAfterKill, true);
      }));
  }
});
