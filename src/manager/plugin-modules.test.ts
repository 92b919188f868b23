/**
 * A plugin's exports as a JavaScript module (`manager.module('plugin:<name>')`):
 * functions and object methods called with JSON-like values, failures as
 * exceptions with the plugin's message, the allowlist, and the manifest's rules.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Code, RpcError } from '../rpc/status.js';
import { parseManifest } from '../security/manifest.js';
import { managerFactory } from '../../test/support/managers.js';
import { dist, pythonPeer, repo } from '../../test/support/peers.js';

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

/** A plugin found by its file's name: an executable hst-plugin-<name>, here a Node script, speaking the conventional handshake. */
function namedPlugin(file: string, exportsSource: string, mode = 0o755): void {
  writeFileSync(
    join(pluginsDir, file),
    `#!${process.execPath}
import { serve } from ${JSON.stringify(pathToFileURL(join(dist, 'src', 'plugin', 'index.js')).href)};
await serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' }, plugins: {}, exports: ${exportsSource} });
`,
    { mode },
  );
}
const python = pythonPeer();
if ('python' in python) {
  // The Python SDK's Describe: a Python script found by its name (run unsandboxed here, as an executable).
  const executable = execFileSync(python.python, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(pluginsDir, 'hst-plugin-pynamed'),
    `#!${executable}
import sys
sys.path.insert(0, ${JSON.stringify(join(repo, 'sdk', 'python'))})
from hst_plugin import HandshakeConfig, ServeConfig, serve
serve(ServeConfig(handshake=HandshakeConfig(protocol_version=1, magic_cookie_key="HST_PLUGIN", magic_cookie_value="hst-example-v1"),
                  exports={"twice": lambda n: n * 2, "words": {"upper": lambda s: s.upper()}}))
`,
    { mode: 0o755 },
  );
}
namedPlugin('hst-plugin-named', `{ twice: (n) => n * 2, words: { upper: (s) => s.toUpperCase(), lower: (s) => s.toLowerCase() } }`);
namedPlugin('hst-plugin-liar', `{ ['not-a-name']: () => 1 }`);
namedPlugin('hst-plugin-plain', '{}', 0o644);
namedPlugin('hst-plugin-Bad_Name', '{}');

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

it('a plugin found by its file name: no manifest, no capabilities, exports learned by asking it', async () => {
  const m = manager();
  try {
    const { plugins } = await m.discover();
    const byName = Object.fromEntries(plugins.map((p) => [p.name, p]));
    assert.equal(byName.named?.status, 'discovered', byName.named?.lastError);
    assert.equal(byName.named?.foundByName, true);
    assert.deepEqual(byName.named?.capabilities, []);
    assert.deepEqual(byName.named?.exports, [], 'unknown until asked');
    assert.equal(byName.plain?.status, 'unavailable');
    assert.match(byName.plain?.lastError ?? '', /hst-plugin-plain is not executable \(chmod \+x hst-plugin-plain\)/);
    assert.equal(plugins.find((p) => p.file.endsWith('hst-plugin-Bad_Name'))?.status, 'invalid');
    assert.match(plugins.find((p) => p.file.endsWith('hst-plugin-Bad_Name'))?.lastError ?? '', /"Bad_Name" is not a plugin name .*so the file is not a plugin/);

    const named = (await m.module('plugin:named')) as any;
    assert.equal(await named.twice(21), 42);
    assert.equal(await named.words.upper('ada'), 'ADA');
    assert.deepEqual(
      m.list().find((p) => p.name === 'named')?.exports,
      [
        { name: 'twice', type: 'function' },
        { name: 'words', type: 'object', methods: [{ name: 'upper' }, { name: 'lower' }] },
      ],
    );
    if ('python' in python) {
      const pynamed = (await m.module('plugin:pynamed')) as any;
      assert.equal(await pynamed.words.upper('ada'), 'ADA');
      assert.deepEqual(m.list().find((p) => p.name === 'pynamed')?.exports, [
        { name: 'twice', type: 'function' },
        { name: 'words', type: 'object', methods: [{ name: 'upper' }] },
      ]);
    }
    await assert.rejects(m.module('plugin:liar'), (e: unknown) => e instanceof RpcError && e.code === Code.INTERNAL && /^plugin:liar: the plugin's list of its exports is unusable: "not-a-name" is not a JavaScript identifier$/.test(e.details));
  } finally {
    await m.shutdown();
  }
});

it('signature policy require refuses a plugin found by its name: it has no manifest to sign', async () => {
  const m = manager({ signaturePolicy: 'require', trustedKeysDir: join(scratch, 'no-keys') });
  try {
    const { plugins } = await m.discover();
    const named = plugins.find((p) => p.name === 'named');
    assert.equal(named?.status, 'invalid');
    assert.match(named?.lastError ?? '', /hst-plugin-named: found by its name, with no plugin\.yaml to sign; signature policy require runs signed plugins only/);
    await assert.rejects(m.module('plugin:named'), /named/);
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
    ['  - { name: o, type: object, methods: [m, m] }\n', /exports\[0\]\.methods\[1\]\.name: duplicate method name "m"/],
    ['  - { name: 2fast, type: function }\n', /exports\[0\]\.name: .*JavaScript identifier/],
    ['  - { name: f, type: class }\n', /exports\[0\]\.type/],
  ];
  for (const [tail, message] of cases) assert.throws(() => parseManifest(base + tail, 'p.yaml'), message, tail);
  assert.deepEqual(parseManifest(`${base}  - { name: o, type: object, methods: [a, b] }\n`, 'p.yaml').exports, [{ name: 'o', type: 'object', methods: [{ name: 'a' }, { name: 'b' }] }]);
});

it("typed exports: params with types, defaults and optional ones, returns; each mistake names its field", () => {
  const base = `name: p\nversion: 1.0.0\nruntime: node\ncommand: main.js\n${HANDSHAKE}exports:\n`;
  const typed = parseManifest(
    `${base}  - name: f\n    type: function\n    params:\n      - { name: a, type: string, help: the first }\n      - { name: b, type: int, default: 2 }\n      - { name: c, optional: true }\n    returns: map\n  - name: o\n    type: object\n    methods:\n      - plain\n      - { name: m, params: [], returns: none }\n`,
    'p.yaml',
  ).exports;
  assert.deepEqual(typed, [
    {
      name: 'f',
      type: 'function',
      params: [
        { name: 'a', type: 'string', optional: false, help: 'the first' },
        { name: 'b', type: 'int', optional: true, default: 2 },
        { name: 'c', type: 'json', optional: true },
      ],
      returns: 'map',
    },
    { name: 'o', type: 'object', methods: [{ name: 'plain' }, { name: 'm', params: [], returns: 'none' }] },
  ]);
  const cases: Array<[string, RegExp]> = [
    ['  - { name: f, type: function, params: [{ name: a, type: int, default: "2" }] }\n', /p\.yaml:\d+:\d+: exports\[0\]\.params\[0\]\.default: "2": a string is not an int; expected a default of the parameter's type \(int\)/],
    ['  - { name: f, type: function, params: [{ name: a, optional: true }, { name: b }] }\n', /exports\[0\]\.params\[1\]\.name: the required parameter "b" follows the optional "a"/],
    ['  - { name: f, type: function, params: [{ name: a }, { name: a }] }\n', /exports\[0\]\.params\[1\]\.name: duplicate parameter name "a"/],
    ['  - { name: f, type: function, params: [{ name: a, kind: int }] }\n', /exports\[0\]\.params\[0\]\.kind: unknown key; expected one of name, type, optional, default, help/],
    ['  - { name: f, type: function, params: [{ name: a, type: integer }] }\n', /exports\[0\]\.params\[0\]\.type: .*one of string, int, number, bool, list, map, json/],
    ['  - { name: f, type: function, returns: void }\n', /exports\[0\]\.returns: .*or none/],
    ['  - { name: o, type: object, methods: [m], returns: map }\n', /exports\[0\]\.returns: an object export has no returns of its own; expected returns on each of its methods/],
    ['  - { name: o, type: object, methods: [{ name: m, params: [{ name: 1x }] }] }\n', /exports\[0\]\.methods\[0\]\.params\[0\]\.name: .*JavaScript identifier/],
    ['  - { name: o, type: object, methods: [{ name: m, returns: map, extra: 1 }] }\n', /exports\[0\]\.methods\[0\]\.extra: unknown key; expected one of name, params, returns/],
  ];
  for (const [tail, message] of cases) assert.throws(() => parseManifest(base + tail, 'p.yaml'), message, tail);
});
