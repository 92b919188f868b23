/**
 * PluginClient's `runner` option, through a runner written here: it runs the
 * plugin as a local process whose sockets live in a directory the host never
 * dials directly. Every socket the plugin announces is reached through a
 * forwarder in another directory, and every host socket the plugin is told
 * of through one more, so a call only works if the client applied the
 * runner's translation both ways; the forwarders count what crossed them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { basename, join } from 'node:path';
import { PluginClient, PluginStartError, processRunner, type Address, type Runner, type RunningPlugin } from '../../src/host/index.js';
import { ENV_UNIX_SOCKET_DIR } from '../../src/protocol/constants.js';
import { counterPlugin, PLUGIN_NAME as COUNTER } from '../../examples/bidirectional/shared.js';
import { handshake } from '../../examples/kv/shared.js';
import { checkCounterCallsBack } from '../support/contracts.js';
import { MemoryLogger } from '../../src/log.js';
import { goPeers, inTempDir, repo } from '../support/peers.js';

const peers = goPeers();
const bin = (name: string) => join('bin' in peers ? peers.bin : '', name);

/**
 * A unix socket at `path` that pipes each connection to `target`. Node binds
 * a unix socket within listen() itself, so the host may dial it right away.
 */
function forwarder(path: string, target: string, onConnection: () => void): Server {
  const server = createServer((inbound) => {
    onConnection();
    const outbound = connect(target);
    inbound.pipe(outbound).pipe(inbound);
    const end = () => (inbound.destroy(), outbound.destroy());
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  });
  server.listen(path);
  return server;
}

interface Forwarding extends Runner {
  /** What the runner was asked to translate, and how many connections crossed each way. */
  seen: { pluginToHost: string[]; hostToPlugin: string[]; toPlugin: number; toHost: number; killed: number };
}

/**
 * The plugin's sockets go in `<socketDir>/inner`; the host reaches them
 * through `<socketDir>/outer`, and the plugin reaches the host's broker
 * listeners through `<socketDir>/inner/host-*`.
 */
function forwardingRunner(): Forwarding {
  const seen = { pluginToHost: [] as string[], hostToPlugin: [] as string[], toPlugin: 0, toHost: 0, killed: 0 };
  const runner: Forwarding = {
    name: 'forwarding',
    seen,
    async start(launch) {
      const dir = launch.socketDir as string;
      mkdirSync(join(dir, 'inner'));
      mkdirSync(join(dir, 'outer'));
      const env = { ...launch.env, [ENV_UNIX_SOCKET_DIR]: join(dir, 'inner') };
      const proc = await processRunner.start({ ...launch, env });
      const servers = new Map<string, Server>();
      const forward = (from: string, to: string, direction: 'toPlugin' | 'toHost') => {
        if (!servers.has(from)) servers.set(from, forwarder(from, to, () => seen[direction]++));
      };
      void proc.exited.then(() => servers.forEach((server) => server.close()));
      const running: RunningPlugin = {
        id: proc.id,
        get pid() {
          return proc.pid;
        },
        stdout: proc.stdout,
        stderr: proc.stderr,
        exited: proc.exited,
        get exitInfo() {
          return proc.exitInfo;
        },
        kill() {
          seen.killed++;
          proc.kill();
        },
        pluginToHost(address: Address) {
          seen.pluginToHost.push(address.address);
          if (address.network !== 'unix' || !address.address.startsWith(join(dir, 'inner') + '/')) throw new Error(`not a socket of the plugin's: ${address.address}`);
          const outer = join(dir, 'outer', basename(address.address));
          forward(outer, address.address, 'toPlugin');
          return { network: 'unix', address: outer };
        },
        hostToPlugin(address: Address) {
          seen.hostToPlugin.push(address.address);
          const inner = join(dir, 'inner', `host-${basename(address.address)}`);
          forward(inner, address.address, 'toHost');
          return { network: 'unix', address: inner };
        },
      };
      return running;
    },
  };
  return runner;
}

describe('runners: a runner of the application places the plugin and translates its addresses', { skip: 'skip' in peers ? peers.skip : false }, () => {
  for (const multiplex of [false, true]) {
    it(`Go counter plugin${multiplex ? ', multiplexed' : ''}: calls and broker callbacks cross the runner's forwarders`, () =>
      inTempDir(async (dir) => {
        const runner = forwardingRunner();
        const client = new PluginClient({
          name: 'forwarded-counter',
          handshake,
          plugins: { [COUNTER]: counterPlugin() },
          command: { path: bin('counter-plugin'), cwd: dir },
          runner,
          multiplex,
          logger: new MemoryLogger(),
          stdin: 'ignore',
        });
        await checkCounterCallsBack(client);
        assert.equal(runner.seen.pluginToHost.length >= 1, true);
        assert.match(runner.seen.pluginToHost[0] as string, /\/inner\/plugin/);
        assert.ok(runner.seen.toPlugin >= 1, 'the host dialled the plugin through the forwarder');
        if (multiplex) {
          // One connection carries everything: the host never listens, the plugin never dials.
          assert.equal(runner.seen.toPlugin, 1);
          assert.deepEqual(runner.seen.hostToPlugin, []);
        } else {
          // The host's AddHelper listener, told to the plugin in the plugin's terms, reached through the other forwarder.
          assert.equal(runner.seen.hostToPlugin.length, 2);
          assert.ok(runner.seen.toHost >= 2);
        }
        await client.kill();
        assert.equal(runner.seen.killed >= 1, true);
        assert.equal(client.hasExited(), true);
      }));
  }

  it('a TS plugin runs under the runner on gRPC: the socket pair is not offered to a runner that cannot pass it', () =>
    inTempDir(async (dir) => {
      const runner = forwardingRunner();
      const client = new PluginClient({
        name: 'forwarded-ts-counter',
        handshake,
        plugins: { [COUNTER]: counterPlugin() },
        command: { path: process.execPath, args: [join(repo, 'dist', 'examples', 'bidirectional', 'plugin.js')], cwd: dir },
        runner,
        multiplex: true,
        logger: new MemoryLogger(),
        stdin: 'ignore',
      });
      await checkCounterCallsBack(client);
      assert.equal(client.handshake?.protocol, 'grpc');
      assert.equal(client.handshake?.multiplex, true);
      assert.equal(runner.seen.toPlugin, 1);
      await client.kill();
    }));

  it('an address the runner refuses fails the start with its reason, and the plugin is killed', () =>
    inTempDir(async (dir) => {
      const refusing: Runner = {
        name: 'refusing',
        async start(launch) {
          const proc = await processRunner.start(launch);
          return Object.assign(proc, {
            pluginToHost: (address: Address): Address => {
              throw new Error(`the refusing runner does not reach ${address.network} sockets`);
            },
          });
        },
      };
      const client = new PluginClient({ name: 'refused', handshake, plugins: { [COUNTER]: counterPlugin() }, command: { path: bin('counter-plugin'), cwd: dir }, runner: refusing, logger: new MemoryLogger(), stdin: 'ignore' });
      const err = await client.start().then(() => assert.fail('started'), (e: unknown) => e as Error);
      assert.ok(err instanceof PluginStartError);
      assert.match(err.message, /the refusing runner does not reach unix sockets/);
      assert.equal(client.hasExited(), true);
    }));

  it('a runner that cannot start the plugin: the error names the runner and its reason', () =>
    inTempDir(async (dir) => {
      const broken: Runner = {
        name: 'broken',
        start: async () => {
          throw new Error('no capacity left on the cluster');
        },
      };
      const client = new PluginClient({ name: 'nowhere', handshake, plugins: {}, command: { path: '/plugin', cwd: dir }, runner: broken, logger: new MemoryLogger() });
      await assert.rejects(client.start(), /plugin "nowhere" could not be started by the broken runner: no capacity left on the cluster/);
    }));

  it('runner and sandbox together are refused before anything starts', async () => {
    const client = new PluginClient({
      name: 'both',
      handshake,
      command: { path: '/plugin' },
      runner: processRunner,
      sandbox: { runtime: 'binary', pluginDir: '/', workDir: '/tmp' },
      logger: new MemoryLogger(),
    });
    await assert.rejects(client.start(), /sandbox and runner cannot both be set/);
  });
});
