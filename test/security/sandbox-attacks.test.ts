/**
 * The attacker run inside the OS sandbox that planSandbox plans, reaching
 * past host services for files, sockets, processes and variables itself.
 * Only the sandbox stands in the way, so these cases fail without it: the
 * last case runs the same attacks from an unsandboxed copy to prove it.
 *
 * PluginClient does not run sandbox plans yet, so the plan is run here by
 * hand: its command line, its exact environment (skipHostEnv), the seccomp
 * program handed over as fd 3 through a shell redirect (PluginClient has no
 * extra stdio fds), and the host's broker listening in the plan's socket
 * directory (the only place the plugin's network namespace can reach).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginCommand } from '../../src/host/plugin-client.js';
import { Code } from '../../src/rpc/status.js';
import { planSandbox, probeSandbox, type SandboxLayer } from '../../src/security/sandbox.js';
import { fixture, nodePlugin, repo } from '../support/peers.js';
import { createScene, narrowManifest, type AttackCase, type Outcome, type Scene } from './scene.js';

const probe = await probeSandbox();
const skip = !probe.bwrap || !probe.seccomp ? `no bwrap sandbox with seccomp here: ${probe.reasons.bwrap ?? probe.reasons.seccomp}` : false;
const REQUIRED: SandboxLayer[] = ['env', 'bwrap', 'seccomp', 'node-permissions', 'privileges'];

/** A variable of the host process: the plugin must not see it. */
const HOST_SECRET = `SECRET-HOST-PROCESS-${randomBytes(8).toString('hex')}`;
process.env.HST_SECURITY_HOST_SECRET = HOST_SECRET;

let scene: Scene;
let layers: SandboxLayer[] = [];
const check = (c: AttackCase) => async () => void (await scene.attack(c));

async function sandboxed(_name: string, s: Scene): Promise<PluginCommand> {
  const socketDir = join(s.dir, 'sockets');
  const workDir = join(s.dir, 'work');
  mkdirSync(socketDir, { mode: 0o700 });
  mkdirSync(workDir);
  const plan = await planSandbox({
    runtime: 'node',
    entry: fixture('attacker-plugin'),
    args: [],
    pluginDir: join(repo, 'dist'),
    readOnlyPaths: [join(repo, 'node_modules'), join(repo, 'package.json')],
    workDir,
    socketDir,
    env: {},
    require: REQUIRED,
  });
  s.cleanups.push(() => plan.cleanup());
  layers = plan.layers;
  assert.equal(plan.stdio.length, 1, 'the plan passes more fds than the seccomp program');
  // The host's broker listener for this plugin must be where the plugin can dial it.
  process.env.PLUGIN_UNIX_SOCKET_DIR = socketDir;
  return { path: '/bin/sh', args: ['-c', `exec "$@" 3</proc/${process.pid}/fd/${plan.stdio[0]}`, 'sh', plan.command, ...plan.args], env: plan.env, cwd: plan.cwd };
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
    scene = await createScene({ attacker: narrowManifest(1), command: sandboxed });
  });
  after(async () => {
    delete process.env.PLUGIN_UNIX_SOCKET_DIR;
    await scene.close();
  });

  it('runs with every required layer', () => {
    for (const layer of REQUIRED) assert.ok(layers.includes(layer), `layer ${layer} is not active: ${layers.join(', ')}`);
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
      // PWD comes from the shell that hands over the seccomp fd.
      const stray = names.filter((n) => !/^(BASIC_PLUGIN|PLUGIN_[A-Z_]+|PWD)$/.test(n));
      assert.deepEqual(stray, [], `host variables in the plugin's environment: ${stray.join(', ')}`);
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
});
