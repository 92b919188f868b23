/**
 * The same attacks from a real go-plugin Go plugin
 * (interop/go/cmd/attacker-plugin): hst's host services must refuse and
 * audit a Go plugin exactly as they do a TypeScript one, and the host's
 * status crosses the Go plugin unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Code, RpcError } from '../../src/rpc/status.js';
import { kvPlugin, PLUGIN_NAME, type KV } from '../../examples/kv/shared.js';
import { goPeers } from '../support/peers.js';
import { createScene, narrowManifest, type AttackCase, type Outcome, type PluginUnderTest, type Scene } from './scene.js';

const go = goPeers();
const GO_ATTACKER = 'go-attacker';

let scene: Scene;
let attacker: PluginUnderTest;
const check = (c: AttackCase) => async () => void (await scene.attack(c, attacker));

/** Starts the Go plugin; its KV Get(key) makes the host call `<method>:<path>` the key names. */
async function startGoAttacker(s: Scene): Promise<PluginUnderTest> {
  const bin = 'bin' in go ? go.bin : '';
  const { client, connection } = await s.launch(GO_ATTACKER, narrowManifest(1), { path: join(bin, 'attacker-plugin') }, s.workspace, {
    plugins: { [PLUGIN_NAME]: kvPlugin() },
  });
  const kv = await client.dispense<KV>(PLUGIN_NAME);
  const run = async (_service: string, method: string, request: unknown, metadata: Record<string, string> = {}): Promise<Outcome> => {
    const claim = metadata['x-hst-client-id'];
    const key = `${claim ? `claim=${claim};` : ''}${method}:${(request as { path: string }).path}`;
    try {
      const value = Buffer.from(await kv.get(key));
      return { ok: true, code: 0, message: '', response: { value: value.toString() }, raw: value.toString() };
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      return { ok: false, code: err.code, message: err.details, response: undefined, raw: err.details };
    }
  };
  return s.adopt({
    name: GO_ATTACKER,
    client,
    connection,
    clientId: connection.caller.clientId,
    run,
    async must(service, method, request) {
      const out = await run(service, method, request);
      assert.ok(out.ok, out.message);
      return out.response;
    },
  });
}

const goCase = (method: string, path: string, op: string, expect: AttackCase['expect'] = 'deny', metadata?: Record<string, string>): AttackCase => ({
  name: `${method} ${JSON.stringify(path)}`,
  service: 'go',
  method,
  request: { path },
  op,
  expect,
  ...(metadata ? { metadata } : {}),
});

const cases: AttackCase[] = [
  goCase('readFile', '../outside/secret.txt', 'Filesystem/ReadFile'),
  goCase('readFile', 'public/../../outside/secret.txt', 'Filesystem/ReadFile'),
  goCase('readFile', '/etc/passwd', 'Filesystem/ReadFile'),
  goCase('readFile', 'secret.txt', 'Filesystem/ReadFile'),
  goCase('readFile', `/proc/${process.pid}/environ`, 'Filesystem/ReadFile'),
  goCase('readFile', 'public/link-out', 'Filesystem/ReadFile'),
  goCase('readFile', 'public/%2e%2e/secret.txt', 'Filesystem/ReadFile', { code: Code.NOT_FOUND }),
  goCase('readFile', 'public/\u2025/secret.txt', 'Filesystem/ReadFile', { code: Code.NOT_FOUND }),
  goCase('readFile', 'public/\0/../../secret.txt', 'Filesystem/ReadFile'),
  goCase('readFileStream', '../outside/secret.txt', 'Filesystem/ReadFileStream'),
  goCase('writeFile', 'public/planted.txt', 'Filesystem/WriteFile'),
  goCase('writeFile', '../outside/planted.txt', 'Filesystem/WriteFile'),
  goCase('writeFile', 'out/link-out', 'Filesystem/WriteFile'),
  goCase('remove', '../outside/secret.txt', 'Filesystem/Remove'),
  goCase('stat', '..', 'Filesystem/Stat'),
  goCase('readDir', '..', 'Filesystem/ReadDir'),
  goCase('readDir', '/', 'Filesystem/ReadDir'),
  goCase('walk', '..', 'Filesystem/Walk'),
  goCase('open', '../outside/secret.txt', 'FileHandles/Open'),
  goCase('readHandle', '0123456789abcdef0123456789abcdef', 'FileHandles/Read'),
  goCase('getEnv', 'SECRET_TOKEN', 'Environment/GetEnv'),
  goCase('getEnv', 'HOME', 'Environment/GetEnv'),
  goCase('exec', '/bin/sh', 'Processes/Exec'),
  goCase('readFile', 'public/readme.txt', 'Filesystem/ReadFile', { allowed: (r) => assert.equal(r.value, 'public readme\n') }),
];

describe('attacks from a Go plugin', { skip: 'skip' in go ? go.skip : false }, () => {
  before(async () => {
    scene = await createScene({});
    symlinkSync('../../outside/secret.txt', join(scene.workspace, 'public', 'link-out'));
    symlinkSync('../../outside/secret.txt', join(scene.workspace, 'out', 'link-out'));
    scene.markOutside();
    attacker = await startGoAttacker(scene);
  });
  after(() => scene.close());

  for (const c of cases) it(c.name, check(c));

  it('a claimed client id is recorded as a claim, under the Go plugin\'s own identity', async () => {
    const claimed = randomUUID();
    const { audit } = await scene.attack(goCase('readFile', 'secret.txt', 'Filesystem/ReadFile', 'deny', { 'x-hst-client-id': claimed }), attacker);
    assert.deepEqual(
      audit.map((r) => [r.plugin, r.instance, r.claimed_instance]),
      [[GO_ATTACKER, attacker.clientId, claimed]],
    );
  });
});
