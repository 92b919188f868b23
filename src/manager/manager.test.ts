/**
 * The plugin manager with real plugin processes: the fixtures under
 * test/fixtures/manager are plain JS plugins on the built package.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCommand, type CommandEvent } from '../host/commands.js';
import type { ClientConnection } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { readAudit } from '../security/audit.js';
import { probeSandbox } from '../security/sandbox.js';
import { keygen, signPlugin } from '../security/signature.js';
import type { PluginManager } from './manager.js';
import type { PluginManagerEvents } from './plugin-info.js';
import { alive, goPeers, pythonPeer } from '../../test/support/peers.js';
import { until } from '../../test/support/assertions.js';
import { managerFactory } from '../../test/support/managers.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const pluginsDir = join(repo, 'test', 'fixtures', 'manager', 'plugins');
const scratch = mkdtempSync(join(tmpdir(), 'hst-manager-'));
const probe = await probeSandbox();
const noIsolation = !probe.bwrap && !probe.launcher && !process.env.CI ? `no isolation here: ${probe.reasons.bwrap}; ${probe.reasons.launcher}` : false;
const python = pythonPeer();
const go = goPeers();
after(() => rmSync(scratch, { recursive: true, force: true }));

const manager = managerFactory(pluginsDir, scratch, { sandbox: 'off', ...('python' in python ? { pythonCommand: python.python } : {}) });

async function run(m: PluginManager, plugin: string, command: string, args: Record<string, string> = {}): Promise<CommandEvent[]> {
  const events: CommandEvent[] = [];
  for await (const event of m.runCommand(plugin, command, args)) events.push(event);
  return events;
}

function result(events: CommandEvent[]): { value: any; exitCode: number } {
  const last = events.at(-1);
  assert.ok(last && 'result' in last, `no result in ${JSON.stringify(events)}`);
  return last.result as { value: any; exitCode: number };
}

async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  const err = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  return err;
}

/** The next event of this kind from the manager. */
function next<E extends keyof PluginManagerEvents>(m: PluginManager, event: E): Promise<PluginManagerEvents[E]> {
  return once(m, event) as unknown as Promise<PluginManagerEvents[E]>;
}

describe('PluginManager', () => {
  it('starts a plugin and runs its commands, with arguments checked against the manifest', async () => {
    const m = manager();
    try {
      const info = await m.start('toolbox');
      assert.equal(info.status, 'running');
      assert.ok(info.pid && alive(info.pid));
      assert.equal(info.language, 'javascript');
      assert.deepEqual(info.sandbox, { layers: [], inactive: [] });
      assert.equal(info.signature?.status, 'unsigned');

      assert.deepEqual(await run(m, 'toolbox', 'greet', { name: 'Ada' }), [{ output: 'hello, Ada\n' }, { result: { value: { greeted: 'Ada' }, exitCode: 0 } }]);
      assert.equal(result(await run(m, 'toolbox', 'pid')).value.pid, info.pid, 'the manager talks to the process it started');

      const missing = await rejection(run(m, 'toolbox', 'greet'));
      assert.equal(missing.code, Code.INVALID_ARGUMENT);
      assert.equal(missing.details, 'plugin "toolbox" command "greet": argument "name" is required');
      const bad = await rejection(run(m, 'toolbox', 'greet', { name: 'Ada Lovelace' }));
      assert.match(bad.details, /argument "name" = "Ada Lovelace" does not match \^\[A-Za-z\]\+\$/);
      const unknown = await rejection(run(m, 'toolbox', 'deploy'));
      assert.equal(unknown.code, Code.NOT_FOUND);
      const nobody = await rejection(run(m, 'nobody', 'greet'));
      assert.equal(nobody.code, Code.NOT_FOUND);
      assert.match(nobody.details, /no plugin named "nobody" in .*\(found: .*toolbox/);
      const refused = await rejection(m.start('missing-binary'));
      assert.equal(refused.code, Code.FAILED_PRECONDITION);
      assert.equal(refused.details, 'plugin "missing-binary" is unavailable: bin/missing-binary not found; run npm run build:plugins');

      const listed = m.list();
      assert.deepEqual(
        listed.map((p) => [p.name, p.status]),
        [
          ['broken', 'invalid'],
          ['crashy', 'discovered'],
          ['missing-binary', 'unavailable'],
          ['pyplugin', 'skip' in python ? 'unavailable' : 'discovered'],
          ['toolbox', 'running'],
        ],
      );
    } finally {
      await m.shutdown();
    }
  });

  it('ends a call at the manifest timeout with DEADLINE_EXCEEDED and the plugin stays usable', async () => {
    const m = manager();
    try {
      const { pid } = await m.start('toolbox');
      const started = Date.now();
      const timedOut = await rejection(run(m, 'toolbox', 'sleep', { ms: '10000' }));
      const took = Date.now() - started;
      assert.equal(timedOut.code, Code.DEADLINE_EXCEEDED);
      assert.equal(timedOut.details, 'plugin "toolbox" command "sleep" did not finish within 1500 ms (the plugin\'s call timeout, resources.call_timeout in its manifest); the plugin keeps running');
      // Not early, and well before the 10 s the command would have slept: the bound is the behaviour, not a speed.
      assert.ok(took >= 1_450 && took < 9_000, `took ${took} ms`);

      const viaCall = await rejection(m.call('toolbox', ({ connection, signal }) => sleepThrough(connection, signal), { timeoutMs: 200 }));
      assert.equal(viaCall.code, Code.DEADLINE_EXCEEDED);
      assert.equal(viaCall.details, 'plugin "toolbox" call did not finish within 200 ms (the timeout this call was given); the plugin keeps running');

      assert.equal(result(await run(m, 'toolbox', 'sleep', { ms: '10' })).value.slept, 10);
      assert.equal(result(await run(m, 'toolbox', 'pid')).value.pid, pid, 'not restarted');
      assert.equal(m.info('toolbox')?.restarts, 0);
    } finally {
      await m.shutdown();
    }
  });

  it('restarts a plugin killed from outside: in-flight calls fail clearly, a new process takes over', async () => {
    const m = manager({ restart: { initialBackoffMs: 50 } });
    try {
      const first = (await m.start('toolbox')).pid as number;
      const states: string[] = [];
      m.on('state', (info) => info.name === 'toolbox' && states.push(info.status));
      const exited = next(m, 'exited');
      const restarted = next(m, 'restarted');
      const inFlight = rejection(run(m, 'toolbox', 'sleep', { ms: '1000' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      m.kill('toolbox');

      const failure = await inFlight;
      assert.equal(failure.code, Code.UNAVAILABLE);
      assert.match(failure.details, /^plugin "toolbox" was killed by SIGKILL during \/hst\.plugin\.v1\.Commands\/Run/);
      const [exit] = await exited;
      assert.deepEqual(exit, { name: 'toolbox', pid: first, code: null, signal: 'SIGKILL', reason: 'the plugin process was killed by SIGKILL' });
      const [restart] = await restarted;
      assert.equal(restart.restarts, 1);
      assert.notEqual(restart.pid, first);
      assert.equal(alive(first), false);

      const info = m.info('toolbox');
      assert.equal(info?.status, 'running');
      assert.equal(info?.restarts, 1);
      assert.equal(info?.pid, restart.pid);
      assert.deepEqual(states, ['restarting', 'running']);
      assert.equal(result(await run(m, 'toolbox', 'pid')).value.pid, restart.pid);
      assert.deepEqual(result(await run(m, 'toolbox', 'greet', { name: 'Grace' })).value, { greeted: 'Grace' });
    } finally {
      await m.shutdown();
    }
  });

  it('gives up on a plugin that keeps crashing, keeping its last stderr lines', async () => {
    const m = manager({ restart: { maxRestarts: 2, initialBackoffMs: 20, windowMs: 60_000 } });
    try {
      const failed = next(m, 'failed');
      await m.start('crashy');
      const [event] = await failed;
      assert.equal(event.name, 'crashy');
      // Usually it dies after each restart; on a slow machine it may die during one, which reads "restart N failed: ...".
      assert.match(event.error, /exited with code 1.*; gave up after more than 2 restarts within 60 s$/s);
      assert.ok(event.lastStderr.some((line) => line.includes('Error: crashy: the configuration is corrupt, giving up')), event.lastStderr.join('\n'));
      const info = m.info('crashy');
      assert.equal(info?.status, 'failed');
      assert.equal(info?.restarts, 2);
      assert.equal(info?.pid, undefined);
      assert.deepEqual(info?.lastStderr, event.lastStderr);
      const refused = await rejection(run(m, 'crashy', 'anything'));
      assert.equal(refused.code, Code.NOT_FOUND, 'its manifest has no commands');
      const unavailable = await rejection(m.call('crashy', async () => 'never'));
      assert.equal(unavailable.code, Code.UNAVAILABLE);
      assert.match(unavailable.details, /^plugin "crashy" is failed: .*gave up after/s);
    } finally {
      await m.shutdown();
    }
  });

  it('restarts a plugin that stops answering health checks', async () => {
    const m = manager({ health: { intervalMs: 200, timeoutMs: 200 }, restart: { initialBackoffMs: 20 } });
    try {
      const first = (await m.start('toolbox')).pid;
      const exited = next(m, 'exited');
      const restarted = next(m, 'restarted');
      const hung = rejection(run(m, 'toolbox', 'hang', { ms: '20000' }));
      const [exit] = await exited;
      assert.match(exit.reason, /^health check failed: /);
      assert.equal(exit.signal, 'SIGKILL');
      assert.equal((await hung).code, Code.UNAVAILABLE);
      const [restart] = await restarted;
      assert.notEqual(restart.pid, first);
      assert.equal(result(await run(m, 'toolbox', 'greet', { name: 'Ada' })).exitCode, 0);
    } finally {
      await m.shutdown();
    }
  });

  it('shuts down every plugin and leaves no process behind; shutdown is idempotent', async () => {
    const m = manager({ restart: { initialBackoffMs: 20 } });
    // Every process the manager ever starts, crashy's restarts included.
    const pids = new Set<number>();
    let crashyRestarted = false;
    m.on('started', ({ pid }) => pids.add(pid));
    m.on('restarted', ({ name, pid }) => {
      pids.add(pid);
      crashyRestarted ||= name === 'crashy';
    });
    try {
      await m.startAll();
      // A restart takes as long as a start, which a loaded machine stretches: wait for it, within a bound.
      await until(() => crashyRestarted, 'crashy restarted', 30_000);
      assert.equal(m.info('toolbox')?.status, 'running');
      assert.ok((m.info('crashy')?.restarts ?? 0) >= 1, 'crashy has been restarted at least once');
    } finally {
      await Promise.all([m.shutdown(), m.shutdown()]);
    }
    await m.shutdown();
    assert.ok(pids.size >= 3, `pids: ${[...pids].join(', ')}`);
    for (const pid of pids) assert.equal(alive(pid), false, `plugin process ${pid} is still alive`);
    assert.equal(m.info('toolbox')?.status, 'stopped');
    assert.equal(m.info('crashy')?.status, 'stopped');
    const closed = await rejection(m.start('toolbox'));
    assert.equal(closed.details, 'the plugin manager is shut down');
  });

  it('under signature policy require refuses an unsigned plugin with a clear message and audits it', async () => {
    const keys = join(scratch, 'trusted-empty');
    mkdirSync(keys, { recursive: true });
    const m = manager({ signaturePolicy: 'require', trustedKeysDir: keys });
    try {
      const refused = await rejection(m.start('toolbox'));
      assert.equal(refused.code, Code.FAILED_PRECONDITION);
      assert.equal(
        refused.details,
        `plugin "toolbox" is invalid: plugin "toolbox" (${join(pluginsDir, 'toolbox')}) failed signature verification (unsigned): no plugin.sig in ${join(pluginsDir, 'toolbox')}`,
      );
      assert.equal(m.info('toolbox')?.status, 'invalid');
      await m.shutdown();
      const denied = readAudit(m.auditPath, { denied: true });
      assert.deepEqual(
        denied.map((r) => [r.plugin, r.event, r.rule, (r.detail as { status: string }).status]),
        [['toolbox', 'signature', 'signature policy require', 'unsigned']],
      );
    } finally {
      await m.shutdown();
    }
  });

  it("takes the sandbox, signature and hard-link rules from the operator's policy when its options give none", async () => {
    const keys = join(scratch, 'trusted-empty');
    mkdirSync(keys, { recursive: true });
    // The factory's own default (sandbox off) is taken away, so the policy speaks.
    const m = manager({ sandbox: undefined, trustedKeysDir: keys, policy: { sandbox: 'off', signatures: 'require' } });
    try {
      const refused = await rejection(m.start('toolbox'));
      assert.match(refused.details, /failed signature verification \(unsigned\)/);
      assert.equal(m.list().find((p) => p.name === 'crashy')?.status, 'invalid', 'every plugin is held to it');
    } finally {
      await m.shutdown();
    }
    const off = manager({ sandbox: undefined, policy: { sandbox: 'off' } });
    try {
      await off.discover();
      assert.equal(off.info('toolbox')?.sandboxMode, 'off');
    } finally {
      await off.shutdown();
    }
    const overridden = manager({ sandbox: 'require', policy: { sandbox: 'off' } });
    try {
      await overridden.discover();
      assert.equal(overridden.info('toolbox')?.sandboxMode, 'require', 'an explicit option wins');
    } finally {
      await overridden.shutdown();
    }
  });

  it('under signature policy require starts a signed plugin, and refuses it once its entry changed', async () => {
    const dir = join(scratch, 'signed-plugins');
    const plugin = join(dir, 'signed');
    mkdirSync(plugin, { recursive: true });
    writeFileSync(join(plugin, 'plugin.yaml'), `name: signed\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: signed\n`);
    const sdk = pathToFileURL(join(repo, 'dist', 'src', 'index.js')).href;
    writeFileSync(join(plugin, 'main.js'), `import { serve } from ${JSON.stringify(sdk)};\nawait serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'signed' }, plugins: {} });\n`);
    const key = keygen(join(scratch, 'keys'));
    await signPlugin(plugin, key.privateKeyPath, { name: 'signed', version: '1.0.0', command: 'main.js' });

    const m = manager({ pluginDirs: [dir], signaturePolicy: 'require', trustedKeysDir: join(scratch, 'keys') });
    try {
      const info = await m.start('signed');
      assert.equal(info.status, 'running');
      assert.deepEqual(info.signature, { status: 'valid', keyId: key.keyId, detail: `signed by key ${key.keyId}` });
      await m.stop('signed');
      assert.equal(m.info('signed')?.status, 'stopped');

      appendFileSync(join(plugin, 'main.js'), '// changed after signing\n');
      await assert.rejects(m.start('signed'), /failed signature verification \(tampered\): command main\.js changed since it was signed/);
      const after = m.info('signed');
      assert.equal(after?.status, 'failed');
      assert.equal(after?.signature?.status, 'tampered');
    } finally {
      await m.shutdown();
    }
    const signatures = readAudit(m.auditPath).filter((r) => r.event === 'signature');
    assert.deepEqual(
      signatures.map((r) => [r.decision, (r.detail as { status: string }).status]),
      [
        ['allow', 'valid'],
        ['deny', 'tampered'],
      ],
    );
  });

  it('records a host call the policy denies in the audit log, with the plugin and the rule', async () => {
    const dataDir = join(scratch, 'audited');
    const m = manager({ dataDir });
    try {
      await m.start('toolbox');
      const workspace = join(dataDir, 'workspaces', 'toolbox');
      mkdirSync(join(workspace, 'public'), { recursive: true });
      writeFileSync(join(workspace, 'public', 'hello.txt'), 'hello from the workspace');
      writeFileSync(join(workspace, 'secret.txt'), 'the secret');

      assert.deepEqual(result(await run(m, 'toolbox', 'read', { path: 'public/hello.txt' })).value, { text: 'hello from the workspace' });
      const denied = result(await run(m, 'toolbox', 'read', { path: 'secret.txt' }));
      assert.equal(denied.exitCode, 1);
      assert.match(denied.value.error, /PERMISSION_DENIED: .*Filesystem\/ReadFile secret\.txt: denied by default deny/);
      assert.doesNotMatch(JSON.stringify(denied), /the secret/);
    } finally {
      await m.shutdown();
    }
    const records = readAudit(m.auditPath).filter((r) => r.op === 'Filesystem/ReadFile');
    assert.deepEqual(
      records.map((r) => [r.plugin, r.resource, r.decision, r.rule]),
      [
        ['toolbox', 'public/hello.txt', 'allow', 'fs.read:public/**'],
        ['toolbox', 'secret.txt', 'deny', 'default deny'],
      ],
    );
    const sandbox = readAudit(m.auditPath).find((r) => r.event === 'sandbox');
    assert.deepEqual(sandbox?.detail, { layers: [], inactive: [], reason: 'the host runs plugins with sandbox off' });
  });
});


describe('PluginManager with the sandbox', () => {
  it('runs a plugin isolated and under seccomp with sandbox auto, and audits the layers', { skip: noIsolation }, async () => {
    const dataDir = join(scratch, 'sandboxed');
    const m = manager({ sandbox: 'auto', dataDir });
    try {
      const info = await m.start('toolbox');
      for (const layer of ['isolation', 'seccomp', 'node-permissions', 'env', 'watchdog'] as const) {
        assert.ok(info.sandbox?.layers.includes(layer), `layer ${layer} missing: ${info.sandbox?.layers.join(', ')}`);
      }
      assert.deepEqual(result(await run(m, 'toolbox', 'greet', { name: 'Ada' })).value, { greeted: 'Ada' });
      const workspace = join(dataDir, 'workspaces', 'toolbox');
      mkdirSync(join(workspace, 'public'), { recursive: true });
      writeFileSync(join(workspace, 'public', 'inside.txt'), 'through the host');
      assert.deepEqual(result(await run(m, 'toolbox', 'read', { path: 'public/inside.txt' })).value, { text: 'through the host' });

      const restarted = next(m, 'restarted');
      m.kill('toolbox');
      const [restart] = await restarted;
      assert.equal(alive(info.pid as number), false);
      assert.ok(m.info('toolbox')?.sandbox?.layers.includes('isolation'), 'the restarted plugin is sandboxed again');
      assert.equal(result(await run(m, 'toolbox', 'pid')).exitCode, 0);
      assert.notEqual(restart.pid, info.pid);
    } finally {
      await m.shutdown();
    }
    const recorded = readAudit(m.auditPath).find((r) => r.event === 'sandbox');
    assert.ok((recorded?.detail as { layers: string[] }).layers.includes('isolation'));
  });
});


describe('PluginManager with a Python plugin', () => {
  it('typed command arguments reach a TypeScript and a Python plugin as numbers, booleans and parsed JSON', { skip: 'skip' in python ? python.skip : false }, async () => {
    const m = manager();
    try {
      for (const plugin of ['toolbox', 'pyplugin']) {
        const got = result(await run(m, plugin, 'typed', { on: 'yes', data: '{"points":[1,2.5],"name":"x"}', label: '007' }));
        assert.deepEqual(got.value, { n: 1, on: true, data: { points: [1, 2.5], name: 'x' }, label: '007' }, plugin);
        const refused = await run(m, plugin, 'typed', { n: 'two' }).catch((e: RpcError) => e);
        assert.ok(refused instanceof RpcError && refused.code === Code.INVALID_ARGUMENT, String(refused));
        assert.match(refused.details, new RegExp(`plugin "${plugin}" command "typed": argument "n" = "two" is not a whole number`));
      }
    } finally {
      await m.shutdown();
    }
  });

  it('starts it, answers health checks, and stops it', { skip: 'skip' in python ? python.skip : false }, async () => {
    const m = manager({ health: { intervalMs: 100, timeoutMs: 2_000 } });
    try {
      const info = await m.start('pyplugin');
      assert.equal(info.status, 'running');
      assert.equal(info.language, 'python');
      await m.call('pyplugin', ({ client }) => client.ping());
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(m.info('pyplugin')?.restarts, 0, 'health checks pass');
      await m.shutdown();
      assert.equal(alive(info.pid as number), false);
    } finally {
      await m.shutdown();
    }
  });
});

/** A call that outlasts any short timeout: the sleep command, run directly on the connection. */
async function sleepThrough(connection: ClientConnection, signal: AbortSignal): Promise<void> {
  for await (const event of runCommand(connection, 'sleep', { ms: '10000' }, { signal })) assert.ok(!('result' in event), 'the sleep was cut short');
}

describe('PluginManager with a Go binary plugin', () => {
  it('runs a signed go-plugin binary under signature policy require', { skip: 'skip' in go ? go.skip : false }, async () => {
    const dir = join(scratch, 'go-plugins');
    const plugin = join(dir, 'gokv');
    mkdirSync(join(plugin, 'bin'), { recursive: true });
    copyFileSync(join((go as { bin: string }).bin, 'kv-plugin'), join(plugin, 'bin', 'kv-plugin'));
    writeFileSync(
      join(plugin, 'plugin.yaml'),
      'name: gokv\nversion: 1.0.0\nruntime: binary\ncommand: bin/kv-plugin\nhandshake:\n  protocol_versions: [1]\n  magic_cookie_key: BASIC_PLUGIN\n  magic_cookie_value: hello\n',
    );
    const keys = join(scratch, 'go-keys');
    const key = keygen(keys);
    await signPlugin(plugin, key.privateKeyPath, { name: 'gokv', version: '1.0.0', command: 'bin/kv-plugin' });

    const m = manager({ pluginDirs: [dir], signaturePolicy: 'require', trustedKeysDir: keys, sandbox: probe.bwrap || probe.launcher ? 'auto' : 'off' });
    try {
      const info = await m.start('gokv');
      assert.equal(info.status, 'running');
      assert.equal(info.language, 'go');
      assert.equal(info.signature?.status, 'valid');
      await m.call('gokv', ({ client }) => client.ping());
      const audited = readAudit(m.auditPath).find((r) => r.event === 'signature');
      assert.equal((audited?.detail as { status: string }).status, 'valid');
    } finally {
      await m.shutdown();
    }
    assert.ok(existsSync(m.auditPath));
  });
});

describe('PluginManager signal handling', () => {
  it('with handleSignals, SIGTERM shuts the plugins down and then ends the host by the signal', async () => {
    const script = join(scratch, 'host.mjs');
    const url = (path: string) => JSON.stringify(pathToFileURL(join(repo, 'dist', 'src', path)).href);
    writeFileSync(
      script,
      `import { PluginManager } from ${url('manager/manager.js')};
import { silentLogger } from ${url('log.js')};
const m = new PluginManager({ pluginDirs: [${JSON.stringify(pluginsDir)}], dataDir: ${JSON.stringify(join(scratch, 'signal-data'))}, sandbox: 'off', logger: silentLogger, handleSignals: true, health: { intervalMs: 0 } });
const info = await m.start('toolbox');
process.stdout.write(JSON.stringify({ pid: info.pid }) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const host = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(host, 'exit');
    const [line] = (await once(host.stdout, 'data')) as [Buffer];
    const { pid } = JSON.parse(line.toString()) as { pid: number };
    assert.ok(alive(pid));
    host.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [null, 'SIGTERM']);
    assert.equal(alive(pid), false, 'the plugin went with its host');
  });
});
