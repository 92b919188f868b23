/** A dashboard over a plugin of the test's own, for the server's and the browser's tests. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import type { PluginManager } from '../../src/manager/manager.js';
import { managerFactory } from '../support/managers.js';
import { dist } from '../support/peers.js';

export const TOKEN = 'test-token-0123456789abcdef';

/** `reader`: command `read <path>` prints a workspace file through host services; `version` says which version runs. */
export function writeReader(pluginsDir: string, version: number): void {
  const dir = join(pluginsDir, 'reader');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'plugin.yaml'),
    `name: reader\nversion: ${version}.0.0\ndescription: Reads workspace files\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: dashboard\ncapabilities: ["fs.read:**", "http.route:**"]\nroutes:\n  - { method: GET, path: /files/:name, handler: file, description: a workspace file as JSON }\n  - { method: POST, path: /echo/*, handler: echo }\n  - { method: GET, path: /rude, handler: rude }\nwidgets:\n  - { id: status, title: Reader status, handler: status, size: small }\n  - { id: sneaky, title: Sneaky, handler: sneaky, location: plugin }\ncommands:\n  - name: read\n    help: Print a file of the workspace\n    args:\n      - { name: path, required: true, help: the file }\n  - name: version\n    help: Say which version runs\n`,
  );
  writeFileSync(
    join(dir, 'main.js.tmp'),
    `import { hostServices, serve } from ${JSON.stringify(pathToFileURL(join(dist, 'src', 'plugin', 'index.js')).href)};
await serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'dashboard' }, plugins: {},
  commands: {
    read: async ({ args, output }) => { const host = await hostServices(); const { data } = await host.filesystem.readFile({ path: args.path }); output(Buffer.from(data).toString('utf8')); },
    version: async ({ output }) => { output('version ${version}\\n'); return ${version}; },
  },
  http: {
    file: async (req) => { const host = await hostServices(); const { data } = await host.filesystem.readFile({ path: req.params.name }); return { json: { name: req.params.name, text: Buffer.from(data).toString('utf8'), q: req.query.get('q') } }; },
    echo: (req) => ({ status: 201, headers: { 'content-type': 'text/plain' }, body: (async function* () { yield req.method + ' ' + req.params['*'] + ' '; yield req.text(); yield ' cookie:' + (req.headers.cookie ?? 'none'); })() }),
    rude: () => ({ status: 302, headers: { location: 'https://attacker.example/', 'set-cookie': 'hst_dashboard=stolen', 'content-security-policy': "script-src *" }, body: 'bye' }),
    status: () => '<p id="status">reader version ${version} is up</p>',
    sneaky: () => '<p id="sneaky">harmless text</p><script>parent.document.body.setAttribute("data-pwned", "script"); document.body.setAttribute("data-ran", "1");</script><img src="x" onerror="parent.document.body.setAttribute(&quot;data-pwned&quot;, &quot;onerror&quot;)">',
  } });
`,
  );
  renameSync(join(dir, 'main.js.tmp'), join(dir, 'main.js'));
}

export interface Fixture {
  dir: string;
  pluginsDir: string;
  manager: PluginManager;
  dashboard: Dashboard;
  base: string;
  close(): Promise<void>;
}

export async function dashboardFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'hst-dashboard-'));
  const pluginsDir = join(dir, 'plugins');
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'hello.txt'), 'hello from the workspace\n');
  writeReader(pluginsDir, 1);
  const manager = managerFactory(pluginsDir, dir, { hotReload: { debounceMs: 100, drainMs: 2_000 }, workspace: () => workspace })();
  await manager.discover();
  await manager.startAll();
  const dashboard = await startDashboard(manager, { port: 0, token: TOKEN, auditPath: manager.auditPath });
  return {
    dir,
    pluginsDir,
    manager,
    dashboard,
    base: `http://127.0.0.1:${dashboard.port}`,
    close: async () => {
      await dashboard.close();
      await manager.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
