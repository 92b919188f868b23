import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TempDefinition, TempEntryKind } from '../gen/hst/host/v1/temp.js';
import { Code } from '../rpc/status.js';
import { failure, openFds } from '../../test/support/assertions.js';
import { withHarness } from '../../test/support/host-harness.js';
import { MemoryLogger } from '../log.js';
import { reclaimDeadHostsTemp } from './host-services.js';
import { tempService } from './temp.js';

/** Host path of a `$tmp/...` plugin path. */
function hostPathOf(tempDir: string, path: string): string {
  return join(tempDir, path.slice('$tmp/'.length));
}

describe('Temp service', () => {
  it('creates files and directories with random names in the private temp dir', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const p = await h.plugin('plugin-a');
      const temp = p.client(TempDefinition);
      const a = await temp.createTempFile({ prefix: 'build-', suffix: '.log' });
      const b = await temp.createTempFile({ prefix: 'build-', suffix: '.log' });
      assert.match(a.path, /^\$tmp\/build-[0-9a-f]{16}\.log$/);
      assert.notEqual(a.path, b.path);
      const file = statSync(hostPathOf(p.caller.tempHostPath, a.path));
      assert.ok(file.isFile());
      assert.equal(file.size, 0);
      assert.equal(file.mode & 0o777, 0o600);
      const d = await temp.createTempDir({});
      assert.match(d.path, /^\$tmp\/[0-9a-f]{16}$/);
      const dir = statSync(hostPathOf(p.caller.tempHostPath, d.path));
      assert.ok(dir.isDirectory());
      assert.equal(dir.mode & 0o777, 0o700);
      assert.ok(!p.caller.tempHostPath.startsWith(h.workspace), 'temp files stay out of the workspace');
    }));

  it('refuses prefixes and suffixes that would leave the directory or overflow the name', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const temp = (await h.plugin('plugin-a')).client(TempDefinition);
      for (const [prefix, suffix] of [['../', ''], ['', '/x'], ['a\0', ''], ['x'.repeat(250), '']] as const) {
        const err = await failure(temp.createTempFile({ prefix, suffix }));
        assert.equal(err.code, Code.INVALID_ARGUMENT, JSON.stringify(prefix + suffix));
        assert.match(err.details, /Temp\/CreateTempFile/);
      }
      const err = await failure(temp.createTempDir({ prefix: 'a/b' }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /Temp\/CreateTempDir "a\/b"/);
    }));

  it('lists the top-level entries with their kind, up to the entry limit', () =>
    withHarness({ modules: [tempService], limits: { maxEntries: 3 } }, async (h) => {
      const p = await h.plugin('plugin-a');
      const temp = p.client(TempDefinition);
      assert.deepEqual(await temp.listTemp({}), { entries: [], truncated: false });
      const f = await temp.createTempFile({ prefix: 'a' });
      writeFileSync(hostPathOf(p.caller.tempHostPath, f.path), 'hello');
      const d = await temp.createTempDir({ prefix: 'b' });
      symlinkSync('/etc/passwd', join(p.caller.tempHostPath, 'c-link'));
      const listed = await temp.listTemp({});
      assert.deepEqual(listed.entries, [
        { path: f.path, kind: TempEntryKind.TEMP_ENTRY_KIND_FILE, size: 5 },
        { path: d.path, kind: TempEntryKind.TEMP_ENTRY_KIND_DIRECTORY, size: 0 },
        { path: '$tmp/c-link', kind: TempEntryKind.TEMP_ENTRY_KIND_SYMLINK, size: 0 },
      ]);
      assert.equal(listed.truncated, false);
      await temp.createTempFile({ prefix: 'd' });
      const capped = await temp.listTemp({});
      assert.equal(capped.entries.length, 3);
      assert.equal(capped.truncated, true);
    }));

  it('removes files, directory trees and links (never what they point to)', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const p = await h.plugin('plugin-a');
      const temp = p.client(TempDefinition);
      const outside = join(h.dir, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'keep'), 'KEEP');
      const f = await temp.createTempFile({});
      assert.deepEqual(await temp.removeTemp({ path: f.path }), { removed: 1 });
      assert.equal(existsSync(hostPathOf(p.caller.tempHostPath, f.path)), false);

      const d = await temp.createTempDir({});
      const dirHost = hostPathOf(p.caller.tempHostPath, d.path);
      mkdirSync(join(dirHost, 'sub'));
      writeFileSync(join(dirHost, 'sub', 'x'), 'x');
      symlinkSync(outside, join(dirHost, 'sub', 'out')); // a link to a directory outside
      assert.deepEqual(await temp.removeTemp({ path: `${d.path}/` }), { removed: 4 });
      assert.equal(existsSync(dirHost), false);
      assert.equal(existsSync(join(outside, 'keep')), true, 'the link was removed, not followed');

      symlinkSync(outside, join(p.caller.tempHostPath, 'escape'));
      const through = await failure(temp.removeTemp({ path: '$tmp/escape/keep' }));
      assert.equal(through.code, Code.PERMISSION_DENIED);
      assert.match(through.details, /Temp\/RemoveTemp \$tmp\/escape\/keep/);
      assert.deepEqual(await temp.removeTemp({ path: '$tmp/escape' }), { removed: 1 });
      assert.equal(existsSync(join(outside, 'keep')), true);
    }));

  it('refuses paths outside $tmp/ and reports missing entries', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const p = await h.plugin('plugin-a');
      const temp = p.client(TempDefinition);
      writeFileSync(join(h.workspace, 'file'), 'workspace');
      for (const path of ['file', '$tmp', '$tmp/', '$tmp/../file', '/tmp/x', '', 'tmp/x']) {
        const err = await failure(temp.removeTemp({ path }));
        assert.equal(err.code, Code.INVALID_ARGUMENT, path);
        assert.match(err.details, /Temp\/RemoveTemp/);
      }
      assert.equal(existsSync(join(h.workspace, 'file')), true);
      const missing = await failure(temp.removeTemp({ path: '$tmp/nothing' }));
      assert.equal(missing.code, Code.NOT_FOUND);
      assert.match(missing.details, /Temp\/RemoveTemp \$tmp\/nothing: no such file or directory/);
    }));

  it('cleans up everything and counts it, leaving link targets alone', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const p = await h.plugin('plugin-a');
      const temp = p.client(TempDefinition);
      const outside = join(h.dir, 'outside-file');
      writeFileSync(outside, 'KEEP');
      await temp.createTempFile({});
      const d = await temp.createTempDir({});
      writeFileSync(join(hostPathOf(p.caller.tempHostPath, d.path), 'inner'), '');
      symlinkSync(outside, join(p.caller.tempHostPath, 'link'));
      const before = openFds();
      assert.deepEqual(await temp.cleanupTemp({}), { removed: 4 });
      assert.equal(openFds(), before, 'no fd is left open');
      assert.deepEqual(readdirSync(p.caller.tempHostPath), []);
      assert.equal(existsSync(outside), true);
      assert.deepEqual(await temp.cleanupTemp({}), { removed: 0 });
    }));

  it('keeps each plugin to its own temp dir, and deletes it on disconnect', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const a = await h.plugin('plugin-a');
      const b = await h.plugin('plugin-b');
      const created = await a.client(TempDefinition).createTempFile({ prefix: 'mine-' });
      assert.notEqual(a.caller.tempHostPath, b.caller.tempHostPath);
      assert.deepEqual((await b.client(TempDefinition).listTemp({})).entries, []);
      assert.equal((await failure(b.client(TempDefinition).removeTemp({ path: created.path }))).code, Code.NOT_FOUND);
      assert.equal(existsSync(hostPathOf(a.caller.tempHostPath, created.path)), true);

      await a.disconnect();
      assert.equal(existsSync(a.caller.tempHostPath), false, 'the Caller removes the temp dir when the plugin goes');
      assert.equal(existsSync(b.caller.tempHostPath), true);
    }));

  it('declares the temp capability with the path as resource', () =>
    withHarness({ modules: [tempService] }, async (h) => {
      const temp = (await h.plugin('plugin-a')).client(TempDefinition);
      const f = await temp.createTempFile({ prefix: 'p', suffix: 's' });
      await temp.createTempDir({});
      await temp.listTemp({});
      await temp.removeTemp({ path: f.path });
      await temp.cleanupTemp({});
      assert.deepEqual(
        h.records.map((r) => [r.operation, r.capability, r.resource]),
        [
          ['Temp/CreateTempFile', 'temp', '$tmp/p*s'],
          ['Temp/CreateTempDir', 'temp', '$tmp/*'],
          ['Temp/ListTemp', 'temp', '$tmp'],
          ['Temp/RemoveTemp', 'temp', f.path],
          ['Temp/CleanupTemp', 'temp', '$tmp'],
        ],
      );
    }));
});

describe("a dead host's temp directory", () => {
  it('is reclaimed by the next host: ours and dead only, never a live host\'s or another user\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hst-reclaim-'));
    const sleeper = spawn('sleep', ['60']);
    try {
      // A pid that was running and is not any more.
      const done = spawn('true');
      await once(done, 'exit');
      const dead = join(dir, `hst-${done.pid}-mx6cwpv0`);
      const live = join(dir, `hst-${sleeper.pid}-mx6cwpv1`);
      const foreign = join(dir, `hst-${done.pid}-mx6cwpv2`);
      const unrelated = join(dir, `hst-notapid-x`);
      // Another user's directory can be made only by root.
      const asRoot = process.getuid?.() === 0;
      for (const d of [dead, live, unrelated, ...(asRoot ? [foreign] : [])]) mkdirSync(join(d, 'client', 'leftover'), { recursive: true });
      if (asRoot) chownSync(foreign, 65534, 65534);
      const reclaimed = reclaimDeadHostsTemp(dir, new MemoryLogger());
      assert.deepEqual(reclaimed, [dead]);
      assert.ok(!existsSync(dead));
      for (const kept of [live, unrelated, ...(asRoot ? [foreign] : [])]) assert.ok(existsSync(kept), kept);
    } finally {
      sleeper.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
