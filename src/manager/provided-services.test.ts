/**
 * provides/requires through PluginManager: plugins whose requirements cannot
 * be met are refused at discovery with one line each, the others run, and a
 * consumer's providers start before it.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commandResult, managerFactory } from '../../test/support/managers.js';
import { dist, goPeers, pythonPeer, repo } from '../../test/support/peers.js';
import { execFileSync } from 'node:child_process';
import { NotesDefinition } from '../../examples/notes/gen/acme/notes/v1/notes.js';
import { Code, RpcError } from '../rpc/status.js';
import { readAudit } from '../security/audit.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-services-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const pluginsDir = join(scratch, 'plugins');

// Outside the repository 'hst' does not resolve: the compiled plugin entry by its path.
const MAIN = `import { serve } from ${JSON.stringify(pathToFileURL(join(dist, 'src', 'plugin', 'index.js')).href)};
await serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'services' }, plugins: {} });
`;

function plugin(name: string, provides: string[], requires: string[]): void {
  const dir = join(pluginsDir, name);
  mkdirSync(dir, { recursive: true });
  const list = (items: string[]) => `[${items.join(', ')}]`;
  writeFileSync(
    join(dir, 'plugin.yaml'),
    `name: ${name}\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: services\nprovides: ${list(provides)}\nrequires: ${list(requires)}\n`,
  );
  writeFileSync(join(dir, 'main.js'), MAIN);
}

plugin('store', ['acme.store.v1.Store'], []);
plugin('mailer', ['acme.mail.v1.Mail'], ['acme.store.v1.Store', 'hst.host.v1.KeyValue']);
plugin('app', [], ['acme.mail.v1.Mail']);
plugin('orphan', [], ['no.such.v1.Service']);
plugin('twin-a', ['acme.twin.v1.Twin'], []);
plugin('twin-b', ['acme.twin.v1.Twin'], []);

const manager = managerFactory(pluginsDir, scratch, { sandbox: 'off' });

it('refuses, at discovery, a requirement nobody provides and a service two plugins provide, each in one line', async () => {
  const m = manager();
  try {
    const { plugins } = await m.discover();
    const status = Object.fromEntries(plugins.map((p) => [p.name, p.status]));
    assert.deepEqual(status, { app: 'discovered', mailer: 'discovered', orphan: 'invalid', store: 'discovered', 'twin-a': 'invalid', 'twin-b': 'invalid' });
    assert.match(m.info('orphan')?.lastError ?? '', /orphan\/plugin\.yaml: requires service no\.such\.v1\.Service, which no plugin provides and the host does not serve$/);
    assert.match(m.info('twin-a')?.lastError ?? '', /service acme\.twin\.v1\.Twin is provided by "twin-a" and "twin-b"; only one plugin may provide a service$/);
    await assert.rejects(m.start('orphan'), /plugin "orphan" is invalid: .*no plugin provides/);
  } finally {
    await m.shutdown();
  }
});

it("starting a consumer starts the providers of what it requires first, and theirs", async () => {
  const m = manager();
  const order: string[] = [];
  m.on('started', ({ name }) => order.push(name));
  try {
    await m.start('app');
    assert.deepEqual(order, ['store', 'mailer', 'app']);
    for (const name of order) assert.equal(m.info(name)?.status, 'running');
  } finally {
    await m.shutdown();
  }
});

// ---- A plugin provides Notes; the examples' Notes plugins, in three languages, require it.

const relayDir = join(scratch, 'relay');
const go = goPeers();
const python = pythonPeer();
const url = (path: string) => JSON.stringify(pathToFileURL(join(dist, path)).href);

/** The provider keeps notes in memory and records who wrote each as the host names the caller. */
const STORE = `import { serve } from ${url('src/plugin/index.js')};
import { NotesDefinition } from ${url('examples/notes/gen/acme/notes/v1/notes.js')};
import { Code, RpcError } from ${url('src/rpc/status.js')};
const notes = new Map();
await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: { store: { server: (r) => r.addService(NotesDefinition, {
    put: ({ name, text }, ctx) => {
      const revision = (notes.get(name)?.revision ?? 0) + 1;
      notes.set(name, { text, revision, writtenBy: String(ctx.metadata['hst-consumer']) });
      return { revision };
    },
    get: ({ name }) => {
      const note = notes.get(name);
      if (!note) throw new RpcError(Code.NOT_FOUND, 'no note named ' + name);
      return note;
    },
  }) } },
});
`;

/** An example Notes plugin's manifest with `requires:` for its capabilities, its entry a link to the built one. */
function relayPlugin(name: string, command: string, target: string): void {
  const dir = join(relayDir, name);
  mkdirSync(join(dir, command, '..'), { recursive: true });
  const example = readFileSync(join(repo, 'examples', 'notes', 'plugins', name, 'plugin.yaml'), 'utf8');
  writeFileSync(join(dir, 'plugin.yaml'), example.replace(/capabilities:\n(  - .*\n)+/, 'requires: [acme.notes.v1.Notes]\n'));
  symlinkSync(target, join(dir, command));
}


it('a plugin provides a service; consumers in TypeScript, Go and Python call it through the host, which names them', { skip: 'skip' in go ? go.skip : 'skip' in python ? python.skip : false }, async () => {
  execFileSync(process.execPath, [join(repo, 'scripts', 'build-plugins.mjs'), 'notes-go'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(join(relayDir, 'store'), { recursive: true });
  writeFileSync(join(relayDir, 'store', 'plugin.yaml'), 'name: store\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: hst-example-v1\nprovides: [acme.notes.v1.Notes]\n');
  writeFileSync(join(relayDir, 'store', 'main.js'), STORE);
  const examples = join(repo, 'examples', 'notes', 'plugins');
  relayPlugin('notes-ts', 'main.js', join(examples, 'notes-ts', 'main.js'));
  relayPlugin('notes-go', 'bin/notes-go', join(examples, 'notes-go', 'bin', 'notes-go'));
  relayPlugin('notes-py', 'main.py', join(examples, 'notes-py', 'main.py'));

  const m = managerFactory(relayDir, scratch, { sandbox: 'off', ...('python' in python ? { pythonCommand: python.python } : {}) })({ policy: { deny: ['service:acme.notes.v1.Notes/Get'] } });
  const order: string[] = [];
  m.on('started', ({ name }) => order.push(name));
  try {
    for (const lang of ['ts', 'go', 'py']) {
      const put = await commandResult(m, `notes-${lang}`, 'put', { name: `n/${lang}`, text: `from ${lang}` });
      assert.deepEqual(put.value, { revision: 1 }, `notes-${lang}: ${put.output}`);
    }
    assert.equal(order[0], 'store', 'the provider started before its first consumer');
    // The application calls the provider too; each note was written by the consumer the host saw.
    const notes = m.service(NotesDefinition);
    for (const lang of ['ts', 'go', 'py']) assert.deepEqual(await notes.get({ name: `n/${lang}` }), { text: `from ${lang}`, revision: 1, writtenBy: `notes-${lang}` });

    // The operator denied Get through the relay: refused and audited, like a host call.
    const denied = await commandResult(m, 'notes-go', 'get', { name: 'n/ts' });
    assert.equal(denied.exitCode, 1);
    assert.match(denied.output, /^Notes\/Get acme\.notes\.v1\.Notes\/Get: denied by service:acme\.notes\.v1\.Notes\/Get$/m);
    const records = readAudit(m.auditPath).filter((r) => r.capability === 'service');
    assert.ok(records.some((r) => r.plugin === 'notes-py' && r.resource === 'acme.notes.v1.Notes/Put' && r.decision === 'allow'), JSON.stringify(records));
    assert.ok(records.some((r) => r.plugin === 'notes-go' && r.resource === 'acme.notes.v1.Notes/Get' && r.decision === 'deny'));

    // The provider restarts (its notes are gone with it): consumers go on calling it.
    const restarted = new Promise((resolve) => m.on('restarted', ({ name }) => name === 'store' && resolve(undefined)));
    m.kill('store');
    await restarted;
    const again = await commandResult(m, 'notes-ts', 'put', { name: 'n/ts', text: 'after' });
    assert.deepEqual(again.value, { revision: 1 }, again.output);
    const missing = await notes.get({ name: 'n/go' }).then(() => assert.fail('found'), (e: unknown) => e as RpcError);
    assert.equal(missing.code, Code.NOT_FOUND);
  } finally {
    await m.shutdown();
  }
});
