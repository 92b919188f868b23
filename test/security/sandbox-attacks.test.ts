/**
 * The attacker run inside the OS sandbox through PluginClient's `sandbox`
 * option, reaching past host services for files, sockets, processes and
 * variables itself. Only the sandbox stands in the way, so these cases fail
 * without it: the control case runs the same attacks from an unsandboxed
 * copy to prove it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { PluginSandboxOptions } from '../../src/host/plugin-client.js';
import { Code } from '../../src/rpc/status.js';
import { readAudit } from '../../src/security/audit.js';
import { probeSandbox, type SandboxLayer } from '../../src/security/sandbox.js';
import { sleep } from '../support/assertions.js';
import { fixture, nodePlugin, repo } from '../support/peers.js';
import { ATTACKER, createScene, handshake, narrowManifest, type AttackCase, type Outcome, type Scene } from './scene.js';

const probe = await probeSandbox();
const skip = !(probe.bwrap || probe.launcher) || !probe.seccomp ? `no isolation with seccomp here: ${probe.reasons.bwrap}; ${probe.reasons.launcher}; ${probe.reasons.seccomp}` : false;
const REQUIRED: SandboxLayer[] = ['env', 'isolation', 'seccomp', 'node-permissions', 'privileges', 'watchdog'];

/** A variable of the host process: the plugin must not see it. */
const HOST_SECRET = `SECRET-HOST-PROCESS-${randomBytes(8).toString('hex')}`;
process.env.HST_SECURITY_HOST_SECRET = HOST_SECRET;

let scene: Scene;
const check = (c: AttackCase) => async () => void (await scene.attack(c));

/** The attacker fixture under the sandbox, refusing to start without every required layer. */
function sandbox(workDir: string): PluginSandboxOptions {
  return {
    runtime: 'node',
    pluginDir: join(repo, 'dist'),
    readOnlyPaths: [join(repo, 'node_modules'), join(repo, 'package.json')],
    workDir,
    require: REQUIRED,
  };
}

/** A host that starts one plugin with the PluginClient options in argv[2], prints the plugin's pid and stays up. */
const HOST_SCRIPT = `
const { PluginClient } = await import(process.argv[1]);
const client = new PluginClient(JSON.parse(process.argv[2]));
await client.start();
console.log(client.pid);
setInterval(() => {}, 60_000);
`;

interface ProcessRef {
  pid: number;
  /** The start time in /proc/<pid>/stat, so a reused pid is not taken for the process. */
  start: string;
}

function procStat(pid: number): { state: string; ppid: number; start: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name before ')' may hold spaces; the fields after it do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '' };
}

/** `root` and every process below it. */
function processTree(root: number): ProcessRef[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      const stat = procStat(Number(d));
      return stat ? [{ pid: Number(d), ...stat }] : [];
    });
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]?.pid));
  return tree.map(({ pid, start }) => ({ pid, start }));
}

/** Still running: a zombie nobody reaps (an orphan in a container without an init) has died. */
function running(p: ProcessRef): boolean {
  const stat = procStat(p.pid);
  return stat !== undefined && stat.start === p.start && stat.state !== 'Z' && stat.state !== 'X';
}

function argv(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The first line the child prints, or a failure with its stderr once it exits or the time is up. */
function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
    child.stderr?.on('data', (chunk) => (err += String(chunk)));
    child.stdout?.on('data', (chunk) => {
      out += String(chunk);
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.slice(0, out.indexOf('\n')));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before printing a line; stderr:\n${err}`));
    });
  });
}

/** An attack the plugin makes by itself: it must fail, return no secret, and never reach the host. */
async function direct(method: string, request: unknown): Promise<Outcome> {
  const before = scene.records.length;
  const outcome = await scene.attacker.run('direct', method, request);
  for (const secret of [...scene.secretValues, HOST_SECRET]) assert.ok(!outcome.raw.includes(secret), `got a secret: ${outcome.raw.slice(0, 300)}`);
  assert.equal(scene.records.length, before, 'a direct attack went through host services');
  scene.assertOutsideUntouched();
  return outcome;
}

interface DirectCase {
  name: string;
  method: string;
  request: (s: Scene) => unknown;
  /** The codes the sandbox may fail it with (Node's permission layer, the kernel, seccomp). */
  codes: Code[];
}

const denied = [Code.PERMISSION_DENIED, Code.NOT_FOUND];
const noNetwork = [Code.UNKNOWN, Code.PERMISSION_DENIED];

const directCases: DirectCase[] = [
  { name: 'read /etc/passwd', method: 'readFile', request: () => ({ path: '/etc/passwd' }), codes: denied },
  { name: 'read /etc/shadow', method: 'readFile', request: () => ({ path: '/etc/shadow' }), codes: denied },
  { name: 'read the outside secret by its host path', method: 'readFile', request: (s) => ({ path: join(s.outside, 'secret.txt') }), codes: denied },
  { name: 'read the workspace secret by its host path', method: 'readFile', request: (s) => ({ path: join(s.workspace, 'secret.txt') }), codes: denied },
  { name: 'read the audit log', method: 'readFile', request: (s) => ({ path: s.audit.path }), codes: denied },
  { name: 'read the KV database directory', method: 'readDir', request: (s) => ({ path: join(s.dir, 'data') }), codes: denied },
  { name: 'read /proc/<hostpid>/environ', method: 'readFile', request: () => ({ path: `/proc/${process.pid}/environ` }), codes: denied },
  { name: 'read /proc/<hostpid>/cmdline', method: 'readFile', request: () => ({ path: `/proc/${process.pid}/cmdline` }), codes: denied },
  { name: 'read through /proc/<hostpid>/root', method: 'readFile', request: (s) => ({ path: `/proc/${process.pid}/root${join(s.outside, 'secret.txt')}` }), codes: denied },
  { name: 'read /proc/self/environ', method: 'readFile', request: () => ({ path: '/proc/self/environ' }), codes: denied },
  { name: 'read /proc/1/environ', method: 'readFile', request: () => ({ path: '/proc/1/environ' }), codes: denied },
  { name: "read the host's home directory", method: 'readDir', request: () => ({ path: '/root' }), codes: denied },
  { name: 'list /tmp', method: 'readDir', request: () => ({ path: '/tmp' }), codes: denied },
  { name: 'write next to the outside secret', method: 'writeFile', request: (s) => ({ path: join(s.outside, 'planted.txt'), data: { $bytes: 'eA==' } }), codes: denied },
  { name: 'write into the workspace directly', method: 'writeFile', request: (s) => ({ path: join(s.workspace, 'out', 'planted.txt'), data: { $bytes: 'eA==' } }), codes: denied },
  { name: 'write into its own plugin directory', method: 'writeFile', request: () => ({ path: join(repo, 'dist', 'planted.txt'), data: { $bytes: 'eA==' } }), codes: denied },
  { name: 'write /etc/cron.d', method: 'writeFile', request: () => ({ path: '/etc/cron.d/planted', data: { $bytes: 'eA==' } }), codes: denied },
  { name: 'a host variable', method: 'env', request: () => ({ name: 'HST_SECURITY_HOST_SECRET' }), codes: [Code.NOT_FOUND] },
  { name: 'HOME', method: 'env', request: () => ({ name: 'HOME' }), codes: [Code.NOT_FOUND] },
  { name: 'PATH', method: 'env', request: () => ({ name: 'PATH' }), codes: [Code.NOT_FOUND] },
  { name: 'TCP to the host on 127.0.0.1', method: 'connect', request: () => ({ host: '127.0.0.1', port: 22 }), codes: noNetwork },
  { name: 'TCP to 10.0.0.1', method: 'connect', request: () => ({ host: '10.0.0.1', port: 80 }), codes: noNetwork },
  { name: 'TCP to 169.254.169.254', method: 'connect', request: () => ({ host: '169.254.169.254', port: 80 }), codes: noNetwork },
  { name: 'TCP over IPv6 to ::1', method: 'connect', request: () => ({ host: '::1', port: 22 }), codes: noNetwork },
  { name: 'listen on TCP', method: 'listen', request: () => ({ host: '127.0.0.1', port: 0 }), codes: noNetwork },
  { name: 'a unix socket outside its socket directory', method: 'connectUnix', request: () => ({ path: '/run/systemd/private' }), codes: [...denied, Code.UNKNOWN] },
  { name: 'run /bin/sh', method: 'spawn', request: () => ({ program: '/bin/sh', args: ['-c', 'cat /etc/passwd'] }), codes: denied },
  { name: 'run node', method: 'spawn', request: () => ({ program: process.execPath, args: ['-e', 'console.log(process.env)'] }), codes: denied },
  { name: 'signal the host process', method: 'kill', request: () => ({ pid: process.pid, signal: 0 }), codes: denied },
  { name: 'SIGKILL the host process', method: 'kill', request: () => ({ pid: process.pid, signal: 'SIGKILL' }), codes: denied },
];

/** The same calls through host services, from inside the sandbox: still decided and audited by the host. */
const hostCases: AttackCase[] = [
  { name: 'ReadFile ../outside/secret.txt', service: 'filesystem', method: 'readFile', request: { path: '../outside/secret.txt' }, expect: 'deny' },
  { name: 'ReadFile secret.txt', service: 'filesystem', method: 'readFile', request: { path: 'secret.txt' }, expect: 'deny' },
  { name: 'GetEnv SECRET_TOKEN', service: 'environment', method: 'getEnv', request: { name: 'SECRET_TOKEN' }, expect: 'deny' },
  { name: 'Exec /bin/sh', service: 'processes', method: 'exec', request: { program: '/bin/sh', args: ['-c', 'id'] }, expect: 'deny' },
  { name: 'Fetch 169.254.169.254', service: 'http', method: 'fetch', request: { url: 'http://169.254.169.254/' }, expect: 'deny' },
  {
    name: 'ReadFile public/readme.txt (allowed: the sandbox does not get in the way of host services)',
    service: 'filesystem',
    method: 'readFile',
    request: { path: 'public/readme.txt' },
    expect: { allowed: (r) => assert.equal(Buffer.from(r.data.$bytes, 'base64').toString(), 'public readme\n') },
  },
];

describe('attacks from inside the sandbox', { skip }, () => {
  before(async () => {
    scene = await createScene({
      attacker: narrowManifest(1),
      command: () => ({ path: fixture('attacker-plugin') }),
      sandbox: (_name, s) => {
        const workDir = join(s.dir, 'work');
        mkdirSync(workDir);
        return sandbox(workDir);
      },
    });
  });
  after(async () => {
    await scene.close();
  });

  it('runs with every required layer, as its audited sandbox event says', () => {
    const events = readAudit(scene.audit.path, { plugin: ATTACKER }).filter((r) => r.event === 'sandbox');
    assert.equal(events.length, 1, `sandbox events: ${JSON.stringify(events)}`);
    const layers = (events[0]?.detail as { layers?: string[] } | undefined)?.layers ?? [];
    for (const layer of ['isolation', 'seccomp', 'env', 'watchdog', ...REQUIRED]) {
      assert.ok(layers.includes(layer), `layer ${layer} is not active: ${layers.join(', ')}`);
    }
  });

  describe('direct attacks, past host services', () => {
    for (const c of directCases) {
      it(c.name, async () => {
        const outcome = await direct(c.method, c.request(scene));
        assert.equal(outcome.ok, false, `the sandbox let it through: ${outcome.raw.slice(0, 300)}`);
        assert.ok(c.codes.includes(outcome.code), `unexpected failure ${outcome.code} ${outcome.message}`);
      });
    }

    it('the environment holds only the protocol variables', async () => {
      const outcome = await direct('envNames', {});
      const names = (outcome.response as { names: string[] }).names;
      // go-plugin's variables, and hst's HST_HOST (set by the host itself, saying only that it is hst).
      const stray = names.filter((n) => !/^(BASIC_PLUGIN|PLUGIN_[A-Z_]+|HST_HOST|PWD)$/.test(n));
      assert.deepEqual(stray, [], `host variables in the plugin's environment: ${stray.join(', ')}`);
      // The sandbox sets PWD to the directory it starts the plugin in: never the host's own.
      if (names.includes('PWD')) assert.equal((await direct('env', { name: 'PWD' })).response?.value, join(scene.dir, 'work'));
    });

    it('the filesystem it sees holds none of the host directories around its own', async () => {
      const outcome = await direct('readDir', { path: scene.dir });
      // Refused, or a listing of the sandbox's own mounts (work, sockets): never the workspace, the secret or the data.
      const entries: string[] = outcome.ok ? outcome.response.entries : [];
      assert.deepEqual(entries.filter((e) => ['workspace', 'outside', 'victim', 'data', 'temp'].includes(e)), []);
    });

    it('its own work directory is usable (the cases above fail for the sandbox, not for the attacker)', async () => {
      const path = join(scene.dir, 'work', 'mine.txt');
      assert.equal((await direct('writeFile', { path, data: { $bytes: 'b2s=' } })).ok, true);
      assert.equal((await direct('readFile', { path })).response.data.$bytes, 'b2s=');
    });
  });

  describe('host services from inside the sandbox', () => {
    for (const c of hostCases) it(c.name, check(c));
  });

  it('the same direct attacks succeed from an unsandboxed copy (the cases can fail)', async () => {
    const control = await scene.start('control', [], nodePlugin('attacker-plugin'), scene.workspace, { skipHostEnv: false });
    const read = await control.run('direct', 'readFile', { path: join(scene.outside, 'secret.txt') });
    assert.equal(read.ok, true);
    assert.equal(Buffer.from(read.response.data.$bytes, 'base64').toString(), scene.secrets.outside);
    const env = await control.run('direct', 'env', { name: 'HST_SECURITY_HOST_SECRET' });
    assert.equal(env.response?.value, HOST_SECRET);
    assert.equal((await control.run('direct', 'listen', { host: '127.0.0.1', port: 0 })).ok, true);
  });

  it('the plugin dies with its host, even when the host is SIGKILLed', async () => {
    const dir = mkdtempSync(join(scene.dir, 'killed-host-'));
    const workDir = join(dir, 'work');
    mkdirSync(workDir);
    const options = {
      name: 'orphan',
      handshake,
      plugins: {},
      command: { path: fixture('attacker-plugin') },
      sandbox: sandbox(workDir),
      // What the killed host cannot remove stays inside the scene, which removes it.
      unixSocket: { dir },
      stdin: 'ignore',
      startTimeoutMs: 20_000,
    };
    const clientModule = pathToFileURL(join(repo, 'dist', 'src', 'host', 'plugin-client.js')).href;
    const host = spawn(process.execPath, ['--input-type=module', '-e', HOST_SCRIPT, clientModule, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const hostExited = new Promise((resolve) => host.once('exit', resolve));
    let tree: ProcessRef[] = [];
    try {
      const pid = Number(await firstLine(host, 30_000));
      assert.ok(Number.isInteger(pid) && pid > 0, `the host printed no pid: ${pid}`);
      tree = processTree(pid);
      // Every wrapper's command line names the entry too; the plugin itself is the node process running it.
      const plugin = tree.filter((p) => argv(p.pid)[0] === process.execPath && argv(p.pid).includes(fixture('attacker-plugin')));
      assert.equal(plugin.length, 1, `no plugin process below ${pid}: ${tree.map((p) => argv(p.pid).join(' ')).join('\n')}`);
      const killedAt = Date.now();
      host.kill('SIGKILL');
      await hostExited;
      while (tree.some(running) && Date.now() - killedAt < 3_000) await sleep(50);
      assert.deepEqual(
        tree.filter(running).map((p) => argv(p.pid).join(' ')),
        [],
        'processes outlived their SIGKILLed host by 3 s',
      );
    } finally {
      host.kill('SIGKILL');
      for (const p of tree) if (running(p)) process.kill(p.pid, 'SIGKILL');
    }
  });
});
