/**
 * Our host with our plugins: every protocol feature end to end, including
 * the failure paths a plugin author meets first.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ChecksumMismatchError, Code, generateCertificate, PluginClient, PluginStartError, RpcError, cleanupClients, type PluginClientOptions } from '../../src/index.js';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { counterPlugin, PLUGIN_NAME as COUNTER } from '../../examples/bidirectional/shared.js';
import { checkCounterCallsBack, killCleanly } from '../support/contracts.js';
import { MemoryLogger } from '../../src/log.js';
import { sleep, until } from '../support/assertions.js';
import { alive, collector, eventually, groupMembers, inTempDir, nodePlugin, repo, transportUnderTest } from '../support/peers.js';

function kvClient(cwd: string, extra: Partial<PluginClientOptions> = {}, env: Record<string, string> = {}) {
  const logger = new MemoryLogger();
  const stdout = collector();
  const stderr = collector();
  const client = new PluginClient({
    name: 'kv',
    handshake,
    plugins: { [PLUGIN_NAME]: kvPlugin() },
    command: { ...nodePlugin('kv-plugin'), cwd, env },
    logger,
    syncStdout: stdout.stream,
    syncStderr: stderr.stream,
    stdin: 'ignore',
    ...extra,
  });
  return { client, logger, stdout, stderr };
}

async function startFailure(options: Partial<PluginClientOptions>, env: Record<string, string>): Promise<{ err: PluginStartError; client: PluginClient }> {
  const { client } = kvClient(process.cwd(), options, env);
  const err = await client.start().then(
    () => assert.fail('start should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PluginStartError, `expected PluginStartError, got ${err}`);
  return { err, client };
}

describe('TS host loads TS plugins', () => {
  it('serves KV, streams stdio into the sinks and maps hclog levels', () =>
    inTempDir(async (dir) => {
      const { client, logger, stdout, stderr } = kvClient(dir);
      const kv = await client.dispense<KV>(PLUGIN_NAME);
      await kv.put('a', Buffer.from('hello'));
      assert.equal(Buffer.from(await kv.get('a')).toString(), 'hello\n\nWritten from plugin-ts');
      assert.equal(readFileSync(join(dir, 'kv_a'), 'utf8'), 'hello\n\nWritten from plugin-ts');
      assert.equal(client.negotiatedVersion, 1);
      assert.equal(client.handshake?.address.network, transportUnderTest === 'grpc' ? 'unix' : 'socketpair');
      await client.ping();
      assert.ok(await eventually(() => stdout.text().includes('kv-plugin stdout: get a')), stdout.text());
      assert.match(stdout.text(), /kv-plugin stdout: put a\n/);
      assert.match(stderr.text(), /kv-plugin stderr: put a\n/);
      for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) {
        const entry = logger.find(`kv ${level} put`);
        assert.ok(entry, `no ${level} entry`);
        assert.equal(entry.level, level);
        assert.equal(entry.fields.key, 'a');
        assert.equal(entry.fields.module, 'kv-plugin');
      }
      await killCleanly(client, logger);
      assert.deepEqual(await client.exited, { code: 0, signal: null });
    }));

  it('keeps the offer of the native transport from the programs the plugin starts', () =>
    inTempDir(async (dir) => {
      // After serve(), the plugin's stderr reaches the host through GRPCStdio.
      const { client, stderr } = kvClient(dir, {}, { HST_FIXTURE_CHILD_ENV: '1' });
      await client.dispense<KV>(PLUGIN_NAME);
      assert.equal(client.handshake?.protocol, transportUnderTest === 'grpc' ? 'grpc' : 'hst1');
      assert.ok(await eventually(() => stderr.text().includes('child-offer=')), stderr.text());
      assert.match(stderr.text(), /child-offer=none/);
      await client.kill();
    }));

  it('uses AutoMTLS over TCP, and version negotiation picks the highest common version', () =>
    inTempDir(async (dir) => {
      const plugins = { [PLUGIN_NAME]: kvPlugin() };
      const { client } = kvClient(dir, { autoMTLS: true, versionedPlugins: { 2: plugins, 3: plugins }, plugins: undefined }, {
        KV_PLUGIN_VERSIONS: '1,3',
        HST_FIXTURE_NETWORK: 'tcp',
      });
      const kv = await client.dispense<KV>(PLUGIN_NAME);
      await kv.put('tls', Buffer.from('secret'));
      assert.equal(Buffer.from(await kv.get('tls')).toString(), 'secret\n\nWritten from plugin-ts');
      assert.equal(client.negotiatedVersion, 3);
      assert.equal(client.handshake?.address.network, 'tcp');
      assert.match(client.handshake?.address.address ?? '', /^127\.0\.0\.1:\d+$/);
      assert.ok((client.handshake?.certificate?.length ?? 0) > 50);
      await client.kill();
    }));

  it('uses manual TLS, and carries messages far above 4 MiB', () =>
    inTempDir(async (dir) => {
      const [hostCert, pluginCert] = await Promise.all([generateCertificate(), generateCertificate()]);
      const pluginTls = { ...pluginCert, ca: hostCert.cert };
      const { client } = kvClient(dir, { tls: { ...hostCert, ca: pluginCert.cert, serverName: 'localhost' } }, { HST_FIXTURE_TLS: JSON.stringify(pluginTls) });
      const kv = await client.dispense<KV>(PLUGIN_NAME);
      const big = Buffer.alloc(12 * 1024 * 1024, 'x');
      await kv.put('big', big);
      const back = Buffer.from(await kv.get('big'));
      assert.equal(back.length, big.length + '\n\nWritten from plugin-ts'.length);
      assert.equal(client.handshake?.certificate, undefined, 'manual TLS must not use the AutoMTLS field');
      await client.kill();

      // The same plugin refuses a host that does not present the certificate it trusts.
      const stranger = await generateCertificate();
      const refused = kvClient(dir, { tls: { ...stranger, ca: pluginCert.cert, serverName: 'localhost' }, startTimeoutMs: 3_000 }, { HST_FIXTURE_TLS: JSON.stringify(pluginTls) });
      await assert.rejects(refused.client.start(), /error connecting to plugin/);
    }));

  it('refuses a plugin without a common version, with both version lists', async () => {
    const plugins = { [PLUGIN_NAME]: kvPlugin() };
    const { err, client } = await startFailure({ versionedPlugins: { 2: plugins }, plugins: undefined }, { KV_PLUGIN_VERSIONS: '1' });
    assert.match(err.message, /incompatible API version with plugin\. Plugin version: 1, Client versions: \[2\]/);
    await client.exited;
    assert.equal(alive(client.pid as number), false);
  });

  it('needs no plugins: without plugins or versionedPlugins it speaks the handshake\'s version and reaches the plugin\'s other services', () =>
    inTempDir(async (dir) => {
      const client = new PluginClient({ name: 'bare', handshake, command: { ...nodePlugin('kv-plugin'), cwd: dir }, logger: new MemoryLogger(), stdin: 'ignore' });
      try {
        await client.start();
        assert.equal(client.handshake?.appVersion, handshake.protocolVersion ?? 1);
        await client.ping(10_000);
      } finally {
        await client.kill();
      }
    }));

  // Multiplexing is gRPC's (native: false): the native session has channels of its own.
  for (const [autoMTLS, multiplex] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`serves a host callback through the broker (bidirectional counter)${autoMTLS ? ' with AutoMTLS' : ''}${multiplex ? ", multiplexed (go-plugin's GRPCBrokerMultiplex): on the one connection" : ''}`, () =>
      inTempDir(async (dir) => {
        const client = new PluginClient({
          name: 'counter',
          handshake,
          plugins: { [COUNTER]: counterPlugin() },
          command: { path: process.execPath, args: [join(repo, 'dist', 'examples', 'bidirectional', 'plugin.js')], cwd: dir },
          autoMTLS,
          ...(multiplex ? { multiplex, native: false } : {}),
          logger: new MemoryLogger(),
          stdin: 'ignore',
        });
        await checkCounterCallsBack(client);
        if (multiplex) {
          assert.equal(client.handshake?.multiplex, true);
          // The plugin's socket took the host's one connection and closed: nobody else gets in.
          const other = connect(client.handshake?.address.address as string);
          const [err] = (await once(other, 'error')) as [NodeJS.ErrnoException];
          assert.ok(['ENOENT', 'ECONNREFUSED'].includes(err.code ?? ''), err.message);
        }
        await client.kill();
      }));
  }

  it('reattaches to a running plugin from a second client and kills it there', () =>
    inTempDir(async (dir) => {
      // A socket pair cannot be handed to another process: reattaching is gRPC's.
      const first = kvClient(dir, { managed: false, native: false });
      const kv1 = await first.client.dispense<KV>(PLUGIN_NAME);
      await kv1.put('r', Buffer.from('kept'));
      const config = first.client.reattachConfig();
      assert.equal(config.pid, first.client.pid);
      first.client.detach();
      assert.ok(alive(config.pid));

      const second = new PluginClient({ name: 'kv-again', handshake, plugins: { [PLUGIN_NAME]: kvPlugin() }, reattach: config, logger: new MemoryLogger() });
      const kv2 = await second.dispense<KV>(PLUGIN_NAME);
      assert.equal(Buffer.from(await kv2.get('r')).toString(), 'kept\n\nWritten from plugin-ts');
      await second.kill();
      assert.ok(await eventually(() => !alive(config.pid)), 'plugin still running after kill from the reattached client');
    }));

  it('refuses to reattach to a process that is gone', async () => {
    const client = new PluginClient({
      handshake,
      reattach: { protocol: 'grpc', protocolVersion: 1, addr: { network: 'unix', address: '/nonexistent' }, pid: 2 ** 22 + 7 },
      logger: new MemoryLogger(),
    });
    await assert.rejects(client.start(), /reattachment process not found \(pid 4194311\)/);
  });

  it('verifies the checksum of the very file it executes', () =>
    inTempDir(async (dir) => {
      const digest = createHash('sha256').update(readFileSync(process.execPath)).digest('hex');
      const ok = kvClient(dir, { secureConfig: { checksum: digest } });
      const kv = await ok.client.dispense<KV>(PLUGIN_NAME);
      await kv.put('c', Buffer.from('x'));
      await ok.client.kill();

      const bad = kvClient(dir, { secureConfig: { checksum: '00'.repeat(32) } });
      const err = await bad.client.start().then(() => assert.fail('bad checksum accepted'), (e: unknown) => e);
      assert.ok(err instanceof ChecksumMismatchError);
      assert.match(String(err), /checksums did not match/);
      assert.equal(bad.client.pid, undefined, 'a process was started despite the mismatch');
    }));

  it('times out a plugin that never handshakes, says so, and leaves nothing running', async () => {
    const { client } = kvClient(process.cwd(), { command: { ...nodePlugin('misbehaving-plugin'), env: { MISBEHAVE: 'hang' } }, startTimeoutMs: 700 });
    const err = await client.start().then(() => assert.fail('started'), (e: unknown) => e as PluginStartError);
    assert.match(err.message, /^timeout while waiting for plugin to start/);
    assert.match(err.message, /still running but printed no handshake line within 0\.7s/);
    await client.exited;
    assert.deepEqual(groupMembers(client.pid as number), []);
  });

  it('bounds a stdout flood: the plugin stays small, a slow host sink holds it back, and the loss is counted', () =>
    inTempDir(async (dir) => {
      let received = 0;
      // A sink that takes 64 KiB a millisecond and says when it is behind.
      const stdout = new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          setTimeout(done, 1);
        },
      });
      const stderr = collector();
      const { client } = kvClient(dir, { syncStdout: stdout, syncStderr: stderr.stream });
      const kv = await client.dispense<KV>(PLUGIN_NAME);
      const { before, after } = JSON.parse(Buffer.from(await kv.get('flood:2000')).toString()) as { before: number; after: number };
      const grew = (after - before) / 1024 / 1024;
      assert.ok(grew < 100, `2,000 MB of stdout grew the plugin by ${grew.toFixed(0)} MB`);
      await until(() => /\[hst: \d+ bytes of output dropped: the host read them slower than the plugin wrote\]/.test(stderr.text()), 'the plugin owns up to the loss', 20_000);
      assert.ok(received < 64 * 1024 * 1024, `the host took ${received} bytes of a flood it could not keep up with`);
      await kv.put('after', Buffer.from('flood'));
      await client.kill();
    }));

  it('fails a call cleanly when the plugin crashes under it', () =>
    inTempDir(async (dir) => {
      const { client } = kvClient(dir, {}, { KV_PANIC_ON_GET: 'boom' });
      const exits: unknown[] = [];
      client.on('exit', (e) => exits.push(e));
      const kv = await client.dispense<KV>(PLUGIN_NAME);
      const err = await kv.get('boom').then(() => assert.fail('call succeeded'), (e: unknown) => e as RpcError);
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, Code.UNAVAILABLE);
      assert.match(err.message, /plugin "kv" exited with code 1 during \/proto\.KV\/Get/);
      assert.match(err.message, /kv plugin panic: boom boom/);
      assert.deepEqual(await client.exited, { code: 1, signal: null });
      assert.equal(exits.length, 1);
      assert.deepEqual(groupMembers(client.pid as number), []);
      await client.kill(); // after the fact: must not throw
    }));

  it('ignores SIGINT after the handshake: the host owns Ctrl-C', () =>
    inTempDir(async (dir) => {
      const { client } = kvClient(dir);
      await client.start();
      process.kill(client.pid as number, 'SIGINT');
      await sleep(200);
      await client.ping();
      const first = client.kill();
      assert.equal(client.kill(), first, 'kill is not idempotent');
      await first;
    }));

  it('kills every managed plugin on cleanup', () =>
    inTempDir(async (dir) => {
      const a = kvClient(dir).client;
      const b = kvClient(dir).client;
      await Promise.all([a.start(), b.start()]);
      await cleanupClients();
      assert.equal(alive(a.pid as number), false);
      assert.equal(alive(b.pid as number), false);
    }));
});

describe('TS host diagnoses plugins that fail to start', () => {
  const misbehave = (mode: string, extra: Partial<PluginClientOptions> = {}) =>
    startFailure({ command: { ...nodePlugin('misbehaving-plugin'), env: { MISBEHAVE: mode } }, ...extra }, {});

  it('a stray print before the handshake', async () => {
    const { err } = await misbehave('stray-print');
    assert.match(err.message, /^Unrecognized remote plugin message: starting up, please wait\.\.\./);
    assert.match(err.message, /printed "starting up, please wait\.\.\." on stdout before its handshake line/);
  });

  it('an early exit, with its code and last stderr lines', async () => {
    const { err } = await misbehave('exit');
    assert.match(err.message, /plugin exited before we could connect|Unrecognized remote plugin message/);
    assert.match(err.message, /exited with code 3/);
    assert.match(err.message, /\| fatal: config file \/etc\/plugin\.conf not found/);
  });

  it('a crash right after the handshake: at once, with how it ended, not at the start timeout', async () => {
    const { err, client } = await misbehave('crash-after-handshake', { startTimeoutMs: 60_000 });
    assert.match(err.message, /^plugin exited before we could connect to unix:\/nonexistent\/plugin-\d+/);
    assert.match(err.message, /exited with code 1 after its handshake line, before the host could connect/);
    assert.match(err.message, /\| fatal: lost my listener/);
    assert.doesNotMatch(err.message, /timeout|deadline/i);
    assert.deepEqual(await client.exited, { code: 1, signal: null });
  });

  it('a multiplexing answer the host did not ask for: one clear line, at once', async () => {
    const { err, client } = await misbehave('unasked-multiplex', { startTimeoutMs: 60_000 });
    assert.match(err.message, /answered that it multiplexes its broker connections, which this host did not ask for/);
    await client.exited;
    assert.deepEqual(groupMembers(client.pid as number), []);
  });

  it('a port that accepts and never speaks: the start fails within its one timeout, not twice it', async () => {
    const started = Date.now();
    const { err, client } = await misbehave('silent-port', { startTimeoutMs: 1_500 });
    const took = Date.now() - started;
    assert.match(err.message, /error connecting to plugin at tcp:127\.0\.0\.1:\d+/);
    // The handshake and the dial share the budget; before, each had all of it.
    assert.ok(took < 4_000, `the start took ${took} ms for a 1.5 s timeout`);
    await client.exited;
  });

  it('terminal escapes in what the plugin printed are written out, never passed to the terminal', async () => {
    const { err } = await misbehave('terminal-escapes', { startTimeoutMs: 60_000 });
    assert.doesNotMatch(err.message, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u);
    assert.match(err.message, /\\u001b\]0;pwned\\u0007\\u001b\[2Jhello/);
  });

  it('a cookie mismatch', async () => {
    const { err } = await startFailure({ handshake: { ...handshake, magicCookieValue: 'goodbye' } }, {});
    assert.match(err.message, /refused the magic cookie/);
    assert.match(err.message, /BASIC_PLUGIN=goodbye/);
  });

  it('a file that is not executable', () =>
    inTempDir(async (dir) => {
      const path = join(dir, 'plugin');
      writeFileSync(path, '#!/bin/sh\necho hi\n');
      chmodSync(path, 0o644);
      const { err } = await startFailure({ command: { path } }, {});
      assert.match(err.message, /is not executable \(mode 644\); run chmod \+x/);
    }));

  it('a binary for another architecture', () =>
    inTempDir(async (dir) => {
      const path = join(dir, 'plugin');
      const elf = Buffer.alloc(64);
      elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
      elf.writeUInt16LE(2, 16);
      elf.writeUInt16LE(process.arch === 'arm64' ? 0x3e : 0xb7, 18);
      writeFileSync(path, elf);
      chmodSync(path, 0o755);
      const { err } = await startFailure({ command: { path } }, {});
      assert.match(err.message, new RegExp(`is built for (x64|arm64), but this machine is ${process.arch}`));
    }));

  it('a missing command', async () => {
    const { err } = await startFailure({ command: { path: '/nonexistent/plugin' } }, {});
    assert.match(err.message, /"\/nonexistent\/plugin" was not found/);
  });

  it('a netrpc plugin', async () => {
    const refused = await misbehave('netrpc');
    assert.match(refused.err.message, /unsupported plugin protocol "netrpc"\. Supported: \[grpc\]/);
    const allowed = await misbehave('netrpc', { allowedProtocols: ['grpc', 'netrpc'] });
    assert.match(allowed.err.message, /speaks go-plugin's netrpc protocol, which hst does not implement/);
  });

  it('the native transport: offered to a command Node runs and to nothing else, and never taken unoffered', () =>
    inTempDir(async (dir) => {
      const offered = await misbehave('report-offer', { native: true });
      assert.match(offered.err.message, /\| offer=\d+/);
      const script = join(dir, 'not-node.sh');
      writeFileSync(script, '#!/bin/sh\necho "offer=${HST_NATIVE_FD:-none}" >&2\nexit 3\n');
      chmodSync(script, 0o755);
      const notNode = await startFailure({ command: { path: script } }, {});
      assert.match(notNode.err.message, /\| offer=none/);
      const unoffered = await misbehave('unoffered-native', { native: false });
      assert.match(unoffered.err.message, /unknown address type: 3/);
    }));

  it('a plugin that ignores the AutoMTLS certificate', async () => {
    const { err } = await misbehave('no-tls', { autoMTLS: true });
    assert.match(err.message, /ignored PLUGIN_CLIENT_CERT/);
  });
});
