/** plugins/filelister run as a host runs it: its manifest's capabilities, audited, through its commands. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startExample, type ExamplePlugin } from './support.js';

describe('filelister', () => {
  let plugin: ExamplePlugin;
  const readme = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
  // Larger than a stream chunk, with two-byte characters that chunk boundaries cut.
  const big = 'é'.repeat(100_000) + '\nend\n';

  before(async () => {
    plugin = await startExample('filelister');
    const ws = plugin.workspace;
    mkdirSync(join(ws, 'docs', 'sub'), { recursive: true });
    writeFileSync(join(ws, 'docs', 'readme.txt'), readme);
    writeFileSync(join(ws, 'docs', 'big.txt'), big);
    writeFileSync(join(ws, '.env'), 'TOKEN=secret\n');
  });
  after(() => plugin?.close());

  it('lists a directory with the type and size of each entry', async () => {
    const run = await plugin.run('list', { path: 'docs' });
    assert.equal(run.exitCode, 0, run.output);
    const { entries } = run.value as { entries: { name: string; type: string; size: number }[] };
    assert.deepEqual(
      entries.map((e) => [e.name, e.type]),
      [
        ['big.txt', 'file'],
        ['readme.txt', 'file'],
        ['sub', 'dir'],
      ],
    );
    assert.equal(entries[1]?.size, Buffer.byteLength(readme));
    assert.match(run.output, /^file +\d+ {2}readme\.txt$/m);
    assert.match(run.output, /^dir +\d+ {2}sub\/$/m);
  });

  it('lists the workspace root by default, dotfiles included in the listing', async () => {
    const run = await plugin.run('list');
    assert.equal(run.exitCode, 0, run.output);
    // ReadDir names every entry; fs.read:** still refuses reading the dotfile itself (below).
    assert.deepEqual((run.value as { entries: { name: string }[] }).entries.map((e) => e.name), ['.env', 'docs']);
  });

  it('saves a listing under listings/, creating the directory', async () => {
    const run = await plugin.run('save', { path: 'docs', out: 'listings/docs.txt' });
    assert.equal(run.exitCode, 0, run.output);
    const saved = readFileSync(join(plugin.workspace, 'listings', 'docs.txt'), 'utf8');
    assert.match(saved, /^# docs\n/);
    assert.match(saved, /^file +\d+ {2}readme\.txt$/m);
    assert.deepEqual(run.value, { path: 'docs', out: 'listings/docs.txt', entries: 3, bytes: Buffer.byteLength(saved) });
  });

  it('may not write anywhere outside listings/, and the refusal is audited', async () => {
    const run = await plugin.run('save', { path: 'docs', out: 'elsewhere.txt' });
    assert.equal(run.exitCode, 1);
    assert.match(run.output, /PERMISSION_DENIED: .*Filesystem\/WriteFile elsewhere\.txt: denied by default deny/);
    assert.equal(existsSync(join(plugin.workspace, 'elsewhere.txt')), false);
    const denial = plugin.audit().find((r) => r.op === 'Filesystem/WriteFile' && r.resource === 'elsewhere.txt');
    assert.equal(denial?.decision, 'deny');
    assert.equal(denial?.rule, 'default deny');
    assert.equal(denial?.plugin, 'filelister');

    const escape = await plugin.run('save', { path: 'docs', out: 'listings/../escaped.txt' });
    assert.equal(escape.exitCode, 1);
    assert.match(escape.output, /(INVALID_ARGUMENT|PERMISSION_DENIED): .*Filesystem\/Mkdir/);
    assert.equal(existsSync(join(plugin.workspace, 'escaped.txt')), false);
  });

  it('shows the first lines of a file through a handle it closes', async () => {
    const run = await plugin.run('head', { path: 'docs/readme.txt', lines: '3' });
    assert.equal(run.exitCode, 0, run.output);
    assert.deepEqual(run.value, { path: 'docs/readme.txt', lines: ['line 1', 'line 2', 'line 3'] });
    assert.equal(run.output, 'line 1\nline 2\nline 3\n');
    const handleOps = plugin.records.filter((r) => r.operation.startsWith('FileHandles/')).map((r) => `${r.operation} ${r.ok}`);
    assert.deepEqual(handleOps, ['FileHandles/Open true', 'FileHandles/ReadLines true', 'FileHandles/Close true']);

    const byDefault = await plugin.run('head', { path: 'docs/readme.txt' });
    assert.equal((byDefault.value as { lines: string[] }).lines.length, 10);
  });

  it('refuses dotfiles, reports missing files, and wants its arguments', async () => {
    const secret = await plugin.run('head', { path: '.env' });
    assert.equal(secret.exitCode, 1);
    assert.match(secret.output, /PERMISSION_DENIED: .*FileHandles\/Open \.env: denied by default deny/);
    assert.ok(plugin.audit().some((r) => r.op === 'FileHandles/Open' && r.resource === '.env' && r.decision === 'deny'));

    const missing = await plugin.run('cat', { path: 'docs/none.txt' });
    assert.equal(missing.exitCode, 1);
    assert.match(missing.output, /NOT_FOUND: .*docs\/none\.txt/);

    const usage = await plugin.run('head', { path: 'docs/readme.txt', lines: 'ten' });
    assert.equal(usage.exitCode, 2);
    assert.match(usage.output, /lines must be a positive whole number/);
    assert.equal((await plugin.run('cat')).exitCode, 2);
  });

  it('prints a whole file streamed in chunks, characters intact', async () => {
    const before = plugin.records.length;
    const run = await plugin.run('cat', { path: 'docs/big.txt' });
    assert.equal(run.exitCode, 0);
    assert.equal(run.output, big);
    assert.deepEqual(run.value, { path: 'docs/big.txt', bytes: Buffer.byteLength(big) });
    assert.deepEqual(
      plugin.records.slice(before).map((r) => r.operation),
      ['Filesystem/ReadFileStream'],
    );
  });
});
