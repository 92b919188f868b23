/**
 * `hst serve` through the real command line: it starts the plugins, prints
 * the dashboard's address with its token, serves the dashboard and the
 * plugins' routes, refuses a weak token or a taken port in one line, and
 * stops everything on SIGINT.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { alive, inTempDir, repo } from '../support/peers.js';

const hst = join(repo, 'hst');

/** Resolves with the first stdout line matching `pattern`, within a bound. */
function lineMatching(child: ReturnType<typeof spawn>, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${seen}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hst serve exited with ${code} before printing ${pattern}; output:\n${seen}`));
    });
  });
}

it('serves the dashboard with the token it prints, the plugins, their routes; SIGINT stops every plugin', () =>
  inTempDir(async (dir) => {
    const child = spawn(hst, ['--plugin-dir', join(repo, 'plugins'), '--data-dir', join(dir, 'data'), 'serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const [, url, base, token] = await lineMatching(child, /dashboard: ((http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]{32}))\n/);
      const opened = await fetch(url as string, { redirect: 'manual' });
      assert.equal(opened.status, 303);
      const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const plugins = (await (await fetch(`${base}/api/plugins`, { headers: { cookie } })).json()) as Array<{ name: string; status: string; pid?: number }>;
      const hostdemo = plugins.find((p) => p.name === 'hostdemo');
      assert.equal(hostdemo?.status, 'running', JSON.stringify(plugins.map((p) => [p.name, p.status])));
      const machine = await fetch(`${base}/plugins/hostdemo/machine`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(machine.status, 200);
      assert.equal(((await machine.json()) as { platform: string }).platform, 'linux');
      const pids = plugins.flatMap((p) => (p.pid ? [p.pid] : []));
      child.kill('SIGINT');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, stderr);
      assert.deepEqual(pids.filter(alive), [], 'no plugin outlives hst serve');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }));

it('a weak token and a port in use are refused in one line each', () =>
  inTempDir(async (dir) => {
    const weak = spawnSync(hst, ['--data-dir', join(dir, 'data'), 'serve', '--token', 'short'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(weak.status, 2);
    assert.equal(weak.stderr.trim(), 'error: hst serve: a dashboard token must have at least 16 characters (this one has 5)');
    const taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      const busy = spawnSync(hst, ['--plugin-dir', join(dir, 'none'), '--data-dir', join(dir, 'data'), 'serve', '--port', String(port)], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      assert.equal(busy.status, 2, busy.stderr);
      assert.equal(busy.stderr.trim().split('\n').at(-1), `error: hst serve: port ${port} on 127.0.0.1 is in use; give another with --port (0 picks a free one)`);
    } finally {
      taken.close();
    }
  }));
