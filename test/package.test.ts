/**
 * hst as an application imports it: `hst`, `hst/plugin` and `hst/host`
 * resolve to the bundle scripts/bundle-package.mjs makes from tsc's output.
 * The bundle must offer what the compiled entries offer, share one class
 * between its entries, load no dependency before it is used, and still find
 * what hst finds relative to its own files (the sandbox launcher, the package
 * root a sandboxed Node plugin may read).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeSandbox } from '../src/security/sandbox.js';
import { MemoryLogger } from '../src/log.js';
import { describeModule, loadedBy } from './support/module-graph.js';
import { repo } from './support/peers.js';

const entries = { hst: '../src/index.js', 'hst/plugin': '../src/plugin/index.js', 'hst/host': '../src/host/index.js' } as const;
const scratch = mkdtempSync(join(tmpdir(), 'hst-package-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const probe = await probeSandbox();
const noIsolation = !probe.bwrap && !probe.launcher && !process.env.CI ? `no isolation here: ${probe.reasons.bwrap}; ${probe.reasons.launcher}` : false;

describe('the package as installed', () => {
  it('resolves each entry to the bundle, with every export of the compiled entry, one class whichever entry it came through', async () => {
    const bundled: Record<string, Record<string, unknown>> = {};
    for (const [specifier, compiled] of Object.entries(entries)) {
      assert.match(fileURLToPath(import.meta.resolve(specifier)), /\/dist\/src\/bundle\/[a-z]+\.js$/, specifier);
      bundled[specifier] = (await import(specifier)) as Record<string, unknown>;
      const names = Object.keys((await import(compiled)) as object).sort();
      assert.deepEqual(Object.keys(bundled[specifier] as object).sort(), names, `${specifier} exports what ${compiled} does`);
    }
    const [root, plugin, host] = [bundled.hst, bundled['hst/plugin'], bundled['hst/host']] as Array<Record<string, unknown>>;
    for (const name of ['RpcError', 'Code', 'defaultLogger']) {
      assert.equal(plugin?.[name], host?.[name], `${name} is one value in hst/plugin and hst/host`);
      assert.equal(root?.[name], host?.[name], `${name} is one value in hst and hst/host`);
    }
  });

  it('loads no dependency by importing hst/host or hst/plugin: what each needs comes with its first use', () => {
    for (const specifier of ['hst/host', 'hst/plugin']) {
      const loaded = loadedBy(import.meta.resolve(specifier)).map(describeModule);
      assert.ok(loaded.some((m) => m.startsWith('src/bundle/')), `the recorder saw the graph: ${loaded.join(', ')}`);
      const packages = loaded.filter((m) => m.startsWith('package '));
      assert.deepEqual(packages, [], `${specifier} loads at import: ${packages.join(', ')}`);
    }
  });

  it('runs a plugin sandboxed through the bundled PluginManager, finding the launcher and the package root from the bundle', { skip: noIsolation }, async () => {
    // A specifier tsc does not resolve: before the first build there is no bundle to type it from.
    const specifier: string = 'hst/host';
    const { PluginManager } = (await import(specifier)) as typeof import('../src/host/index.js');
    const manager = new PluginManager({
      pluginDirs: [join(repo, 'test', 'fixtures', 'manager', 'plugins')],
      dataDir: join(scratch, 'data'),
      logger: new MemoryLogger(),
      health: { intervalMs: 0 },
      sandbox: 'require',
    });
    try {
      const info = await manager.start('toolbox');
      assert.ok(!Array.isArray(info) && info.sandbox?.layers.includes('isolation'), `isolated: ${JSON.stringify(!Array.isArray(info) && info.sandbox)}`);
      const events = [];
      for await (const event of manager.runCommand('toolbox', 'greet', { name: 'Ada' })) events.push(event);
      assert.deepEqual(events.at(-1), { result: { value: { greeted: 'Ada' }, exitCode: 0 } });
    } finally {
      await manager.shutdown();
    }
  });

  it("imports a plugin as a module through the bundle: Node's hooks file sits beside the bundle's chunks", async () => {
    const specifier: string = 'hst/host';
    const { PluginManager, importablePlugins } = (await import(specifier)) as typeof import('../src/host/index.js');
    const manager = new PluginManager({ pluginDirs: [join(repo, 'examples', 'modules', 'plugins')], dataDir: join(scratch, 'modules'), logger: new MemoryLogger(), health: { intervalMs: 0 } });
    try {
      await importablePlugins(manager);
      const id: string = 'plugin:greeter-ts';
      const { greet } = (await import(id)) as { greet: (name: string) => Promise<unknown> };
      assert.equal(await greet('Ada'), 'hello, Ada, from TypeScript');
    } finally {
      await manager.shutdown();
    }
  });
});

describe('the package as packed', () => {
  it('ships the built dashboard that hst serve loads, and no tests', () => {
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
    assert.equal(packed.status, 0, packed.stderr);
    const files = new Set(((JSON.parse(packed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files ?? []).map((f) => f.path));
    for (const asset of ['dist/dashboard/index.html', 'dist/dashboard/app.js', 'dist/dashboard/app.css']) assert.ok(files.has(asset), `${asset} is not in the package`);
    assert.deepEqual([...files].filter((f) => f.startsWith('test/') || f.startsWith('dist/test/')), []);
  });
});
