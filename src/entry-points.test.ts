/**
 * Each entry point loads its own side and nothing of the other: a plugin that
 * imports `hst/plugin` must not pay for the host, the manager, SQLite, the CLI
 * or the TUI, nor for grpc-js before it knows its host is not hst. The graph is
 * recorded by a resolve hook in a fresh Node process, so it is what Node
 * really loads, not what the sources seem to say.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Every module URL resolved while importing `entry` in a new process (package names for node_modules). */
function loadedBy(entry: string): string[] {
  const hooks = `
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      port.postMessage(result.url);
      return result;
    }`;
  const program = `
    import { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const seen = new Set();
    // One port keeps order: once the marker imported last comes back, every earlier URL is in.
    const marker = 'data:text/javascript,export{}';
    const complete = new Promise((resolve) => port1.on('message', (url) => (url === marker ? resolve() : seen.add(url))));
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
    await import(${JSON.stringify(new URL(entry, `file://${here}`).href)});
    await import(marker);
    await complete;
    port1.close();
    process.stdout.write(JSON.stringify([...seen]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

function describeModule(url: string): string {
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  const own = /\/dist\/src\/(.+)$/.exec(url);
  return own ? `src/${own[1]}` : url;
}

/** What neither entry loads by importing it: the CLI and TUI, and what is loaded with its first use. */
const NEITHER_SIDE_AT_IMPORT = [
  /^src\/cli\//,
  /^src\/rpc\/grpc-js\/(client|server|transport)\.js$/,
  /^src\/protocol\/mtls\.js$/,
  /^package (better-sqlite3|chokidar|@grpc\/grpc-js|ink|react|commander|esbuild)$/,
];

describe('entry points', () => {
  it('hst/plugin loads neither the host side, nor SQLite, the CLI, the TUI or YAML, nor grpc-js or certificates until a host asks for them', () => {
    const loaded = loadedBy('./plugin/index.js').map(describeModule);
    assert.ok(loaded.includes('src/plugin/serve.js'), `the recorder saw the graph: ${loaded.join(', ')}`);
    const forbidden = [...NEITHER_SIDE_AT_IMPORT, /^src\/(host|manager|security)\//, /^src\/host-services\/(?!limits\.js$)/, /^package (yaml|zod|pino)$/];
    const pulled = loaded.filter((m) => forbidden.some((f) => f.test(m)));
    assert.deepEqual(pulled, [], `hst/plugin pulls in: ${pulled.join(', ')}`);
  });

  it('hst/host loads grpc-js, SQLite, the file watcher and certificates only when a plugin or a call needs them, and never the CLI or TUI', () => {
    const loaded = loadedBy('./host/index.js').map(describeModule);
    assert.ok(loaded.includes('src/host/plugin-client.js'), `the recorder saw the graph: ${loaded.join(', ')}`);
    const pulled = loaded.filter((m) => NEITHER_SIDE_AT_IMPORT.some((f) => f.test(m)));
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
