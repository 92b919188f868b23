import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FilesystemDefinition } from '../gen/hst/host/v1/filesystem.js';
import { FileHandlesDefinition, Whence } from '../gen/hst/host/v1/handles.js';
import type { Client } from '../rpc/definition.js';
import { Code } from '../rpc/status.js';
import { bytes, collect, fails, failure, openFds, openFdsUnder, text } from '../../test/support/assertions.js';
import { withHarness, type Harness, type PluginSide } from '../../test/support/host-harness.js';
import type { Limits } from './limits.js';
import { filesystemService } from './filesystem.js';
import { fileHandlesService } from './handles.js';

type Handles = Client<typeof FileHandlesDefinition>;

function withHandles(fn: (h: Harness, p: PluginSide, fh: Handles) => Promise<void>, limits: Partial<Limits> = {}): Promise<void> {
  return withHarness({ modules: [filesystemService, fileHandlesService], limits }, async (h) => {
    const p = await h.plugin('plugin-a');
    await fn(h, p, p.client(FileHandlesDefinition));
  });
}

describe('FileHandles service', () => {
  it('declares a capability for every method', () => {
    const methods = Object.keys(FileHandlesDefinition.methods).sort();
    assert.deepEqual(Object.keys(fileHandlesService.operations).sort(), methods);
    const ops = fileHandlesService.operations;
    assert.equal(ops.open.capability, 'fs.write');
    for (const m of ['read', 'readAt', 'seek', 'statHandle', 'readLines', 'close'] as const) assert.equal(ops[m].capability, 'fs.read', m);
    assert.equal(ops.listHandles.capability, 'self', 'listing its own handles is introspection');
    for (const m of ['write', 'writeAt', 'sync', 'truncateHandle'] as const) assert.equal(ops[m].capability, 'fs.write', m);
  });

  it('reads, writes, seeks, truncates, syncs and stats through one handle', () =>
    withHandles(async (h, _p, fh) => {
      const { handle } = await fh.open({ path: 'f.txt', read: true, write: true, create: true, perm: 0o600 });
      assert.match(handle, /^[0-9a-f]{32}$/);
      assert.equal(statSync(join(h.workspace, 'f.txt')).mode & 0o777, 0o600);
      assert.equal((await fh.write({ handle, data: bytes('hello world') })).bytesWritten, 11);
      assert.equal((await fh.seek({ handle, offset: 0, whence: Whence.WHENCE_START })).position, 0);
      const first = await fh.read({ handle, n: 5 });
      assert.deepEqual([text(first.data), first.eof], ['hello', false]);
      assert.equal((await fh.seek({ handle, offset: 1, whence: Whence.WHENCE_CURRENT })).position, 6);
      const rest = await fh.read({ handle, n: 100 });
      assert.deepEqual([text(rest.data), rest.eof], ['world', true]);
      assert.equal((await fh.seek({ handle, offset: -5, whence: Whence.WHENCE_END })).position, 6);
      assert.equal(text((await fh.readAt({ handle, offset: 0, n: 4 })).data), 'hell');
      assert.equal(text((await fh.read({ handle, n: 2 })).data), 'wo', 'ReadAt does not move the position');
      await fh.writeAt({ handle, offset: 0, data: bytes('J') });
      assert.equal(text((await fh.read({ handle, n: 3 })).data), 'rld', 'WriteAt does not move the position');
      assert.equal(readFileSync(join(h.workspace, 'f.txt'), 'utf8'), 'Jello world');
      await fh.truncateHandle({ handle, size: 5 });
      assert.equal(readFileSync(join(h.workspace, 'f.txt'), 'utf8'), 'Jello');
      await fh.sync({ handle });
      const info = (await fh.statHandle({ handle })).info;
      assert.deepEqual([info?.name, info?.path, info?.size, info?.mode], ['f.txt', 'f.txt', 5, 0o600]);
      const eof = await fh.read({ handle, n: 1 });
      assert.deepEqual([eof.data.length, eof.eof], [0, true]);
      await fh.write({ handle, data: bytes('!') });
      assert.deepEqual([...readFileSync(join(h.workspace, 'f.txt'))].slice(5), [0, 0, 0, 0, 0, 0, 33], 'a write at the position, past the end, leaves a hole');
      await fails(fh.seek({ handle, offset: -1, whence: Whence.WHENCE_START }), Code.INVALID_ARGUMENT, /FileHandles\/Seek f\.txt: position -1 is before the start/);
      await fails(fh.seek({ handle, offset: 0, whence: 9 as Whence }), Code.INVALID_ARGUMENT, /Seek f\.txt: unknown whence 9/);
      await fails(fh.readAt({ handle, offset: -1, n: 1 }), Code.INVALID_ARGUMENT, /ReadAt f\.txt: offset must not be negative/);
      await fails(fh.read({ handle, n: 0 }), Code.INVALID_ARGUMENT, /Read f\.txt: n must be positive/);
      await fails(fh.truncateHandle({ handle, size: -1 }), Code.INVALID_ARGUMENT, /TruncateHandle f\.txt: size must not be negative/);
      await fh.close({ handle });
      await fails(fh.read({ handle, n: 1 }), Code.NOT_FOUND, /FileHandles\/Read: no open handle/);
      await fails(fh.close({ handle }), Code.NOT_FOUND, /FileHandles\/Close: no open handle/);
    }));

  it('keeps to the rights a handle was opened with', () =>
    withHandles(async (h, _p, fh) => {
      writeFileSync(join(h.workspace, 'f'), 'abc');
      const ro = (await fh.open({ path: 'f', read: true })).handle;
      await fails(fh.write({ handle: ro, data: bytes('x') }), Code.PERMISSION_DENIED, /FileHandles\/Write f: the handle was not opened for writing/);
      await fails(fh.writeAt({ handle: ro, offset: 0, data: bytes('x') }), Code.PERMISSION_DENIED, /WriteAt f/);
      await fails(fh.truncateHandle({ handle: ro, size: 0 }), Code.PERMISSION_DENIED, /TruncateHandle f/);
      const wo = (await fh.open({ path: 'f', write: true })).handle;
      await fails(fh.read({ handle: wo, n: 1 }), Code.PERMISSION_DENIED, /FileHandles\/Read f: the handle was not opened for reading/);
      await fails(fh.readAt({ handle: wo, offset: 0, n: 1 }), Code.PERMISSION_DENIED, /ReadAt f/);
      await fails(fh.readLines({ handle: wo }), Code.PERMISSION_DENIED, /ReadLines f/);
      assert.equal(readFileSync(join(h.workspace, 'f'), 'utf8'), 'abc');

      const ap = (await fh.open({ path: 'f', append: true })).handle;
      await fh.write({ handle: ap, data: bytes('de') });
      await fh.write({ handle: wo, data: bytes('X') });
      await fh.write({ handle: ap, data: bytes('f') });
      assert.equal(readFileSync(join(h.workspace, 'f'), 'utf8'), 'Xbcdef', 'appends go to the end whatever else writes');
      await fails(fh.writeAt({ handle: ap, offset: 0, data: bytes('x') }), Code.FAILED_PRECONDITION, /WriteAt f: the handle appends/);
      const listed = (await fh.listHandles({})).handles.find((x) => x.handle === ap);
      assert.deepEqual([listed?.read, listed?.write, listed?.append, listed?.position], [false, true, true, 6]);

      const tr = (await fh.open({ path: 'f', read: true, write: true, truncate: true })).handle;
      assert.equal(statSync(join(h.workspace, 'f')).size, 0);
      await fh.close({ handle: tr });
    }));

  it('validates opens: flags, existence, directories and confinement', () =>
    withHandles(async (h, _p, fh) => {
      const ws = h.workspace;
      const outside = join(h.dir, 'outside');
      mkdirSync(outside);
      writeFileSync(join(outside, 'secret'), 'SECRET');
      symlinkSync('../outside', join(ws, 'out'));
      symlinkSync(join(outside, 'secret'), join(ws, 'secret-link'));
      writeFileSync(join(ws, 'inside'), 'in');
      symlinkSync('inside', join(ws, 'in-link'));
      mkdirSync(join(ws, 'd'));
      await fails(fh.open({ path: 'inside' }), Code.INVALID_ARGUMENT, /FileHandles\/Open inside: open for at least one of read, write, append/);
      await fails(fh.open({ path: 'inside', write: true, exclusive: true }), Code.INVALID_ARGUMENT, /Open inside: exclusive needs create/);
      await fails(fh.open({ path: 'inside', read: true, truncate: true }), Code.INVALID_ARGUMENT, /Open inside: truncate needs write/);
      await fails(fh.open({ path: 'inside', write: true, create: true, exclusive: true }), Code.ALREADY_EXISTS, /Open inside: already exists/);
      await fails(fh.open({ path: 'missing', read: true }), Code.NOT_FOUND, /FileHandles\/Open missing: no such file/);
      await fails(fh.open({ path: 'd', read: true }), Code.FAILED_PRECONDITION, /Open d: is a directory/);
      await fails(fh.open({ path: 'x', write: true, create: true, perm: 0o2777 }), Code.INVALID_ARGUMENT, /Open x: permission bits/);
      for (const bad of ['../outside/secret', '/etc/passwd', 'a\0b']) {
        await fails(fh.open({ path: bad, read: true }), Code.INVALID_ARGUMENT, /FileHandles\/Open: invalid path/);
      }
      for (const through of ['out/secret', 'secret-link']) {
        await fails(fh.open({ path: through, read: true }), Code.PERMISSION_DENIED, new RegExp(`Open ${through}`));
        await fails(fh.open({ path: through, write: true, truncate: true }), Code.PERMISSION_DENIED, new RegExp(`Open ${through}`));
      }
      await fails(fh.open({ path: 'out/new', write: true, create: true }), Code.PERMISSION_DENIED, /Open out\/new/);
      assert.deepEqual(readdirSync(outside), ['secret']);
      assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
      const viaLink = (await fh.open({ path: 'in-link', read: true })).handle;
      assert.equal(text((await fh.read({ handle: viaLink, n: 10 })).data), 'in', 'a link inside the workspace is followed');
      assert.deepEqual((await fh.listHandles({})).handles.map((x) => x.path), ['in-link']);
      const temp = (await fh.open({ path: '$tmp/t', write: true, create: true })).handle;
      assert.equal((await fh.statHandle({ handle: temp })).info?.path, '$tmp/t');
    }));

  it('enforces the read, write and open-handle limits', () =>
    withHandles(
      async (h, _p, fh) => {
        writeFileSync(join(h.workspace, 'f'), Buffer.alloc(200));
        const { handle } = await fh.open({ path: 'f', read: true, write: true });
        await fails(fh.read({ handle, n: 101 }), Code.OUT_OF_RANGE, /FileHandles\/Read f: 101 bytes is more than the host's limit of 100/);
        await fails(fh.readAt({ handle, offset: 0, n: 101 }), Code.OUT_OF_RANGE, /ReadAt f: 101 bytes/);
        assert.equal((await fh.read({ handle, n: 100 })).data.length, 100);
        await fails(fh.write({ handle, data: Buffer.alloc(51) }), Code.OUT_OF_RANGE, /Write f: 51 bytes is more than the host's limit of 50/);
        await fails(fh.writeAt({ handle, offset: 0, data: Buffer.alloc(51) }), Code.OUT_OF_RANGE, /WriteAt f: 51 bytes/);
        const more = [(await fh.open({ path: 'f', read: true })).handle, (await fh.open({ path: 'f', read: true })).handle];
        await fails(fh.open({ path: 'f', read: true }), Code.RESOURCE_EXHAUSTED, /FileHandles\/Open f: 3 handles are open, the host's limit per plugin/);
        await fh.close({ handle: more[0]! });
        await fh.open({ path: 'f', read: true });
      },
      { maxReadBytes: 100, maxWriteBytes: 50, maxOpenHandles: 3 },
    ));

  it('streams lines from the position and moves past them', () =>
    withHandles(
      async (h, _p, fh) => {
        writeFileSync(join(h.workspace, 'lines'), 'first\r\nsecond\n\nfourth é\nlast without newline');
        const { handle } = await fh.open({ path: 'lines', read: true });
        const two = await collect(fh.readLines({ handle, maxLines: 2 }));
        assert.deepEqual(two.map((l) => l.line), ['first', 'second']);
        assert.equal(text((await fh.read({ handle, n: 1 })).data), '\n', 'the position is just past the last line sent');
        const rest = await collect(fh.readLines({ handle }));
        assert.deepEqual(rest.map((l) => l.line), ['fourth é', 'last without newline']);
        assert.deepEqual(await collect(fh.readLines({ handle })), [], 'nothing is left');
        await fh.seek({ handle, offset: 0, whence: Whence.WHENCE_START });
        assert.equal((await collect(fh.readLines({ handle }))).length, 5);

        writeFileSync(join(h.workspace, 'long'), `short\n${'x'.repeat(300)}\n`);
        const long = (await fh.open({ path: 'long', read: true })).handle;
        const seen: string[] = [];
        const err = await failure(
          (async () => {
            for await (const l of fh.readLines({ handle: long })) seen.push(l.line);
          })(),
        );
        assert.deepEqual(seen, ['short']);
        assert.equal(err.code, Code.OUT_OF_RANGE);
        assert.match(err.details, /ReadLines long: a line at offset 6 is longer than the host's limit of 100 bytes/);
        await fails(fh.readLines({ handle: 'nope' }), Code.NOT_FOUND, /ReadLines: no open handle/);
        await fails(fh.readLines({ handle, maxLines: -1 }), Code.INVALID_ARGUMENT, /ReadLines lines: max_lines must not be negative/);
      },
      { streamChunkBytes: 16, maxReadBytes: 100 },
    ));

  it('keeps handle tables apart: another plugin can neither use nor see an id', () =>
    withHarness({ modules: [fileHandlesService] }, async (h) => {
      writeFileSync(join(h.workspace, 'shared'), 'shared');
      const a = (await h.plugin('a')).client(FileHandlesDefinition);
      const b = (await h.plugin('b')).client(FileHandlesDefinition);
      const ha = (await a.open({ path: 'shared', read: true, write: true })).handle;
      const hb = (await b.open({ path: 'shared', read: true })).handle;
      assert.notEqual(ha, hb);
      const foreign = await fails(b.read({ handle: ha, n: 1 }), Code.NOT_FOUND, /FileHandles\/Read: no open handle/);
      const unknown = await fails(b.read({ handle: 'f'.repeat(32), n: 1 }), Code.NOT_FOUND, /no open handle/);
      assert.equal(foreign.details.replace(ha, '<id>'), unknown.details.replace('f'.repeat(32), '<id>'), 'the same answer whether the id exists elsewhere or not');
      for (const call of [b.write({ handle: ha, data: bytes('x') }), b.close({ handle: ha }), b.statHandle({ handle: ha }), b.seek({ handle: ha, offset: 0 })]) {
        await fails(call, Code.NOT_FOUND, /no open handle/);
      }
      assert.deepEqual((await b.listHandles({})).handles.map((x) => x.handle), [hb]);
      const listed = (await a.listHandles({})).handles;
      assert.deepEqual(listed, [{ handle: ha, path: 'shared', read: true, write: true, append: false, position: 0 }]);
      assert.equal(text((await a.read({ handle: ha, n: 6 })).data), 'shared', 'a\'s handle survived b\'s attempts');
      const reads = h.records.filter((r) => r.operation === 'FileHandles/Read');
      assert.deepEqual(
        reads.map((r) => [r.owner, r.resource, r.capability]),
        [
          ['b', ha, 'fs.read'],
          ['b', 'f'.repeat(32), 'fs.read'],
          ['a', 'shared', 'fs.read'],
        ],
        'a handle operation names the file to a policy, but only for the plugin holding the handle',
      );
    }));

  it('closes every fd of a plugin when it disconnects', () =>
    withHandles(async (h, p, fh) => {
      writeFileSync(join(h.workspace, 'f'), 'data');
      const before = openFdsUnder(h.workspace);
      const ids = [];
      for (let i = 0; i < 40; i++) ids.push((await fh.open({ path: i % 2 ? 'f' : `new${i}`, read: true, write: true, create: true })).handle);
      assert.equal(new Set(ids).size, 40);
      assert.equal(openFdsUnder(h.workspace), before + 40);
      const totalOpen = openFds();
      await p.disconnect();
      assert.equal(openFdsUnder(h.workspace), before);
      assert.ok(openFds() <= totalOpen - 40, 'the handles\' fds are gone, not just renamed');
    }));

  it('serves 100 concurrent callers from two plugins consistently', () =>
    withHarness({ modules: [filesystemService, fileHandlesService] }, async (h) => {
      const sides = [await h.plugin('a'), await h.plugin('b')];
      const clients = sides.map((s) => ({ fs: s.client(FilesystemDefinition), fh: s.client(FileHandlesDefinition) }));
      await clients[0]!.fs.mkdir({ path: 'own' });
      const record = (i: number) => `writer-${String(i).padStart(3, '0')}|`.repeat(20);
      const results = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const { fs, fh } = clients[i % 2]!;
          // A file of its own, whole-file calls.
          await fs.writeFile({ path: `own/${i}`, data: bytes(record(i)) });
          const own = text((await fs.readFile({ path: `own/${i}` })).data);
          // A shared log: appends from everyone.
          await fs.appendFile({ path: 'shared.log', data: bytes(`line ${i}\n`) });
          // A shared file: same-length records, whole-file writes.
          await fs.writeFile({ path: 'shared.rec', data: bytes(record(i)) });
          // A handle on its own file, and a read of a shared one through a handle.
          const { handle } = await fh.open({ path: `own/h${i}`, read: true, write: true, create: true });
          await fh.write({ handle, data: bytes(`handle ${i}`) });
          await fh.seek({ handle, offset: 0 });
          const viaHandle = text((await fh.read({ handle, n: 100 })).data);
          await fh.close({ handle });
          return { own, viaHandle, i };
        }),
      );
      for (const { own, viaHandle, i } of results) {
        assert.equal(own, record(i));
        assert.equal(viaHandle, `handle ${i}`);
      }
      const lines = readFileSync(join(h.workspace, 'shared.log'), 'utf8').trimEnd().split('\n').sort();
      assert.deepEqual(lines, Array.from({ length: 100 }, (_, i) => `line ${i}`).sort(), 'every append is whole and present');
      const last = readFileSync(join(h.workspace, 'shared.rec'), 'utf8');
      assert.ok(Array.from({ length: 100 }, (_, i) => record(i)).includes(last), 'the shared file holds one whole record');
      for (const { fh } of clients) assert.deepEqual((await fh.listHandles({})).handles, []);
      assert.equal(h.records.filter((r) => !r.ok).length, 0);
      assert.deepEqual(new Set(h.records.map((r) => r.owner)), new Set(['a', 'b']));
    }));
});
