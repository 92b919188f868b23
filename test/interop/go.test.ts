/**
 * Interop with real go-plugin (the version in interop/go/go.mod, from the Go
 * module proxy) in both directions: a Go host loading our TypeScript
 * plugins, and our TypeScript host loading Go plugins.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Code, PluginClient, RpcError } from '../../src/index.js';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { counterPlugin, PLUGIN_NAME as COUNTER } from '../../examples/bidirectional/shared.js';
import { checkCounterCallsBack, checkKvRoundTrip, killCleanly } from '../support/contracts.js';
import { MemoryLogger } from '../../src/log.js';
import { collector, eventually, fixture, goPeers, inTempDir, repo } from '../support/peers.js';

const run = promisify(execFile);
const peers = goPeers();
const skip = 'skip' in peers ? peers.skip : false;
const bin = (name: string) => join('bin' in peers ? peers.bin : '', name);

interface GoHostReport {
  negotiatedVersion: number;
  protocol: string;
  pid: number;
  results: Array<{ op: string; key: string; ok: boolean; value?: string; error?: string }>;
  stdout: string;
  stderr: string;
  pluginStderr: string;
  killMs: number;
  forcedKill: boolean;
  exitedAfterKill: boolean;
  hostLog: string;
  error?: string;
}

async function goHost(cwd: string, flags: string[], command: string[], env: Record<string, string> = {}): Promise<GoHostReport> {
  const { stdout } = await run(bin('host'), [...flags, '--', ...command], { cwd, env: { ...process.env, ...env } });
  return JSON.parse(stdout) as GoHostReport;
}

const tsKvPlugin = [process.execPath, fixture('kv-plugin')];
/** AutoMTLS and broker multiplexing, each off and on. */
const variants = [false, true].flatMap((autoMTLS) => [false, true].map((multiplex) => [autoMTLS, multiplex] as const));
const named = (autoMTLS: boolean, multiplex: boolean) => [autoMTLS ? ' with AutoMTLS' : '', multiplex ? ' multiplexed' : ''].join(autoMTLS && multiplex ? ',' : '');
const tsCounterPlugin = [process.execPath, join(repo, 'dist', 'examples', 'bidirectional', 'plugin.js')];

describe('Go host (go-plugin) loads TS plugins', { skip }, () => {
  for (const autoMTLS of [false, true]) {
    it(`KV${autoMTLS ? ' with AutoMTLS' : ''}: calls, GRPCStdio into SyncStdout, Shutdown exit`, () =>
      inTempDir(async (dir) => {
        const flags = ['-contract', 'kv', '-do', 'put=a=hello', '-do', 'get=a', ...(autoMTLS ? ['-auto-mtls'] : [])];
        const report = await goHost(dir, flags, tsKvPlugin);
        assert.equal(report.error ?? '', '', report.hostLog);
        assert.deepEqual(report.results.map((r) => r.ok), [true, true]);
        assert.equal(report.results[1]?.value, 'hello\n\nWritten from plugin-ts');
        assert.match(report.stdout, /kv-plugin stdout: put a\nkv-plugin stdout: get a\n/);
        assert.match(report.stderr, /kv-plugin stderr: put a\n/);
        if (autoMTLS) assert.match(report.hostLog, /configuring client automatic mTLS/);
        // Exit after Shutdown within go-plugin's 2 s grace period, without SIGKILL.
        assert.equal(report.forcedKill, false, report.hostLog);
        assert.ok(report.killMs < 2_000, `kill took ${report.killMs} ms`);
        assert.equal(report.exitedAfterKill, true);
        // hclog lines from our plugin are re-logged by the Go host at their level.
        assert.match(report.hostLog, /"@level":"warn","@message":"kv warn put","@module":"kv-plugin"/);
      }));
  }

  it('negotiates version 3 when the host offers 2,3 and the plugin serves 1,3', () =>
    inTempDir(async (dir) => {
      const report = await goHost(dir, ['-versions', '2,3', '-do', 'put=v=x', '-do', 'get=v'], tsKvPlugin, { KV_PLUGIN_VERSIONS: '1,3' });
      assert.equal(report.error ?? '', '');
      assert.equal(report.negotiatedVersion, 3);
    }));

  for (const [autoMTLS, multiplex] of variants) {
    it(`Counter${named(autoMTLS, multiplex)}: the TS plugin dials the Go host's AddHelper through the broker`, () =>
      inTempDir(async (dir) => {
        const flags = ['-contract', 'counter', '-do', 'put=c=5', '-do', 'put=c=37', '-do', 'get=c', ...(autoMTLS ? ['-auto-mtls'] : []), ...(multiplex ? ['-multiplex'] : [])];
        const report = await goHost(dir, flags, tsCounterPlugin);
        assert.equal(report.error ?? '', '', report.hostLog);
        assert.equal(report.results[2]?.value, '42');
        assert.equal(report.forcedKill, false);
        if (multiplex) assert.match(report.hostLog, /client muxer connected/, 'go-plugin ran the connection multiplexed');
      }));
  }

  it('KV, multiplexed: calls, GRPCStdio and Shutdown all on the one connection', () =>
    inTempDir(async (dir) => {
      const report = await goHost(dir, ['-contract', 'kv', '-multiplex', '-do', 'put=a=hello', '-do', 'get=a'], tsKvPlugin);
      assert.equal(report.error ?? '', '', report.hostLog);
      assert.equal(report.results[1]?.value, 'hello\n\nWritten from plugin-ts');
      assert.match(report.stdout, /kv-plugin stdout: put a\n/);
      assert.equal(report.forcedKill, false, report.hostLog);
    }));
});

describe('TS host loads Go plugins (go-plugin)', { skip }, () => {
  for (const autoMTLS of [false, true]) {
    it(`KV${autoMTLS ? ' with AutoMTLS' : ''}: calls, hclog levels, GRPCStdio`, () =>
      inTempDir(async (dir) => {
        const logger = new MemoryLogger();
        const stdout = collector();
        const stderr = collector();
        const client = new PluginClient({
          name: 'go-kv',
          handshake,
          plugins: { [PLUGIN_NAME]: kvPlugin() },
          command: { path: bin('kv-plugin'), cwd: dir },
          autoMTLS,
          logger,
          syncStdout: stdout.stream,
          syncStderr: stderr.stream,
          stdin: 'ignore',
        });
        await checkKvRoundTrip(client, 'plugin-go-grpc', autoMTLS);
        for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) {
          assert.equal(logger.find(`kv ${level} put`)?.level, level, `hclog ${level} not mapped`);
        }
        assert.equal(logger.find('kv info put')?.fields.key, 'a');
        assert.ok(await eventually(() => stdout.text().includes('kv-plugin stdout: get a')), stdout.text());
        assert.match(stderr.text(), /kv-plugin stderr: put a/);
        await killCleanly(client, logger);
      }));
  }

  for (const [autoMTLS, multiplex] of variants) {
    it(`Counter${named(autoMTLS, multiplex)}: the Go plugin calls back into our AddHelper through the broker`, () =>
      inTempDir(async (dir) => {
        const client = new PluginClient({
          name: 'go-counter',
          handshake,
          plugins: { [COUNTER]: counterPlugin() },
          command: { path: bin('counter-plugin'), cwd: dir },
          autoMTLS,
          multiplex,
          logger: new MemoryLogger(),
          stdin: 'ignore',
        });
        await checkCounterCallsBack(client);
        assert.equal(client.handshake?.multiplex, multiplex || undefined);
        await client.kill();
      }));
  }

  it('reports a Go plugin panic with the panic text', () =>
    inTempDir(async (dir) => {
      const logger = new MemoryLogger();
      const client = new PluginClient({
        name: 'go-kv',
        handshake,
        plugins: { [PLUGIN_NAME]: kvPlugin() },
        command: { path: bin('kv-plugin'), cwd: dir, env: { KV_PANIC_ON_GET: 'boom' } },
        logger,
        stdin: 'ignore',
      });
      const kv = await client.dispense<KV>(PLUGIN_NAME);
      const err = await kv.get('boom').then(() => assert.fail('call succeeded'), (e: unknown) => e as RpcError);
      assert.equal(err.code, Code.UNAVAILABLE);
      assert.match(err.message, /plugin "go-kv" exited with code 2 during \/proto\.KV\/Get/);
      assert.match(err.message, /panic: kv plugin panic: boom boom|goroutine/);
      const panicLine = logger.find(/^panic: kv plugin panic: boom boom/);
      assert.equal(panicLine?.level, 'error');
      // go-plugin's rule: everything after the panic line is an error too.
      const after = logger.entries.slice(logger.entries.indexOf(panicLine!) + 1).filter((e) => e.message.startsWith('goroutine'));
      assert.ok(after.length > 0 && after.every((e) => e.level === 'error'));
      assert.deepEqual(await client.exited, { code: 2, signal: null });
    }));
});
