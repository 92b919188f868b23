/**
 * The example plugins' routes and widgets under the dashboard, one per SDK:
 * hostdemo (TypeScript), golister (Go, hostconn.RegisterHTTP) and
 * pylelister (Python, ServeConfig(http=...)).
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboard } from '../../src/dashboard/server.js';
import { managerFactory } from '../support/managers.js';
import { goPeers, pythonPeer, repo } from '../support/peers.js';
import { TOKEN } from './support.js';

const go = goPeers();
const python = pythonPeer();
const skip = 'skip' in go ? go.skip : 'skip' in python ? python.skip : false;
const scratch = mkdtempSync(join(tmpdir(), 'hst-dashboard-examples-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

it('hostdemo, golister and pylelister answer their routes and render their widgets', { skip }, async () => {
  execFileSync(process.execPath, [join(repo, 'scripts', 'build-plugins.mjs'), 'golister'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  const workspace = join(scratch, 'workspace');
  mkdirSync(join(workspace, 'docs'), { recursive: true });
  writeFileSync(join(workspace, 'docs', 'guide.md'), '# guide\n');
  writeFileSync(join(workspace, 'a<b>.txt'), 'x');
  const manager = managerFactory(join(repo, 'plugins'), scratch, { workspace: () => workspace, ...('python' in python ? { pythonCommand: python.python } : {}) })();
  await manager.discover();
  const dashboard = await startDashboard(manager, { port: 0, token: TOKEN, auditPath: manager.auditPath });
  const get = (path: string) => fetch(`http://127.0.0.1:${dashboard.port}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  try {
    const machine = await get('/plugins/hostdemo/machine');
    assert.equal(machine.status, 200, await machine.clone().text());
    const m = (await machine.json()) as { platform: string; load: number[] };
    assert.equal(m.platform, 'linux');
    assert.equal(m.load.length, 3);
    assert.match(await (await get('/plugins/hostdemo/widgets/machine')).text(), /<b>linux .*load \d/);

    for (const plugin of ['golister', 'pylelister']) {
      const listing = await get(`/plugins/${plugin}/listing/docs`);
      assert.equal(listing.status, 200, `${plugin}: ${await listing.clone().text()}`);
      const body = (await listing.json()) as { path: string; entries: Array<{ name: string }> };
      assert.equal(body.path, 'docs', plugin);
      assert.deepEqual(body.entries.map((e) => e.name), ['guide.md'], plugin);
      const widget = await (await get(`/plugins/${plugin}/widgets/workspace`)).text();
      assert.match(widget, /<li>a&lt;b&gt;\.txt/, `${plugin} escapes what it shows: ${widget}`);
      assert.match(widget, /<li>docs/, plugin);
    }
  } finally {
    await dashboard.close();
    await manager.shutdown();
  }
});
