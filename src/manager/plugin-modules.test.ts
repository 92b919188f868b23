/**
 * A plugin's exports as a JavaScript module (`manager.module('plugin:<name>')`):
 * functions and object methods called with JSON-like values, failures as
 * exceptions with the plugin's message, the allowlist, and the manifest's rules.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Code, RpcError } from '../rpc/status.js';
import { parseManifest } from '../security/manifest.js';
import { managerFactory } from '../../test/support/managers.js';
import { dist } from '../../test/support/peers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-modules-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const pluginsDir = join(scratch, 'plugins');
const HANDSHAKE = 'handshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: modules\n';

function plugin(name: string, manifestTail: string, exportsSource: string): void {
  mkdirSync(join(pluginsDir, name), { recursive: true });
  writeFileSync(join(pluginsDir, name, 'plugin.yaml'), `name: ${name}\nversion: 1.0.0\nruntime: node\ncommand: main.js\n${HANDSHAKE}${manifestTail}`);
  writeFileSync(
    join(pluginsDir, name, 'main.js'),
    `import { serve } from ${JSON.stringify(pathToFileURL(join(dist, 'src', 'plugin', 'index.js')).href)};
let count = 0;
await serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'modules' }, plugins: {}, exports: ${exportsSource} });
`,
  );
}

plugin(
  'greeter',
  'exports:\n  - name: greet\n    type: function\n  - name: add\n    type: function\n  - name: fail\n    type: function\n  - name: nothing\n    type: function\n  - name: counter\n    type: object\n    methods: [inc, get]\n',
  `{
    greet: (name) => 'hello, ' + name,
    add: (a, b) => a + b,
    fail: () => { throw new Error('the greeter is out of words'); },
    nothing: () => undefined,
    counter: { inc: async (by = 1) => (count += by), get: () => ({ count, at: { list: [1, 'two', true, null], nested: { deep: 1.5 } } }) },
  }`,
);
plugin('silent', '', '{}');

const manager = managerFactory(pluginsDir, scratch, { sandbox: 'off' });

it('functions and object methods take and return JSON-like values; a throw rejects with the plugin\'s message', async () => {
  const m = manager();
  try {
    const greeter = (await m.module('plugin:greeter')) as any;
    assert.deepEqual(Object.keys(greeter), ['greet', 'add', 'fail', 'nothing', 'counter']);
    assert.equal(await greeter.greet('Ada'), 'hello, Ada');
    assert.equal(await greeter.add(2, 3.5), 5.5);
    assert.equal(await greeter.nothing(), null);
    assert.equal(await greeter.counter.inc(), 1);
    assert.equal(await greeter.counter.inc(4), 5);
    assert.deepEqual(await greeter.counter.get(), { count: 5, at: { list: [1, 'two', true, null], nested: { deep: 1.5 } } });
    const err = await greeter.fail().then(() => assert.fail('resolved'), (e: unknown) => e as RpcError);
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, Code.UNKNOWN);
    assert.match(err.details, /the greeter is out of words$/);
  } finally {
    await m.shutdown();
  }
});

it('the allowlist and a plugin that exports nothing refuse the module, saying why', async () => {
  const m = manager({ modules: { allow: ['plugin:g*', 'plugin:silent'] } });
  try {
    assert.equal(typeof ((await m.module('greeter')) as any).greet, 'function');
    await assert.rejects(m.module('plugin:silent'), /plugin "silent" exports nothing \(no exports: in .*silent\/plugin\.yaml\)/);
    const strict = manager({ modules: { allow: ['plugin:other'] } });
    await assert.rejects(strict.module('plugin:greeter'), (e: unknown) => e instanceof RpcError && e.code === Code.PERMISSION_DENIED && /module plugin:greeter is not in this host's allowlist \(plugin:other\)/.test(e.details));
    await strict.shutdown();
  } finally {
    await m.shutdown();
  }
});

it("the manifest's exports: unique names, a function has no methods, an object at least one", () => {
  const base = `name: p\nversion: 1.0.0\nruntime: node\ncommand: main.js\n${HANDSHAKE}exports:\n`;
  const cases: Array<[string, RegExp]> = [
    ['  - { name: a, type: function }\n  - { name: a, type: object, methods: [m] }\n', /exports\[1\]\.name: duplicate export name "a"/],
    ['  - { name: f, type: function, methods: [m] }\n', /exports\[0\]\.methods: a function export has no methods/],
    ['  - { name: o, type: object }\n', /exports\[0\]\.type: the object export "o" has no methods/],
    ['  - { name: o, type: object, methods: [m, m] }\n', /exports\[0\]\.methods\[1\]: duplicate method name "m"/],
    ['  - { name: 2fast, type: function }\n', /exports\[0\]\.name: .*JavaScript identifier/],
    ['  - { name: f, type: class }\n', /exports\[0\]\.type/],
  ];
  for (const [tail, message] of cases) assert.throws(() => parseManifest(base + tail, 'p.yaml'), message, tail);
  assert.deepEqual(parseManifest(`${base}  - { name: o, type: object, methods: [a, b] }\n`, 'p.yaml').exports, [{ name: 'o', type: 'object', methods: ['a', 'b'] }]);
});
