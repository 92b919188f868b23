/** plugins/colorlister run as a host runs it: its manifest's capabilities, audited, through its commands. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, RpcError } from '../../src/rpc/status.js';
import { sleep } from '../support/assertions.js';
import { startExample, type ExamplePlugin } from './support.js';

const ESC = '\x1b[';

describe('colorlister', () => {
  let plugin: ExamplePlugin;

  before(async () => {
    plugin = await startExample('colorlister');
    const proj = join(plugin.workspace, 'proj');
    mkdirSync(join(proj, 'src'), { recursive: true });
    mkdirSync(join(proj, 'empty'));
    writeFileSync(join(proj, 'src', 'a.ts'), 'a'.repeat(100));
    writeFileSync(join(proj, 'src', 'b.ts'), 'b'.repeat(50));
    writeFileSync(join(proj, 'README.md'), 'c'.repeat(30));
    writeFileSync(join(proj, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('src', join(proj, 'link'));
    writeFileSync(join(plugin.workspace, '.secret'), 'no');
  });
  after(() => plugin?.close());

  it('lists directories first, in colour only when the terminal shows it', async () => {
    const plain = await plugin.run('list', { path: 'proj' });
    assert.equal(plain.exitCode, 0, plain.output);
    assert.ok(!plain.output.includes(ESC), 'escape codes without colour');
    const { entries } = plain.value as { entries: { name: string; type: string; mode: number }[] };
    assert.deepEqual(
      entries.map((e) => `${e.type} ${e.name}`),
      ['dir empty', 'dir src', 'file README.md', 'symlink link', 'file run.sh'],
    );
    assert.match(plain.output, /^755 +\d+ B {2}run\.sh$/m);

    const coloured = await plugin.run('list', { path: 'proj' }, { color: true });
    assert.ok(coloured.output.includes(`${ESC}1;34mempty/${ESC}0m`), coloured.output);
    assert.ok(coloured.output.includes(`${ESC}32mrun.sh${ESC}0m`), 'executables are green');
    assert.ok(coloured.output.includes(`${ESC}36mlink${ESC}0m`), 'symlinks are cyan');
    assert.ok(coloured.output.includes(' README.md\n'), 'plain files stay plain');
  });

  it('shows a tree, to a depth', async () => {
    const all = await plugin.run('tree', { path: 'proj' });
    assert.equal(all.exitCode, 0, all.output);
    assert.match(all.output, /^proj\n {2}README\.md\n/);
    assert.match(all.output, /^ {2}src\/\n {4}a\.ts\n {4}b\.ts$/m);
    assert.deepEqual(all.value, { path: 'proj', files: 4, directories: 2, symlinks: 1, others: 0, bytes: 100 + 50 + 30 + 10 });

    const top = await plugin.run('tree', { path: 'proj', depth: '1' });
    assert.ok(!top.output.includes('a.ts'));
    assert.equal((top.value as { files: number }).files, 2);

    const root = await plugin.run('tree', { depth: '1' });
    assert.equal(root.exitCode, 0, root.output);
    assert.match(root.output, /^\.\n {2}\.secret\n {2}proj\/\n/);
  });

  it('describes a symlink, a file and a directory with the disk they are on', async () => {
    const link = await plugin.run('stats', { path: 'proj/link' });
    assert.equal(link.exitCode, 0, link.output);
    const l = link.value as Record<string, unknown> & { subtree: { files: number; bytes: number }; disk: { total: number } };
    assert.equal(l.symlink, true);
    assert.equal(l.target, 'src');
    assert.equal(l.type, 'dir');
    assert.deepEqual(l.subtree, { files: 2, bytes: 150 });
    assert.ok(l.disk.total > 0);
    assert.match(link.output, /proj\/link -> src/);

    const file = await plugin.run('stats', { path: 'proj/run.sh' });
    assert.equal((file.value as { mode: string }).mode, '0755');
    assert.equal((file.value as { size: number }).size, 10);
    assert.equal((file.value as { subtree?: unknown }).subtree, undefined);
  });

  it('may not look at dotfiles, and the refusal is audited', async () => {
    const run = await plugin.run('stats', { path: '.secret' });
    assert.equal(run.exitCode, 1);
    assert.match(run.output, /PERMISSION_DENIED: .*Filesystem\/Lstat \.secret: denied by default deny/);
    const denial = plugin.audit().find((r) => r.op === 'Filesystem/Lstat' && r.resource === '.secret');
    assert.equal(denial?.decision, 'deny');
    assert.equal((await plugin.run('stats')).exitCode, 2);
  });

  it('creates, writes, reads back and removes temp files, then cleans up', async () => {
    const run = await plugin.run('tempdemo');
    assert.equal(run.exitCode, 0, run.output);
    const value = run.value as { steps: { step: string; detail: string }[]; removed: number; cleaned: number; left: number };
    assert.deepEqual(
      value.steps.map((s) => s.step),
      ['create', 'write', 'read', 'list', 'remove', 'cleanup', 'list'],
    );
    assert.match(value.steps[0]!.detail, /^\$tmp\/colorlister-.+\.txt$/);
    // A directory with a file in it, and one more file.
    assert.deepEqual([value.removed, value.cleaned, value.left], [1, 3, 0]);
    const temp = plugin.audit().filter((r) => r.op.startsWith('Temp/') || r.resource.startsWith('$tmp'));
    assert.ok(temp.length >= 8 && temp.every((r) => r.decision === 'allow' && r.rule === 'temp'), 'the temp area is governed by temp');
  });

  it('scans for a number of rounds, reporting progress', async () => {
    const run = await plugin.run('scan', { path: 'proj', interval: '10', rounds: '2' });
    assert.equal(run.exitCode, 0, run.output);
    assert.deepEqual(run.progress, ['round 1: 4 files in 2 directories, 190 B', 'round 2: 4 files in 2 directories, 190 B']);
    assert.equal((run.value as { rounds: number }).rounds, 2);
    assert.deepEqual((run.value as { largestExtensions: unknown }).largestExtensions, [
      { extension: '.ts', bytes: 150 },
      { extension: '.md', bytes: 30 },
      { extension: '.sh', bytes: 10 },
    ]);
  });

  it('stops scanning when the run is cancelled', async () => {
    const walks = () => plugin.records.filter((r) => r.operation === 'Filesystem/Walk').length;
    const cancel = new AbortController();
    let rounds = 0;
    const ended = await (async () => {
      for await (const event of plugin.stream('scan', { path: 'proj', interval: '20' }, cancel.signal)) {
        if ('progress' in event && ++rounds === 3) cancel.abort();
      }
    })().catch((e: unknown) => e);
    assert.ok(ended instanceof RpcError && ended.code === Code.CANCELLED, String(ended));
    const atCancel = walks();
    await sleep(300);
    // At most the walk that was in flight when the cancel arrived; a scan left running would add one every 20 ms.
    assert.ok(walks() <= atCancel + 1, `${walks() - atCancel} walks after the cancel`);
    assert.equal((await plugin.run('list', { path: 'proj' })).exitCode, 0, 'the plugin still serves');
  });
});
