import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { handshake, kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { PluginClient } from '../host/plugin-client.js';
import { eventually } from '../../test/support/assertions.js';
import { nodeHeapFlags, planSandbox, probeSandbox, SandboxAddressError, SandboxUnavailableError, type SandboxPlan, type SandboxProbe, type SandboxRequest } from './sandbox.js';

const probe = await probeSandbox();
const { ENOENT, EAFNOSUPPORT, EROFS, ENOSPC, EACCES } = constants.errno;

/** No tool at all: the plain process with only the always-on layers. */
const NOTHING: SandboxProbe = {
  bwrap: false,
  launcher: false,
  seccomp: false,
  landlock: 0,
  unshareUser: false,
  unshareNet: false,
  prlimit: false,
  setpriv: false,
  tools: {},
  reasons: {
    bwrap: 'bwrap not found (test)',
    launcher: 'launcher not built (test)',
    seccomp: 'needs bwrap (test)',
    landlock: 'needs the launcher (test)',
    unshareUser: 'unshare not found (test)',
    unshareNet: 'unshare not found (test)',
    prlimit: 'prlimit not found (test)',
    setpriv: 'setpriv not found (test)',
  },
};

function without(base: SandboxProbe, ...keys: Array<keyof typeof NOTHING.reasons>): SandboxProbe {
  const p: SandboxProbe = { ...base, reasons: { ...base.reasons } };
  for (const key of keys) {
    if (key === 'landlock') p.landlock = 0;
    else p[key] = false;
    p.reasons[key] = NOTHING.reasons[key] as string;
  }
  return p;
}

/**
 * Each way this machine can isolate a plugin, as a probe that picks it: bwrap
 * (with the launcher inside for Landlock) and hst's launcher alone, as on a
 * machine without bwrap. CI has both; a test of one that is missing here skips.
 */
const ISOLATIONS: Array<{ name: string; probe: SandboxProbe; skip: string | false }> = [
  { name: 'bwrap', probe, skip: !probe.bwrap && `bwrap unavailable: ${probe.reasons.bwrap}` },
  { name: "hst's launcher", probe: without(probe, 'bwrap'), skip: !probe.launcher && `launcher unavailable: ${probe.reasons.launcher}` },
  // CI installs both: there a missing one fails instead of skipping, unless the test runner hid bwrap on purpose.
].map((i) => ({ ...i, skip: process.env.CI && !process.env.HST_TEST_BWRAP_HIDDEN ? false : i.skip }));

/** The isolation layers a plan under `isolation` must list. */
function isolationLayers(isolation: { name: string; probe: SandboxProbe }): string[] {
  const p = isolation.probe;
  return ['isolation', ...(p.bwrap ? ['bwrap'] : []), ...(p.seccomp ? ['seccomp'] : []), ...(p.landlock ? ['landlock'] : []), 'privileges', 'watchdog'].sort();
}
const ISOLATION_LAYERS = ['isolation', 'bwrap', 'seccomp', 'landlock', 'privileges', 'watchdog'];

interface Case {
  base: string;
  pluginDir: string;
  workDir: string;
  socketDir: string;
  request(partial: Partial<SandboxRequest> & Pick<SandboxRequest, 'runtime' | 'entry'>): SandboxRequest;
  cleanup(): void;
}

function makeCase(files: Record<string, string> = {}): Case {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'hst-sandbox-')));
  const [pluginDir, workDir, socketDir] = ['plugin', 'work', 'sock'].map((d) => join(base, d)) as [string, string, string];
  for (const dir of [pluginDir, workDir, socketDir]) mkdirSync(dir, { mode: 0o700 });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(pluginDir, name), text, { mode: 0o755 });
  return {
    base,
    pluginDir,
    workDir,
    socketDir,
    request: (partial) => ({ args: [], pluginDir, workDir, socketDir, env: {}, ...partial, entry: join(pluginDir, partial.entry) }),
    cleanup: () => rmSync(base, { recursive: true, force: true }),
  };
}

function spawnPlan(plan: SandboxPlan): ChildProcess {
  return spawn(plan.command, plan.args, { env: plan.env, cwd: plan.cwd, stdio: ['ignore', 'pipe', 'pipe', ...plan.stdio], detached: true });
}

/** Runs a plan to its end and returns the plugin's first stdout line as JSON. */
async function runReport(plan: SandboxPlan): Promise<Record<string, unknown>> {
  const child = spawnPlan(plan);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  plan.cleanup();
  assert.equal(code, 0, `plugin failed (code ${code}, signal ${signal}): ${stderr}`);
  return JSON.parse(stdout.split('\n')[0] as string) as Record<string, unknown>;
}

async function loopbackServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((c) => c.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function readAll(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    connect(path)
      .setEncoding('utf8')
      .on('data', (d: string) => (text += d))
      .on('end', () => resolve(text))
      .on('error', reject);
  });
}

/**
 * A node plugin that reports what it may do, then serves one connection on a
 * unix socket in PLUGIN_UNIX_SOCKET_DIR and exits.
 */
const NODE_PLUGIN = `
import fs from 'node:fs';
import net from 'node:net';
import cp from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
const outcome = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code ?? e.message; } };
const report = {
  env: process.env,
  cwd: process.cwd(),
  passwd: outcome(() => fs.readFileSync('/etc/passwd')),
  writeWork: outcome(() => fs.writeFileSync('written.txt', 'from plugin')),
  writePluginDir: outcome(() => fs.writeFileSync(new URL('./dropped.txt', import.meta.url), 'x')),
  spawn: outcome(() => { const r = cp.spawnSync('/usr/bin/true'); if (r.error) throw r.error; }),
  worker: outcome(() => new Worker('0', { eval: true }).terminate()),
};
report.tcp = await new Promise((resolve) =>
  net.connect(Number(process.argv[2]), '127.0.0.1')
    .on('connect', function () { this.destroy(); resolve('connected'); })
    .on('error', (e) => resolve(e.code)));
const server = net.createServer((c) => c.end('hello from plugin', () => server.close()));
server.listen(join(process.env.PLUGIN_UNIX_SOCKET_DIR, 'plugin.sock'), () => console.log(JSON.stringify(report)));
setTimeout(() => process.exit(3), 10000).unref();
`;

/** Starts NODE_PLUGIN under `plan`, dials its socket through translateAddress, and returns its report. */
async function runNodePlugin(c: Case, plan: SandboxPlan): Promise<{ report: Record<string, unknown>; greeting: string; dialled: string }> {
  const child = spawnPlan(plan);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'close');
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.once('close', () => reject(new Error(`plugin exited before reporting: ${stderr}`)));
  });
  const dialled = plan.translateAddress({ network: 'unix', address: join(c.socketDir, 'plugin.sock') }).address;
  const greeting = await readAll(dialled);
  const [code] = (await exited) as [number | null];
  plan.cleanup();
  assert.equal(code, 0, stderr);
  return { report: JSON.parse(line) as Record<string, unknown>, greeting, dialled };
}

const PYTHON_PLUGIN = `
import json, os, socket
report = {'env': dict(os.environ)}
def errno(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno
    except MemoryError:
        return 'MemoryError'
report['passwd'] = errno(lambda: open('/etc/passwd').read())
report['inet'] = errno(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
report['unix'] = errno(lambda: socket.socket(socket.AF_UNIX).bind(os.path.join(os.environ['PLUGIN_UNIX_SOCKET_DIR'], 'py.sock')))
report['bigAlloc'] = errno(lambda: bytearray(512 * 1024 * 1024))
report['rootWrite'] = errno(lambda: open('/escape', 'w').close())
def fill_tmp():
    with open('/tmp/fill', 'wb') as f:
        for _ in range(200):
            f.write(bytes(1024 * 1024))
            f.flush()
report['tmpFill'] = errno(fill_tmp)
status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)
report['capEff'] = status['CapEff'].strip()
report['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
report['listRoot'] = errno(lambda: os.listdir('/'))
report['noNewPrivs'] = status['NoNewPrivs'].strip()
print(json.dumps(report))
`;

const GO_PLUGIN = `package main

import (
	"os"
	"strconv"
	"syscall"
)

func errno(err error) string {
	if err == nil {
		return "0"
	}
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if e, ok := err.(syscall.Errno); ok {
		return strconv.Itoa(int(e))
	}
	return err.Error()
}

func main() {
	_, readErr := os.ReadFile("/etc/passwd")
	fd, inetErr := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if inetErr == nil {
		syscall.Close(fd)
	}
	ufd, unixErr := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if unixErr == nil {
		unixErr = syscall.Bind(ufd, &syscall.SockaddrUnix{Name: os.Getenv("PLUGIN_UNIX_SOCKET_DIR") + "/go.sock"})
	}
	os.Stdout.WriteString("{\\"passwd\\":" + errno(readErr) + ",\\"inet\\":" + errno(inetErr) + ",\\"unix\\":" + errno(unixErr) + "}\\n")
}
`;

const hasGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
const hasPython = spawnSync('python3', ['-c', 'pass'], { stdio: 'ignore' }).status === 0;

const PLUGIN_ENV = { PLUGIN_TEST: 'visible', NODE_OPTIONS: '--allow-fs-read=/', PLUGIN_UNIX_SOCKET_GROUP: 'nogroup' };
/** Variables the runtimes or bwrap add on their own. */
const ADDED_BY_RUNTIME = new Set(['PWD', 'LC_CTYPE']);

// Present in every host-side environment the tests use; the plugins must never see it.
process.env.HST_SANDBOX_HOST_ONLY = 'must not leak';

/** The plugin's variables are the given ones, less what would undo a layer, plus the socket dir. */
function assertOnlyGivenEnv(env: unknown, expected = ['PLUGIN_TEST', 'PLUGIN_UNIX_SOCKET_DIR']): void {
  const names = Object.keys(env as object).filter((n) => !ADDED_BY_RUNTIME.has(n)).sort();
  assert.deepEqual(names, expected);
}

describe('probeSandbox', () => {
  it('tries each tool once, remembers the answer, and explains every missing feature', async (t) => {
    assert.equal(await probeSandbox(), probe);
    for (const key of ['bwrap', 'launcher', 'seccomp', 'landlock', 'unshareUser', 'unshareNet', 'prlimit', 'setpriv'] as const) {
      if (probe[key]) assert.equal(probe.reasons[key], undefined, key);
      else assert.match(probe.reasons[key] ?? '', /\S/, `${key} is off without a reason`);
    }
    for (const path of Object.values(probe.tools)) assert.ok(path.startsWith('/'), path);
    if (probe.seccomp || probe.landlock) assert.ok(probe.bwrap || probe.launcher, 'seccomp and Landlock are loaded through bwrap or the launcher');
    t.diagnostic(`measured: ${JSON.stringify(probe)}`);
  });
});

describe('sandboxed node plugin', () => {
  for (const isolation of ISOLATIONS) {
    it(`under ${isolation.name}: no /etc/passwd, no TCP, only the given env, writable workDir, reachable unix socket`, { skip: isolation.skip }, async () => {
      const c = makeCase({ 'main.mjs': NODE_PLUGIN });
      const { server, port } = await loopbackServer();
      try {
        const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', args: [String(port)], env: PLUGIN_ENV }), isolation.probe);
        assert.deepEqual(plan.layers.filter((l) => ISOLATION_LAYERS.includes(l)).sort(), isolationLayers(isolation));
        assert.ok(plan.layers.includes('node-permissions'));
        const { report, greeting, dialled } = await runNodePlugin(c, plan);
        assert.equal(report.passwd, 'ERR_ACCESS_DENIED');
        assert.equal(report.tcp, isolation.probe.seccomp ? 'EAFNOSUPPORT' : 'ECONNREFUSED');
        assertOnlyGivenEnv(report.env);
        assert.equal((report.env as Record<string, string>).PLUGIN_UNIX_SOCKET_DIR, c.socketDir);
        assert.equal(report.cwd, c.workDir);
        assert.equal(report.writeWork, 'ok');
        assert.equal(readFileSync(join(c.workDir, 'written.txt'), 'utf8'), 'from plugin');
        assert.equal(report.writePluginDir, 'ERR_ACCESS_DENIED');
        assert.equal(report.spawn, 'ERR_ACCESS_DENIED');
        assert.equal(report.worker, 'ERR_ACCESS_DENIED');
        assert.equal(greeting, 'hello from plugin');
        assert.ok(!dialled.startsWith(c.socketDir + '/'), 'the host dials its own link, not the plugin-writable path');
        assert.ok(!existsSync(dialled), 'cleanup removes the dial links');
      } finally {
        server.close();
        c.cleanup();
      }
    });

    it(`without seccomp, ${isolation.name} still cuts it off the host loopback: its own network namespace`, { skip: isolation.skip }, async () => {
      const c = makeCase({ 'main.mjs': NODE_PLUGIN });
      const { server, port } = await loopbackServer();
      try {
        const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', args: [String(port)], env: PLUGIN_ENV }), without(isolation.probe, 'seccomp', 'landlock'));
        assert.ok(!plan.layers.includes('seccomp') && plan.layers.includes('isolation'));
        const { report, greeting } = await runNodePlugin(c, plan);
        assert.equal(report.tcp, 'ECONNREFUSED', 'the host listens on that port, but not in the plugin\'s namespace');
        assert.equal(greeting, 'hello from plugin');
      } finally {
        server.close();
        c.cleanup();
      }
    });
  }

  it('with unshare and no isolation: own network namespace, unix sockets still cross it, watchdog and privileges from setpriv', { skip: !(probe.unshareNet && probe.setpriv) && 'unshare or setpriv unavailable' }, async () => {
    const c = makeCase({ 'main.mjs': NODE_PLUGIN });
    const { server, port } = await loopbackServer();
    try {
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', args: [String(port)], env: PLUGIN_ENV }), without(probe, 'bwrap', 'launcher', 'seccomp', 'landlock'));
      assert.ok(plan.layers.includes('unshare') && plan.layers.includes('watchdog') && plan.layers.includes('privileges'), plan.layers.join());
      assert.ok(!plan.layers.includes('bwrap') && !plan.layers.includes('isolation'));
      const { report, greeting } = await runNodePlugin(c, plan);
      assert.equal(report.tcp, 'ENETUNREACH', 'unshare leaves even lo down in the new namespace');
      assert.equal(report.passwd, 'ERR_ACCESS_DENIED');
      assertOnlyGivenEnv(report.env);
      assert.equal(greeting, 'hello from plugin');
    } finally {
      server.close();
      c.cleanup();
    }
  });

  it('with no OS tool at all: Node\'s permission model and a clean environment still hold', async () => {
    const c = makeCase({ 'main.mjs': NODE_PLUGIN });
    const { server, port } = await loopbackServer();
    try {
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', args: [String(port)], env: PLUGIN_ENV }), NOTHING);
      assert.deepEqual(plan.layers, ['env', 'session', 'node-permissions']);
      const noIsolation = "neither bubblewrap nor hst's launcher works here (bwrap not found (test); launcher not built (test))";
      assert.deepEqual(plan.inactive, [
        { layer: 'prlimit', reason: 'prlimit not found (test)' },
        { layer: 'isolation', reason: noIsolation },
        { layer: 'bwrap', reason: noIsolation },
        { layer: 'seccomp', reason: noIsolation },
        { layer: 'landlock', reason: noIsolation },
        { layer: 'unshare', reason: 'unshare not found (test)' },
        { layer: 'privileges', reason: 'setpriv not found (test)' },
        { layer: 'watchdog', reason: 'setpriv not found (test)' },
      ]);
      assert.equal(plan.command, realpathSync(process.execPath));
      const { report, greeting } = await runNodePlugin(c, plan);
      assert.equal(report.passwd, 'ERR_ACCESS_DENIED');
      assert.equal(report.spawn, 'ERR_ACCESS_DENIED');
      assert.equal(report.worker, 'ERR_ACCESS_DENIED');
      assert.equal(report.writePluginDir, 'ERR_ACCESS_DENIED');
      assert.equal(report.tcp, 'connected', 'Node 20 does not guard the network: that is what the OS layers are for');
      assertOnlyGivenEnv(report.env);
      assert.equal(greeting, 'hello from plugin');
    } finally {
      server.close();
      c.cleanup();
    }
  });
});

describe('go-plugin handshake through the sandbox', () => {
  it('the TS kv plugin announces a socket in socketDir and serves gRPC at the translated address', async () => {
    const root = realpathSync(fileURLToPath(new URL('../../../', import.meta.url)));
    const c = makeCase();
    try {
      const plan = await planSandbox({
        runtime: 'node',
        entry: join(root, 'dist', 'test', 'fixtures', 'kv-plugin.js'),
        args: [],
        // The whole checkout read-only: the plugin needs its package.json, node_modules and dist.
        pluginDir: root,
        workDir: c.workDir,
        socketDir: c.socketDir,
        env: { [handshake.magicCookieKey]: handshake.magicCookieValue, PLUGIN_PROTOCOL_VERSIONS: String(handshake.protocolVersion) },
      });
      const child = spawnPlan(plan);
      const exited = once(child, 'close');
      const line = await new Promise<string>((resolve) => child.stdout?.setEncoding('utf8').once('data', (d: string) => resolve(d.split('\n')[0] as string)));
      const [, appVersion, network, address] = line.split('|') as [string, string, 'unix' | 'tcp', string];
      assert.equal(network, 'unix');
      assert.ok(address.startsWith(c.socketDir + '/'), address);
      const client = new PluginClient({
        handshake,
        plugins: { [PLUGIN_NAME]: kvPlugin() },
        reattach: { protocol: 'grpc', protocolVersion: Number(appVersion), addr: plan.translateAddress({ network, address }), pid: child.pid as number },
        managed: false,
      });
      try {
        const kv = await client.dispense<KV>(PLUGIN_NAME);
        await kv.put('sandboxed', Buffer.from('value'));
        assert.match(String(await kv.get('sandboxed')), /^value\n/);
        assert.match(readFileSync(join(c.workDir, 'kv_sandboxed'), 'utf8'), /^value\n/, 'its cwd is workDir');
      } finally {
        await client.kill();
        await exited;
        plan.cleanup();
      }
    } finally {
      c.cleanup();
    }
  });
});

describe('other runtimes, under each isolation', () => {
  for (const isolation of ISOLATIONS) {
  it(`${isolation.name}, python3: /etc/passwd is not there, AF_INET is refused, its socket dir works, RLIMIT_DATA and the /tmp cap hold, / is read-only, no host process in sight`, { skip: isolation.skip || (!hasPython && 'python3 unavailable') }, async () => {
    const c = makeCase({ 'main.py': PYTHON_PLUGIN });
    try {
      const plan = await planSandbox(c.request({ runtime: 'python', entry: 'main.py', env: PLUGIN_ENV, resources: { memoryMb: 128 } }), isolation.probe);
      assert.deepEqual(plan.layers.filter((l) => ISOLATION_LAYERS.includes(l)).sort(), isolationLayers(isolation));
      assert.ok(!plan.layers.includes('node-permissions'));
      const report = await runReport(plan);
      assert.equal(report.passwd, ENOENT);
      assert.equal(report.inet, isolation.probe.seccomp ? EAFNOSUPPORT : 0);
      assert.equal(report.unix, 0);
      assert.ok(existsSync(join(c.socketDir, 'py.sock')));
      assert.equal(report.bigAlloc, probe.prlimit ? 'MemoryError' : 0);
      assert.equal(report.rootWrite, EROFS);
      assert.equal(report.tmpFill, !isolation.probe.bwrap || isolation.probe.bwrapTmpfsSize ? ENOSPC : 0, '/tmp is capped at memoryMb');
      assert.equal(report.capEff, '0000000000000000');
      assert.equal(report.noNewPrivs, '1');
      assert.deepEqual(report.pids, [1, 2], 'its own pid namespace: the sandbox\'s init and the plugin');
      assert.equal(report.listRoot, isolation.probe.landlock ? EACCES : 0, 'Landlock allows only what is mounted');
      // NODE_OPTIONS only matters to node plugins, so only they lose it.
      assertOnlyGivenEnv(report.env, ['NODE_OPTIONS', 'PLUGIN_TEST', 'PLUGIN_UNIX_SOCKET_DIR']);
    } finally {
      c.cleanup();
    }
  });

  it(`${isolation.name}, a static Go binary, by path and by an already-open fd (SecureConfig)`, { skip: isolation.skip || (!hasGo && 'go unavailable'), timeout: 150_000 }, async () => {
    const c = makeCase();
    const src = mkdtempSync(join(tmpdir(), 'hst-sandbox-go-'));
    try {
      writeFileSync(join(src, 'go.mod'), 'module sandboxprobe\n\ngo 1.20\n');
      writeFileSync(join(src, 'main.go'), GO_PLUGIN);
      const build = spawnSync('go', ['build', '-o', join(c.pluginDir, 'plugin'), '.'], {
        cwd: src,
        env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOPROXY: 'off', GOFLAGS: '-mod=mod' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(build.status, 0, build.stderr);

      const byPath = await runReport(await planSandbox(c.request({ runtime: 'binary', entry: 'plugin', env: PLUGIN_ENV }), isolation.probe));
      assert.deepEqual(byPath, { passwd: ENOENT, inet: isolation.probe.seccomp ? EAFNOSUPPORT : 0, unix: 0 });

      rmSync(join(c.socketDir, 'go.sock'));
      const fd = openSync(join(c.pluginDir, 'plugin'), 'r');
      try {
        const plan = await planSandbox(c.request({ runtime: 'binary', entry: 'plugin', env: PLUGIN_ENV, executableFd: fd }), isolation.probe);
        assert.ok(plan.args.includes(`/proc/self/fd/${3 + plan.stdio.indexOf(fd)}`), plan.args.join(' '));
        assert.deepEqual(await runReport(plan), byPath);
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(src, { recursive: true, force: true });
      c.cleanup();
    }
  });
  }
});

describe('resource limits', () => {
  for (const isolation of ISOLATIONS) {
  it(`${isolation.name} binds workDir from workDirFd when given, whatever the path holds by then`, { skip: isolation.skip }, async () => {
    const c = makeCase({ 'list.sh': '#!/bin/sh\nls\n' });
    try {
      const opened = join(c.base, 'opened');
      mkdirSync(opened);
      writeFileSync(join(opened, 'from-the-fd'), '');
      writeFileSync(join(c.workDir, 'from-the-path'), '');
      const fd = openSync(opened, 'r');
      try {
        const plan = await planSandbox(c.request({ runtime: 'binary', entry: 'list.sh', workDirFd: fd }), isolation.probe);
        const child = spawnPlan(plan);
        let out = '';
        child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
        await once(child, 'close');
        plan.cleanup();
        assert.match(out, /from-the-fd/);
        assert.doesNotMatch(out, /from-the-path/, 'the directory was mounted by path, not from the fd');
      } finally {
        closeSync(fd);
      }
    } finally {
      c.cleanup();
    }
  });
  }

  it('prlimit enforces maxOpenFiles', { skip: !probe.prlimit && 'prlimit unavailable' }, async () => {
    const c = makeCase({
      'files.mjs': `
import fs from 'node:fs';
let opened = 0;
try { for (;;) { fs.openSync(new URL(import.meta.url), 'r'); opened++; } }
catch (e) { console.log(JSON.stringify({ opened, code: e.code })); }
`,
    });
    try {
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'files.mjs', resources: { maxOpenFiles: 48 } }));
      assert.ok(plan.layers.includes('prlimit'));
      const report = await runReport(plan);
      assert.equal(report.code, 'EMFILE');
      assert.ok((report.opened as number) > 0 && (report.opened as number) < 48, `opened ${report.opened}`);
    } finally {
      c.cleanup();
    }
  });

  it("node's whole heap, old space and young generation, is held to memoryMb", async () => {
    assert.deepEqual(nodeHeapFlags(96), ['--max-old-space-size=84', '--max-semi-space-size=4']);
    assert.deepEqual(nodeHeapFlags(1024), ['--max-old-space-size=976', '--max-semi-space-size=16']);
    assert.deepEqual(nodeHeapFlags(8), ['--max-old-space-size=16', '--max-semi-space-size=1']);
    const c = makeCase({ 'heap.mjs': `import v8 from 'node:v8'; console.log(JSON.stringify({ limitMb: v8.getHeapStatistics().heap_size_limit / 1048576 }));` });
    try {
      const report = await runReport(await planSandbox(c.request({ runtime: 'node', entry: 'heap.mjs', resources: { memoryMb: 96 } }), NOTHING));
      assert.ok((report.limitMb as number) <= 97 && (report.limitMb as number) >= 80, `heap limit ${report.limitMb} MiB`);
    } finally {
      c.cleanup();
    }
  });
});

describe('required layers', () => {
  const full: SandboxProbe = {
    bwrap: true,
    launcher: true,
    seccomp: true,
    landlock: 7,
    unshareUser: true,
    unshareNet: true,
    prlimit: true,
    setpriv: true,
    tools: { bwrap: '/usr/bin/bwrap', launcher: '/opt/hst/hst-sandbox', prlimit: '/usr/bin/prlimit', setpriv: '/usr/bin/setpriv', unshare: '/usr/bin/unshare' },
    reasons: {},
  };

  it('refuses to plan without isolation when it is required, naming the layer, the reason and the remedy, and leaves nothing behind', async () => {
    const c = makeCase({ 'main.mjs': '' });
    try {
      const fds = readdirSync('/proc/self/fd').length;
      await assert.rejects(planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', require: ['isolation', 'seccomp', 'watchdog'] }), without(full, 'bwrap', 'launcher', 'seccomp', 'landlock')), (err: Error) => {
        assert.ok(err instanceof SandboxUnavailableError);
        const why = "neither bubblewrap nor hst's launcher works here \\(bwrap not found \\(test\\); launcher not built \\(test\\)\\)";
        assert.match(err.message, new RegExp(`required layers unavailable: isolation \\(${why}\\); seccomp \\(${why}\\)`));
        assert.deepEqual(
          err.missing.map((m) => m.layer),
          ['isolation', 'seccomp'],
          'setpriv still gives the watchdog',
        );
        return true;
      });
      assert.deepEqual(readdirSync(c.base).sort(), ['plugin', 'sock', 'work'], 'no private directory left');
      assert.equal(readdirSync('/proc/self/fd').length, fds);
    } finally {
      c.cleanup();
    }
  });

  it('refuses node-permissions for a binary plugin and seccomp when only bwrap works; unshare is met by isolation', async () => {
    const c = makeCase({ 'main.py': '', 'main.mjs': '' });
    try {
      await assert.rejects(planSandbox(c.request({ runtime: 'binary', entry: 'main.py', require: ['node-permissions'] }), full), /node-permissions \(runtime binary: Node's permission model applies to node plugins only\)/);
      await assert.rejects(planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', require: ['seccomp'] }), { ...full, seccomp: false, reasons: { seccomp: 'filter rejected (test)' } }), /seccomp \(filter rejected \(test\)\)/);
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', require: ['unshare', 'bwrap', 'seccomp', 'prlimit', 'watchdog'] }), full);
      assert.ok(!plan.layers.includes('unshare'));
      plan.cleanup();
      const launched = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs', require: ['unshare', 'isolation', 'seccomp', 'landlock', 'watchdog'] }), without(full, 'bwrap'));
      assert.ok(launched.args.includes('/opt/hst/hst-sandbox'), launched.args.join(' '));
      assert.ok(!launched.layers.includes('bwrap'));
      launched.cleanup();
    } finally {
      c.cleanup();
    }
  });

  it('refuses an entry outside the plugin directory and directories that would expose the host', async () => {
    const c = makeCase();
    try {
      await assert.rejects(planSandbox(c.request({ runtime: 'binary', entry: '../work' }), NOTHING), /entry .* is outside pluginDir/);
      await assert.rejects(planSandbox({ ...c.request({ runtime: 'binary', entry: 'x' }), pluginDir: '/' }), /pluginDir \/ cannot be mounted/);
      await assert.rejects(planSandbox({ ...c.request({ runtime: 'binary', entry: 'x' }), workDir: '/proc/self' }, NOTHING), /workDir \/proc\/\d+ cannot be mounted/);
      await assert.rejects(planSandbox({ ...c.request({ runtime: 'binary', entry: 'x' }), socketDir: 'relative' }, NOTHING), /socketDir "relative" is not an absolute path/);
    } finally {
      c.cleanup();
    }
  });
});

describe('translateAddress', () => {
  it('dials only sockets inside socketDir, through a link the plugin cannot swap', async () => {
    const c = makeCase({ 'main.mjs': '' });
    const outside = join(c.base, 'outside.sock');
    const server = createServer((s) => s.end('outside'));
    await new Promise<void>((resolve) => server.listen(outside, resolve));
    try {
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs' }), NOTHING);
      const refuse = (address: string, pattern: RegExp) =>
        assert.throws(() => plan.translateAddress({ network: 'unix', address }), (err: Error) => err instanceof SandboxAddressError && pattern.test(err.message));
      refuse(outside, /not in its socket directory/);
      refuse(join(c.socketDir, '..', 'outside.sock'), /not in its socket directory/);
      refuse(`${c.socketDir}/../outside.sock`, /not in its socket directory/);
      refuse(c.socketDir + '/', /not in its socket directory/);
      mkdirSync(join(c.socketDir, 'sub'));
      refuse(join(c.socketDir, 'sub', 'x.sock'), /not in its socket directory/);
      symlinkSync(outside, join(c.socketDir, 'link.sock'));
      refuse(join(c.socketDir, 'link.sock'), /which is not a unix socket/);
      writeFileSync(join(c.socketDir, 'file.sock'), '');
      refuse(join(c.socketDir, 'file.sock'), /which is not a unix socket/);
      refuse(join(c.socketDir, 'missing.sock'), /cannot be used: ENOENT/);
      assert.deepEqual(plan.translateAddress({ network: 'tcp', address: '127.0.0.1:1234' }), { network: 'tcp', address: '127.0.0.1:1234' }, 'shared network: tcp is fine');
      plan.cleanup();
      refuse(join(c.socketDir, 'file.sock'), /after its sandbox was cleaned up/);
    } finally {
      server.close();
      c.cleanup();
    }
  });

  it('refuses tcp when the plugin has its own network namespace', async () => {
    const c = makeCase({ 'main.mjs': '' });
    try {
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs' }), { ...NOTHING, unshareNet: true, tools: { unshare: '/usr/bin/unshare' } });
      assert.ok(plan.layers.includes('unshare'));
      assert.throws(() => plan.translateAddress({ network: 'tcp', address: '127.0.0.1:1234' }), /own network namespace.*PLUGIN_UNIX_SOCKET_DIR/);
      plan.cleanup();
    } finally {
      c.cleanup();
    }
  });

  it('cleanup closes the seccomp fd and removes the private directory', async () => {
    const c = makeCase({ 'main.mjs': '' });
    try {
      const fds = readdirSync('/proc/self/fd').length;
      const plan = await planSandbox(c.request({ runtime: 'node', entry: 'main.mjs' }), { ...NOTHING, bwrap: true, seccomp: true, tools: { bwrap: '/usr/bin/bwrap' } });
      assert.equal(plan.stdio.length, 1);
      assert.ok(plan.args.includes('--seccomp'));
      assert.equal(readdirSync('/proc/self/fd').length, fds + 1);
      assert.equal(readdirSync(c.base).length, 4);
      plan.cleanup();
      plan.cleanup();
      assert.equal(readdirSync('/proc/self/fd').length, fds);
      assert.deepEqual(readdirSync(c.base).sort(), ['plugin', 'sock', 'work']);
    } finally {
      c.cleanup();
    }
  });
});

/** Pids of every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Running, as opposed to gone or a zombie nobody reaped. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A host that starts a sandboxed plugin, says 'spawned' the moment it has, and stays up. */
const FAKE_HOST = `
import { spawn } from 'node:child_process';
const { planSandbox } = await import(process.argv[2]);
const plan = await planSandbox(JSON.parse(process.argv[3]), JSON.parse(process.argv[4]));
spawn(plan.command, plan.args, { env: plan.env, cwd: plan.cwd, stdio: ['ignore', 'inherit', 'inherit', ...plan.stdio], detached: true });
console.log('spawned');
setInterval(() => {}, 1000);
`;

/** Starts FAKE_HOST with the plugin `idle.mjs` of `c`, resolving once its output (the plugin's included) says `word`. */
async function fakeHost(c: Case, sandboxProbe: SandboxProbe, word: 'spawned' | 'ready'): Promise<ChildProcess> {
  const sandboxModule = new URL('./sandbox.js', import.meta.url).href;
  const host = spawn(process.execPath, [join(c.pluginDir, 'host.mjs'), sandboxModule, JSON.stringify(c.request({ runtime: 'node', entry: 'idle.mjs' })), JSON.stringify(sandboxProbe)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    host.stdout?.setEncoding('utf8').on('data', (d: string) => d.includes(word) && resolve());
    host.once('exit', () => reject(new Error(`fake host exited before its output said ${word}`)));
  });
  return host;
}

/** A host that starts a sandboxed plugin and is then killed with SIGKILL; returns the plugin's processes still running after `waitMs`. */
async function survivorsOfHostKill(sandboxProbe: SandboxProbe, waitMs: number): Promise<{ plugin: number[]; survivors: number[] }> {
  const c = makeCase({ 'idle.mjs': "setInterval(() => {}, 1000); console.log('ready');", 'host.mjs': FAKE_HOST });
  try {
    const host = await fakeHost(c, sandboxProbe, 'ready');
    const plugin = descendants(host.pid as number);
    assert.ok(plugin.length > 0);
    host.kill('SIGKILL');
    const deadline = Date.now() + waitMs;
    while (plugin.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return { plugin, survivors: plugin.filter(running) };
  } finally {
    c.cleanup();
  }
}

/** Pids of running processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text) && running(Number(name));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Kills `tries` hosts, ten at a time, the moment each has spawned its sandboxed plugin; returns what is left of the plugins. */
async function survivorsOfEarlyHostKills(sandboxProbe: SandboxProbe, tries: number): Promise<number[]> {
  const left: number[] = [];
  for (let first = 0; first < tries; first += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, tries - first) }, async () => {
        const c = makeCase({ 'idle.mjs': 'setInterval(() => {}, 1000);', 'host.mjs': FAKE_HOST });
        try {
          // Killed the moment it has spawned: before the sandbox is up.
          const host = await fakeHost(c, sandboxProbe, 'spawned');
          host.kill('SIGKILL');
          const gone = await eventually(() => processesMentioning(c.pluginDir).length === 0, 10_000, 50);
          if (!gone) left.push(...processesMentioning(c.pluginDir));
        } finally {
          c.cleanup();
        }
      }),
    );
  }
  for (const pid of left) process.kill(pid, 'SIGKILL');
  return left;
}

describe('watchdog', () => {
  for (const isolation of ISOLATIONS) {
    it(`${isolation.name}: 50 hosts killed the moment they spawned their plugin leave nothing running`, { skip: isolation.skip, timeout: 170_000 }, async () => {
      assert.deepEqual(await survivorsOfEarlyHostKills(isolation.probe, 50), []);
    });
  }

  for (const isolation of ISOLATIONS) {
    it(`${isolation.name}: the plugin dies when its host is killed with SIGKILL`, { skip: isolation.skip }, async () => {
      const { survivors } = await survivorsOfHostKill(isolation.probe, 5_000);
      assert.deepEqual(survivors, []);
    });
  }

  it('setpriv: the plugin dies when its host is killed with SIGKILL', { skip: !probe.setpriv && 'setpriv unavailable' }, async () => {
    const { survivors } = await survivorsOfHostKill(without(probe, 'bwrap', 'launcher', 'seccomp', 'landlock'), 5_000);
    assert.deepEqual(survivors, []);
  });

  it('without a watchdog the plugin would outlive its host (the check above can fail)', async () => {
    const { plugin, survivors } = await survivorsOfHostKill(NOTHING, 500);
    for (const pid of plugin) process.kill(pid, 'SIGKILL');
    assert.deepEqual(survivors, plugin);
  });
});
