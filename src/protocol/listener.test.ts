import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, listenTcp, resolveGroup } from './listener.js';

describe('listener', () => {
  it('makes a fresh unix socket in PLUGIN_UNIX_SOCKET_DIR, group-owned 0660, removed on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hst-listen-'));
    try {
      const l = await listen({ env: { PLUGIN_UNIX_SOCKET_DIR: dir, PLUGIN_UNIX_SOCKET_GROUP: '1' } });
      assert.equal(l.address.network, 'unix');
      assert.match(l.address.address, new RegExp(`^${dir}/plugin\\d+$`));
      const st = statSync(l.address.address);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, 1);
      l.close();
      assert.equal(existsSync(l.address.address), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scans TCP ports upward from PLUGIN_MIN_PORT, skipping busy ones', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const l = await listenTcp(String(port), String(port + 50));
      assert.equal(l.address.network, 'tcp');
      const got = Number(l.address.address.split(':')[1]);
      assert.ok(got > port && got <= port + 50, `got ${got}`);
      l.close();
      await assert.rejects(listenTcp(String(port), String(port)), /couldn't bind plugin TCP listener/);
    } finally {
      busy.close();
    }
  });

  it("refuses a min port above the max with go-plugin's message", async () => {
    await assert.rejects(listenTcp('20000', '10000'), /PLUGIN_MIN_PORT value of 20000 is greater than PLUGIN_MAX_PORT value of 10000/);
    await assert.rejects(listenTcp('abc', '10000'), /couldn't get value from PLUGIN_MIN_PORT/);
  });

  it('lets the OS choose when no range is given', async () => {
    const l = await listenTcp(undefined, undefined);
    assert.match(l.address.address, /^127\.0\.0\.1:\d+$/);
    l.close();
  });

  it('resolves groups by id or by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hst-group-'));
    const file = join(dir, 'group');
    writeFileSync(file, 'root:x:0:\nplugins:x:4242:alice\n');
    try {
      assert.equal(resolveGroup('7', file), 7);
      assert.equal(resolveGroup('plugins', file), 4242);
      assert.throws(() => resolveGroup('nobody-here', file), /failed to find gid from "nobody-here"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
