/**
 * The container runner with a real engine (podman here; docker where it is
 * the one that answers): a go-plugin plugin in an image built from nothing
 * but its static binary, no network, one socket directory shared with the
 * host. And what a host without an engine is told.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerRunner, PluginClient, PluginStartError } from '../../src/host/index.js';
import { counterPlugin, PLUGIN_NAME as COUNTER } from '../../examples/bidirectional/shared.js';
import { handshake } from '../../examples/kv/shared.js';
import { checkCounterCallsBack } from '../support/contracts.js';
import { MemoryLogger } from '../../src/log.js';
import { containerEngine, goPeers, inTempDir, repo } from '../support/peers.js';

const peers = goPeers();

/** An image holding only go-plugin's counter plugin, built static: the image has no libc. */
function counterImage(engine: string): string {
  const work = mkdtempSync(join(tmpdir(), 'hst-image-'));
  try {
    const root = join(work, 'root');
    mkdirSync(join(root, 'tmp'), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    execFileSync('go', ['build', '-o', join(root, 'counter-plugin'), './cmd/counter-plugin'], {
      cwd: join(repo, 'interop', 'go'),
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tag = `localhost/hst-test-counter:${createHash('sha256').update(readFileSync(join(root, 'counter-plugin'))).digest('hex').slice(0, 16)}`;
    if (spawnSync(engine, ['image', 'inspect', tag], { stdio: 'ignore' }).status !== 0) {
      execFileSync('tar', ['-C', root, '-cf', join(work, 'image.tar'), '.']);
      execFileSync(engine, ['import', join(work, 'image.tar'), tag], { stdio: 'ignore' });
    }
    return tag;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

let image: string | undefined;
const engine = 'skip' in peers ? peers : containerEngine((exe) => (image = counterImage(exe)));

function containers(exe: string): string[] {
  return execFileSync(exe, ['ps', '--all', '--format', '{{.Names}}'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('container runner: a go-plugin plugin in a container with one socket directory', { skip: 'skip' in engine ? engine.skip : false }, () => {
  const { engine: exe, runArgs } = engine as { engine: string; runArgs: string[] };

  for (const [multiplex, autoMTLS] of [
    [true, false],
    [true, true],
    [false, false],
  ] as const) {
    it(`counter plugin${multiplex ? ', multiplexed' : ''}${autoMTLS ? ', AutoMTLS' : ''}: calls and broker callbacks in and out of the container`, () =>
      inTempDir(async (dir) => {
        const logger = new MemoryLogger();
        const client = new PluginClient({
          name: 'contained counter',
          handshake,
          plugins: { [COUNTER]: counterPlugin() },
          command: { path: '/counter-plugin', cwd: dir },
          runner: containerRunner({ image: image as string, engine: exe, runArgs }),
          multiplex,
          autoMTLS,
          logger,
          stdin: 'ignore',
          startTimeoutMs: 60_000,
        });
        await checkCounterCallsBack(client);
        // The plugin announced its socket in the container's terms; the host dialled the directory it shares.
        assert.match(client.handshake?.address.address ?? '', /^\/tmp\/plugin-dir[^/]+\/plugin/);
        assert.equal(client.pid, undefined, 'a container has no pid of the host');
        const name = containers(exe).find((n) => n.startsWith('hst-contained-counter-'));
        assert.ok(name, `no container named for the plugin among ${containers(exe).join(', ')}`);
        await client.kill();
        assert.equal(logger.find('plugin failed to exit gracefully'), undefined, 'Shutdown did not end the container');
        assert.deepEqual(await client.exited, { code: 0, signal: null });
        assert.ok(!containers(exe).includes(name), 'the container was removed');
      }));
  }

  it("a command missing from the image: the engine's reason, and what it means", () =>
    inTempDir(async (dir) => {
      const client = new PluginClient({
        name: 'missing',
        handshake,
        plugins: {},
        command: { path: '/no-such-plugin', cwd: dir },
        runner: containerRunner({ image: image as string, engine: exe, runArgs }),
        logger: new MemoryLogger(),
        stdin: 'ignore',
        startTimeoutMs: 60_000,
      });
      const err = await client.start().then(() => assert.fail('started'), (e: unknown) => e as PluginStartError);
      assert.ok(err instanceof PluginStartError, String(err));
      assert.match(err.message, /plugin exited before we could connect/);
      assert.match(err.message, new RegExp(`${exe} (did not find the command in the image|could not create or start the container|found the command in the image but could not run it) \\(exit 12[567]\\)`));
      assert.match(err.message, /no-such-plugin/);
    }));
});

describe('container runner without an engine', () => {
  it('says that none answers, what each one said, and what to install', () =>
    inTempDir(async (dir) => {
      // An engine whose daemon is down answers `version` with an error, as docker's client does without dockerd.
      const fake = join(dir, 'fake-docker');
      writeFileSync(fake, '#!/bin/sh\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1\n', { mode: 0o755 });
      for (const [engine, said] of [
        [join(dir, 'no-such-engine'), /no-such-engine: not installed/],
        [fake, /fake-docker: Cannot connect to the Docker daemon/],
      ] as const) {
        const client = new PluginClient({ name: 'boxed', handshake, plugins: {}, command: { path: '/plugin' }, runner: containerRunner({ image: 'example/plugin', engine }), logger: new MemoryLogger() });
        const err = await client.start().then(() => assert.fail('started'), (e: unknown) => e as Error);
        assert.match(err.message, /plugin "boxed" could not be started by the container runner: no container engine answers/);
        assert.match(err.message, said);
        assert.match(err.message, /install podman or docker, or start docker's daemon/);
        assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace');
      }
    }));
});
