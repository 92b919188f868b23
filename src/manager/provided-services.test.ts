/**
 * provides/requires through PluginManager: plugins whose requirements cannot
 * be met are refused at discovery with one line each, the others run, and a
 * consumer's providers start before it.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { managerFactory } from '../../test/support/managers.js';
import { dist } from '../../test/support/peers.js';

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
