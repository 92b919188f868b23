/**
 * Each entry point loads its own side and nothing of the other: a plugin that
 * imports `hst/plugin` must not pay for the host, the manager, SQLite, the CLI
 * or the TUI, nor for gRPC's code before it knows its host is not hst. The graph is
 * recorded by a resolve hook in a fresh Node process, so it is what Node
 * really loads, not what the sources seem to say.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeModule, loadedBy } from '../test/support/module-graph.js';

/** What neither entry loads by importing it: the CLI and TUI, and what is loaded with its first use. */
const NEITHER_SIDE_AT_IMPORT = [
  /^src\/cli\//,
  /^src\/rpc\/(http2|yamux)\//,
  /^src\/protocol\/multiplexer\.js$/,
  /^node:http2$/,
  /^src\/protocol\/mtls\.js$/,
  /^package (better-sqlite3|chokidar|ink|react|commander|esbuild)$/,
];

describe('entry points', () => {
  it('hst/plugin loads neither the host side, nor SQLite, the CLI, the TUI or YAML, nor gRPC, yamux or certificates until a host asks for them', () => {
    const loaded = loadedBy(import.meta.resolve('./plugin/index.js')).map(describeModule);
    assert.ok(loaded.includes('src/plugin/serve.js'), `the recorder saw the graph: ${loaded.join(', ')}`);
    const forbidden = [...NEITHER_SIDE_AT_IMPORT, /^src\/(host|manager|security)\//, /^src\/host-services\/(?!limits\.js$)/, /^package (yaml|zod|pino)$/];
    const pulled = loaded.filter((m) => forbidden.some((f) => f.test(m)));
    assert.deepEqual(pulled, [], `hst/plugin pulls in: ${pulled.join(', ')}`);
  });

  it('hst/host loads gRPC, yamux, SQLite, the file watcher, certificates, the manifest parser and the HTTP client only when a plugin or a call needs them, and never the CLI or TUI', () => {
    const loaded = loadedBy(import.meta.resolve('./host/index.js')).map(describeModule);
    assert.ok(loaded.includes('src/host/plugin-client.js'), `the recorder saw the graph: ${loaded.join(', ')}`);
    const firstUse = [/^src\/security\/manifest\.js$/, /^package (yaml|zod)$/, /^node:(http|https|dns)$/];
    const pulled = loaded.filter((m) => [...NEITHER_SIDE_AT_IMPORT, ...firstUse].some((f) => f.test(m)));
    assert.deepEqual(pulled, [], `hst/host pulls in: ${pulled.join(', ')}`);
  });

  it('hst/host has the host side, and the root export still has both', async () => {
    const host = await import('./host/index.js');
    const root = await import('./index.js');
    const plugin = await import('./plugin/index.js');
    for (const name of ['PluginClient', 'PluginManager', 'HostServices', 'runCommand']) assert.equal(typeof (host as Record<string, unknown>)[name], 'function', name);
    for (const name of Object.keys(plugin)) assert.equal((root as Record<string, unknown>)[name], (plugin as Record<string, unknown>)[name], name);
    for (const name of Object.keys(host)) assert.equal((root as Record<string, unknown>)[name], (host as Record<string, unknown>)[name], name);
  });
});
