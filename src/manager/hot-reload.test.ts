/**
 * Hot reload: a plugin whose files change is replaced while calls keep
 * coming, none dropped; a broken new version leaves the old one running; a
 * new directory loads and a removed manifest unloads.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ignorable } from './hot-reload.js';
import type { PluginManager } from './manager.js';
import type { ReloadEvent, ReloadStep } from './plugin-info.js';
import { managerFactory } from '../../test/support/managers.js';
import { alive, dist } from '../../test/support/peers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-reload-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const pluginsDir = join(scratch, 'plugins');
mkdirSync(pluginsDir);
const manager = managerFactory(pluginsDir, scratch, { hotReload: { debounceMs: 100, drainMs: 5_000 } });

/** Writes a plugin whose `version()` says which version it is; `slow(ms)` answers after a while. */
function writePlugin(name: string, version: number, body = ''): void {
  const dir = join(pluginsDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plugin.yaml'), `name: ${name}\nversion: ${version}.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: reload\nexports:\n  - { name: version, type: function }\n  - { name: slow, type: function }\n`);
  // Written whole and renamed into place, as a build does, so the watcher never sees half a file.
  writeFileSync(
    join(dir, 'main.js.tmp'),
    `${body}
import { serve } from ${JSON.stringify(pathToFileURL(join(dist, 'src', 'plugin', 'index.js')).href)};
await serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'reload' }, plugins: {},
  exports: { version: () => ${version}, slow: (ms) => new Promise((done) => setTimeout(() => done(${version}), ms)) } });
`,
  );
  renameSync(join(dir, 'main.js.tmp'), join(dir, 'main.js'));
}

/** The next reload event of `name` with one of `steps`, within a bound. */
function nextReload(m: PluginManager, name: string, steps: ReloadStep[], timeoutMs = 30_000): Promise<ReloadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      m.off('reload', listener);
      reject(new Error(`no reload step ${steps.join('/')} of ${name} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (event: ReloadEvent) => {
      if (event.name !== name || !steps.includes(event.step)) return;
      clearTimeout(timer);
      m.off('reload', listener);
      resolve(event);
    };
    m.on('reload', listener);
  });
}

it('a rebuilt plugin takes over while calls keep coming: none is dropped, and a slow one finishes on the old version', async () => {
  writePlugin('steady', 1);
  const m = manager();
  try {
    const steady = (await m.module('plugin:steady')) as { version: () => Promise<number>; slow: (ms: number) => Promise<number> };
    assert.equal(await steady.version(), 1);
    const oldPid = m.info('steady')?.pid as number;
    const seen: number[] = [];
    const errors: string[] = [];
    let stop = false;
    // Four callers, one call after another each, from before the change until the new version has answered.
    const callers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        try {
          seen.push(await steady.version());
        } catch (err) {
          errors.push((err as Error).message);
        }
        if (seen.at(-1) === 2) stop = true;
      }
    });
    const slow = steady.slow(1_500);
    const steps: ReloadStep[] = [];
    const record = ({ name, step }: ReloadEvent) => name === 'steady' && steps.push(step);
    m.on('reload', record);
    const reloaded = nextReload(m, 'steady', ['reloaded', 'failed']);
    writePlugin('steady', 2);
    assert.equal((await reloaded).step, 'reloaded');
    await Promise.all(callers);
    m.off('reload', record);
    assert.deepEqual(errors, [], 'no call failed during the reload');
    assert.equal(await slow, 1, 'the call under way finished on the version it began on');
    assert.ok(seen.includes(1) && seen.at(-1) === 2, `versions seen: ${[...new Set(seen)].join(', ')}`);
    assert.ok(seen.indexOf(2) > seen.lastIndexOf(1) - 4, 'once switched, calls do not go back to the old version');
    assert.deepEqual(steps, ['changed', 'started', 'switched', 'drained', 'reloaded']);
    const info = m.info('steady');
    assert.equal(info?.status, 'running');
    assert.equal(info?.version, '2.0.0');
    assert.equal(info?.reloads, 1);
    assert.notEqual(info?.pid, oldPid);
    assert.equal(alive(oldPid), false, 'the old version was stopped');
  } finally {
    await m.shutdown();
  }
});

it('a broken new version leaves the running one in place and says why; the fixed one then takes over', async () => {
  writePlugin('sturdy', 1);
  const m = manager();
  try {
    const sturdy = (await m.module('plugin:sturdy')) as { version: () => Promise<number> };
    assert.equal(await sturdy.version(), 1);
    const pid = m.info('sturdy')?.pid;

    let failed = nextReload(m, 'sturdy', ['reloaded', 'failed']);
    writePlugin('sturdy', 2, "process.stderr.write('cannot start: the configuration is missing\\n'); process.exit(4);");
    let event = await failed;
    assert.equal(event.step, 'failed');
    assert.match(event.detail ?? '', /the new version would not start: .*exited with code 4.*; the running version keeps running/s);
    assert.equal(await sturdy.version(), 1);
    assert.equal(m.info('sturdy')?.pid, pid);
    assert.match(m.info('sturdy')?.reloadError ?? '', /would not start/);

    failed = nextReload(m, 'sturdy', ['reloaded', 'failed']);
    writeFileSync(join(pluginsDir, 'sturdy', 'plugin.yaml'), 'name: sturdy\nversion: [not a version\n');
    event = await failed;
    assert.equal(event.step, 'failed');
    assert.match(event.detail ?? '', /plugin\.yaml:\d+:\d+: .*YAML; the running version keeps running$/);
    assert.equal(await sturdy.version(), 1);

    const fixed = nextReload(m, 'sturdy', ['reloaded', 'failed']);
    writePlugin('sturdy', 3);
    assert.equal((await fixed).step, 'reloaded', 'the fixed version reloads');
    assert.equal(await sturdy.version(), 3);
    assert.equal(m.info('sturdy')?.reloadError, undefined);
  } finally {
    await m.shutdown();
  }
});

it('a new plugin directory loads, a removed manifest unloads and stops the plugin, and an idle plugin is simply replaced', async () => {
  writePlugin('idle', 1);
  const m = manager();
  try {
    await m.discover();
    const replaced = nextReload(m, 'idle', ['reloaded', 'failed']);
    writePlugin('idle', 2);
    assert.match((await replaced).detail ?? '', /it was not running: its next start runs the new version/);
    assert.equal(await ((await m.module('plugin:idle')) as { version: () => Promise<number> }).version(), 2);

    const loaded = nextReload(m, 'newcomer', ['loaded']);
    writePlugin('newcomer', 1);
    await loaded;
    const newcomer = (await m.module('plugin:newcomer')) as { version: () => Promise<number> };
    assert.equal(await newcomer.version(), 1);
    const pid = m.info('newcomer')?.pid as number;

    const unloaded = nextReload(m, 'newcomer', ['unloaded']);
    rmSync(join(pluginsDir, 'newcomer', 'plugin.yaml'));
    await unloaded;
    assert.equal(m.info('newcomer'), undefined);
    assert.equal(alive(pid), false, 'the unloaded plugin was stopped');
  } finally {
    await m.shutdown();
  }
});

it("the watcher passes over editors' files, dotfiles and a plugin's node_modules, not the plugin's own files", () => {
  for (const path of ['/p/greeter/.plugin.yaml.swp', '/p/greeter/main.ts~', '/p/greeter/x.swx', '/p/greeter/.git', '/p/greeter/node_modules']) assert.equal(ignorable(path), true, path);
  for (const path of ['/p/greeter/plugin.yaml', '/p/greeter/main.js', '/p/greeter/bin', '/p/greeter/hst-chunks', '/p/hst-plugin-clock']) assert.equal(ignorable(path), false, path);
});
