import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FileType, FilesystemDefinition, WatchEventKind, WriteMode, type WatchResponse } from '../gen/hst/host/v1/filesystem.js';
import type { Client } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { within } from '../util/within.js';
import { bytes, collect, fails, openFdsUnder, sleep, text } from '../../test/support/assertions.js';
import { withHarness, type Harness } from '../../test/support/host-harness.js';
import type { Limits } from './limits.js';
import { filesystemService } from './filesystem.js';

type Fs = Client<typeof FilesystemDefinition>;

interface Env {
  h: Harness;
  fs: Fs;
  ws: string;
  /** A directory beside the workspace, holding `secret`. */
  outside: string;
}

/**
 * A harness with one plugin, and a workspace holding links that lead out:
 * `out` (relative, to the outside directory), `abs` (absolute, same place)
 * and `secret-link` (to the outside file).
 */
function withFs(fn: (env: Env) => Promise<void>, limits: Partial<Limits> = {}): Promise<void> {
  return withHarness({ modules: [filesystemService], limits }, async (h) => {
    const ws = h.workspace;
    const outside = join(h.dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'SECRET');
    symlinkSync('../outside', join(ws, 'out'));
    symlinkSync(outside, join(ws, 'abs'));
    symlinkSync(join(outside, 'secret'), join(ws, 'secret-link'));
    const p = await h.plugin('plugin-a');
    await fn({ h, fs: p.client(FilesystemDefinition), ws, outside });
  });
}

describe('Filesystem service', () => {
  it('declares a capability for every method', () => {
    const methods = Object.keys(FilesystemDefinition.methods).sort();
    assert.deepEqual(Object.keys(filesystemService.operations).sort(), methods);
    for (const m of methods) {
      const spec = filesystemService.operations[m as keyof typeof filesystemService.operations];
      assert.match(spec.capability, /^fs\.(read|write)$/, m);
    }
    assert.equal(filesystemService.operations.readFile.capability, 'fs.read');
    assert.equal(filesystemService.operations.writeFileStream.capability, 'fs.write');
  });

  it('writes and reads whole files in every write mode', () =>
    withFs(async ({ h, fs, ws }) => {
      assert.equal((await fs.writeFile({ path: 'a.txt', data: bytes('hello') })).bytesWritten, 5);
      assert.equal(text((await fs.readFile({ path: 'a.txt' })).data), 'hello');
      await fs.writeFile({ path: 'a.txt', data: bytes('hi') });
      assert.equal(readFileSync(join(ws, 'a.txt'), 'utf8'), 'hi', 'the default mode truncates');

      await fails(fs.writeFile({ path: 'a.txt', data: bytes('x'), mode: WriteMode.WRITE_MODE_EXCLUSIVE }), Code.ALREADY_EXISTS, /Filesystem\/WriteFile a\.txt: already exists/);
      await fs.writeFile({ path: 'new.txt', data: bytes('n'), mode: WriteMode.WRITE_MODE_EXCLUSIVE, perm: 0o600 });
      assert.equal(statSync(join(ws, 'new.txt')).mode & 0o777, 0o600);

      await fails(fs.writeFile({ path: 'none.txt', data: bytes('x'), mode: WriteMode.WRITE_MODE_TRUNCATE_EXISTING }), Code.NOT_FOUND, /WriteFile none\.txt/);
      assert.equal(existsSync(join(ws, 'none.txt')), false);
      await fs.writeFile({ path: 'a.txt', data: bytes('t'), mode: WriteMode.WRITE_MODE_TRUNCATE_EXISTING });
      assert.equal(readFileSync(join(ws, 'a.txt'), 'utf8'), 't');

      await fails(fs.writeFile({ path: 'p.txt', data: bytes('x'), perm: 0o4755 }), Code.INVALID_ARGUMENT, /WriteFile p\.txt: permission bits must be within 0777/);
      await fails(fs.writeFile({ path: 'p.txt', data: bytes('x'), mode: 7 as WriteMode }), Code.INVALID_ARGUMENT, /unknown write mode/);
      await fails(fs.readFile({ path: 'missing.txt' }), Code.NOT_FOUND, /Filesystem\/ReadFile missing\.txt: no such file or directory/);
      mkdirSync(join(ws, 'd'));
      await fails(fs.readFile({ path: 'd' }), Code.FAILED_PRECONDITION, /ReadFile d: is a directory/);
      await fails(fs.writeFile({ path: 'd', data: bytes('x') }), Code.FAILED_PRECONDITION, /WriteFile d: is a directory/);
      await fails(fs.writeFile({ path: 'nodir/x', data: bytes('x') }), Code.NOT_FOUND, /WriteFile nodir\/x/);

      const record = h.records.find((r) => r.operation === 'Filesystem/WriteFile');
      assert.equal(record?.capability, 'fs.write');
      assert.equal(record?.resource, 'a.txt');
      await fs.readFile({ path: './d/../a.txt' }).catch(() => undefined);
      await fs.stat({ path: './a.txt' });
      assert.deepEqual(
        h.records.slice(-2).map((r) => r.resource),
        ['<invalid>', 'a.txt'],
        'a policy sees one normalized name for a file',
      );
    }));

  it('enforces the read and write size limits', () =>
    withFs(
      async ({ fs, ws }) => {
        writeFileSync(join(ws, 'big'), Buffer.alloc(101, 1));
        writeFileSync(join(ws, 'fits'), Buffer.alloc(100, 1));
        await fails(fs.readFile({ path: 'big' }), Code.OUT_OF_RANGE, /ReadFile big: 101 bytes is more than the host's limit of 100 .* use ReadFileStream/);
        assert.equal((await fs.readFile({ path: 'fits' })).data.length, 100);
        const streamed = await collect(fs.readFileStream({ path: 'big' }));
        assert.equal(Buffer.concat(streamed.map((c) => c.data)).length, 101, 'the stream has no read limit');
        await fails(fs.writeFile({ path: 'w', data: Buffer.alloc(51) }), Code.OUT_OF_RANGE, /WriteFile w: 51 bytes .* limit of 50 .* use WriteFileStream/);
        await fails(fs.appendFile({ path: 'w', data: Buffer.alloc(51) }), Code.OUT_OF_RANGE, /AppendFile w: 51 bytes/);
        assert.equal(existsSync(join(ws, 'w')), false);
      },
      { maxReadBytes: 100, maxWriteBytes: 50 },
    ));

  it('appends, creating the file', () =>
    withFs(async ({ fs, ws }) => {
      await fs.appendFile({ path: 'log', data: bytes('one\n'), perm: 0o640 });
      await fs.appendFile({ path: 'log', data: bytes('two\n') });
      assert.equal(readFileSync(join(ws, 'log'), 'utf8'), 'one\ntwo\n');
      assert.equal(statSync(join(ws, 'log')).mode & 0o777, 0o640);
      await fails(fs.appendFile({ path: 'no/log', data: bytes('x') }), Code.NOT_FOUND, /AppendFile no\/log/);
    }));

  it('stats, lstats and tests existence, following only links that stay inside', () =>
    withFs(async ({ fs, ws }) => {
      writeFileSync(join(ws, 'f'), '12345');
      chmodSync(join(ws, 'f'), 0o640);
      symlinkSync('f', join(ws, 'link'));
      symlinkSync('nowhere', join(ws, 'dangling'));
      const st = (await fs.stat({ path: 'link' })).info!;
      assert.equal(st.type, FileType.FILE_TYPE_FILE);
      assert.equal(st.size, 5);
      assert.equal(st.mode, 0o640);
      assert.equal(st.name, 'link');
      assert.equal(st.path, 'link');
      assert.ok(Math.abs(st.mtimeMs - statSync(join(ws, 'f')).mtimeMs) < 1);
      assert.equal((await fs.lstat({ path: 'link' })).info?.type, FileType.FILE_TYPE_SYMLINK);
      assert.equal((await fs.stat({ path: '.' })).info?.type, FileType.FILE_TYPE_DIRECTORY);
      assert.equal((await fs.stat({ path: './f/' })).info?.path, 'f');
      await fails(fs.stat({ path: 'missing' }), Code.NOT_FOUND, /Filesystem\/Stat missing: no such file/);
      await fails(fs.lstat({ path: 'missing' }), Code.NOT_FOUND, /Filesystem\/Lstat missing/);
      await fails(fs.stat({ path: 'secret-link' }), Code.PERMISSION_DENIED, /Stat secret-link/);
      assert.equal((await fs.lstat({ path: 'secret-link' })).info?.type, FileType.FILE_TYPE_SYMLINK, 'the link itself may be described');

      assert.equal((await fs.exists({ path: 'f' })).exists, true);
      assert.equal((await fs.exists({ path: 'link' })).exists, true);
      assert.equal((await fs.exists({ path: 'missing' })).exists, false);
      assert.equal((await fs.exists({ path: 'f/under-a-file' })).exists, false);
      assert.equal((await fs.exists({ path: 'dangling' })).exists, false);
      await fails(fs.exists({ path: 'secret-link' }), Code.PERMISSION_DENIED, /Exists secret-link/);
      await fails(fs.exists({ path: '../x' }), Code.INVALID_ARGUMENT, /Filesystem\/Exists: invalid path/);
    }));

  it('lists a directory in name order, with links listed and not followed', () =>
    withFs(
      async ({ fs, ws }) => {
        mkdirSync(join(ws, 'd'));
        writeFileSync(join(ws, 'd', 'b.txt'), 'bb');
        mkdirSync(join(ws, 'd', 'a-dir'));
        symlinkSync('../out', join(ws, 'd', 'c-link'));
        const { entries } = await fs.readDir({ path: 'd' });
        assert.deepEqual(
          entries.map((e) => [e.name, e.path, e.type]),
          [
            ['a-dir', 'd/a-dir', FileType.FILE_TYPE_DIRECTORY],
            ['b.txt', 'd/b.txt', FileType.FILE_TYPE_FILE],
            ['c-link', 'd/c-link', FileType.FILE_TYPE_SYMLINK],
          ],
        );
        assert.equal(entries[1]?.size, 2);
        assert.equal(entries[1]?.mode, statSync(join(ws, 'd', 'b.txt')).mode & 0o777);
        const root = (await fs.readDir({ path: '.' })).entries.map((e) => e.path);
        assert.deepEqual(root, ['abs', 'd', 'out', 'secret-link']);
        for (let i = 0; i < 5; i++) writeFileSync(join(ws, 'd', `more${i}`), '');
        await fails(fs.readDir({ path: 'd' }), Code.RESOURCE_EXHAUSTED, /ReadDir d: more than 6 entries/);
        await fails(fs.readDir({ path: 'd/b.txt' }), Code.FAILED_PRECONDITION, /ReadDir d\/b\.txt: not a directory/);
        await fails(fs.readDir({ path: 'nope' }), Code.NOT_FOUND, /ReadDir nope/);
        await fails(fs.readDir({ path: 'out' }), Code.PERMISSION_DENIED, /ReadDir out/);
      },
      { maxEntries: 6 },
    ));

  it('makes directories, one confined level at a time when recursive', () =>
    withFs(async ({ fs, ws }) => {
      await fs.mkdir({ path: 'd', perm: 0o700 });
      assert.equal(statSync(join(ws, 'd')).mode & 0o777, 0o700);
      await fails(fs.mkdir({ path: 'd' }), Code.ALREADY_EXISTS, /Filesystem\/Mkdir d: already exists/);
      await fails(fs.mkdir({ path: 'x/y' }), Code.NOT_FOUND, /Mkdir x\/y/);
      await fs.mkdir({ path: 'x/y/z', recursive: true });
      assert.ok(statSync(join(ws, 'x', 'y', 'z')).isDirectory());
      await fs.mkdir({ path: 'x/y/z', recursive: true });
      writeFileSync(join(ws, 'file'), '');
      await fails(fs.mkdir({ path: 'file/sub', recursive: true }), Code.FAILED_PRECONDITION, /Mkdir file\/sub: file exists and is not a directory/);
      await fails(fs.mkdir({ path: 'out/new', recursive: true }), Code.PERMISSION_DENIED, /Mkdir out\/new/);
      await fails(fs.mkdir({ path: 'abs/new' }), Code.PERMISSION_DENIED, /Mkdir abs\/new/);
      await fails(fs.mkdir({ path: 'q', perm: 0o1777 }), Code.INVALID_ARGUMENT, /Mkdir q: permission bits/);
    }));

  it('removes files, links and empty directories, one at a time', () =>
    withFs(async ({ fs, ws, outside }) => {
      writeFileSync(join(ws, 'f'), '');
      mkdirSync(join(ws, 'empty'));
      mkdirSync(join(ws, 'full'));
      writeFileSync(join(ws, 'full', 'x'), '');
      await fs.remove({ path: 'f' });
      await fs.remove({ path: 'empty' });
      assert.equal(existsSync(join(ws, 'f')) || existsSync(join(ws, 'empty')), false);
      await fails(fs.remove({ path: 'full' }), Code.FAILED_PRECONDITION, /Remove full: directory not empty/);
      await fails(fs.remove({ path: 'f' }), Code.NOT_FOUND, /Filesystem\/Remove f/);
      await fs.remove({ path: 'secret-link' });
      assert.equal(existsSync(join(ws, 'secret-link')), false);
      assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET', 'the link went, not its target');
      await fails(fs.remove({ path: 'out/secret' }), Code.PERMISSION_DENIED, /Remove out\/secret/);
      await fails(fs.remove({ path: '.' }), Code.INVALID_ARGUMENT, /Remove \.: the root directory/);
      assert.ok(existsSync(join(outside, 'secret')));
    }));

  it('removes trees without following links out of them', () =>
    withFs(async ({ fs, ws, outside }) => {
      mkdirSync(join(ws, 'keep'));
      writeFileSync(join(ws, 'keep', 'k'), 'k');
      mkdirSync(join(ws, 't', 'a', 'b'), { recursive: true });
      writeFileSync(join(ws, 't', 'a', 'b', 'f'), '');
      writeFileSync(join(ws, 't', 'g'), '');
      symlinkSync(outside, join(ws, 't', 'to-outside'));
      symlinkSync('../../keep', join(ws, 't', 'a', 'to-keep'));
      // t, a, b, f, g, to-outside, to-keep
      assert.equal((await fs.removeAll({ path: 't' })).removed, 7);
      assert.equal(existsSync(join(ws, 't')), false);
      assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
      assert.equal(readFileSync(join(ws, 'keep', 'k'), 'utf8'), 'k');
      assert.equal((await fs.removeAll({ path: 't' })).removed, 0, 'a missing path is not an error');
      assert.equal((await fs.removeAll({ path: 'nope/deeper' })).removed, 0);
      assert.equal((await fs.removeAll({ path: 'abs' })).removed, 1, 'a link to a directory is removed as a link');
      assert.ok(existsSync(join(outside, 'secret')));
      await fails(fs.removeAll({ path: 'out/secret' }), Code.PERMISSION_DENIED, /RemoveAll out\/secret/);
      await fails(fs.removeAll({ path: '.' }), Code.INVALID_ARGUMENT, /RemoveAll \.: the root directory cannot be removed/);
      await fails(fs.removeAll({ path: '$tmp' }), Code.INVALID_ARGUMENT, /RemoveAll \$tmp/);
      assert.ok(existsSync(join(ws, 'keep')));
    }));

  it('renames inside the workspace and refuses links out', () =>
    withFs(async ({ fs, ws, outside }) => {
      writeFileSync(join(ws, 'a'), 'A');
      writeFileSync(join(ws, 'b'), 'B');
      mkdirSync(join(ws, 'd'));
      await fs.rename({ from: 'a', to: 'd/a2' });
      assert.equal(readFileSync(join(ws, 'd', 'a2'), 'utf8'), 'A');
      await fs.rename({ from: 'd/a2', to: 'b' });
      assert.equal(readFileSync(join(ws, 'b'), 'utf8'), 'A', 'an existing file is replaced');
      await fails(fs.rename({ from: 'a', to: 'c' }), Code.NOT_FOUND, /Filesystem\/Rename a -> c: no such file/);
      await fails(fs.rename({ from: 'b', to: 'out/stolen' }), Code.PERMISSION_DENIED, /Rename b -> out\/stolen/);
      await fails(fs.rename({ from: 'out/secret', to: 'mine' }), Code.PERMISSION_DENIED, /Rename out\/secret -> mine/);
      await fails(fs.rename({ from: 'b', to: '../b' }), Code.INVALID_ARGUMENT, /Filesystem\/Rename: invalid path "\.\.\/b"/);
      await fails(fs.rename({ from: 'b', to: '.' }), Code.INVALID_ARGUMENT, /Rename \.: the root directory/);
      await fs.rename({ from: 'secret-link', to: 'moved-link' });
      assert.equal(readlinkSync(join(ws, 'moved-link')), join(outside, 'secret'), 'the link moved, not its target');
      assert.deepEqual(readdirSync(outside), ['secret']);
      await fs.writeFile({ path: '$tmp/t', data: bytes('T') });
      await fs.rename({ from: '$tmp/t', to: 'from-tmp' });
      assert.equal(readFileSync(join(ws, 'from-tmp'), 'utf8'), 'T');
    }));

  it('copies regular files through fds', () =>
    withFs(async ({ fs, ws, outside }) => {
      const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
      writeFileSync(join(ws, 'src'), big);
      chmodSync(join(ws, 'src'), 0o640);
      assert.equal((await fs.copy({ from: 'src', to: 'dst' })).bytesCopied, big.length);
      assert.ok(readFileSync(join(ws, 'dst')).equals(big));
      assert.equal(statSync(join(ws, 'dst')).mode & 0o777, 0o640);
      writeFileSync(join(ws, 'small'), 'small');
      await fails(fs.copy({ from: 'small', to: 'dst' }), Code.ALREADY_EXISTS, /Filesystem\/Copy small -> dst: already exists/);
      await fs.copy({ from: 'small', to: 'dst', overwrite: true });
      assert.equal(readFileSync(join(ws, 'dst'), 'utf8'), 'small', 'an overwritten file is truncated first');
      symlinkSync('small', join(ws, 'small-link'));
      await fails(fs.copy({ from: 'small', to: 'small-link', overwrite: true }), Code.INVALID_ARGUMENT, /Copy small -> small-link: source and destination are the same file/);
      assert.equal(readFileSync(join(ws, 'small'), 'utf8'), 'small');
      mkdirSync(join(ws, 'd'));
      await fails(fs.copy({ from: 'd', to: 'e' }), Code.FAILED_PRECONDITION, /Copy d: is a directory/);
      await fails(fs.copy({ from: 'none', to: 'e' }), Code.NOT_FOUND, /Copy none -> e/);
      await fails(fs.copy({ from: 'secret-link', to: 'stolen' }), Code.PERMISSION_DENIED, /Copy secret-link -> stolen/);
      await fails(fs.copy({ from: 'out/secret', to: 'stolen' }), Code.PERMISSION_DENIED, /Copy out\/secret -> stolen/);
      await fails(fs.copy({ from: 'small', to: 'out/planted' }), Code.PERMISSION_DENIED, /Copy small -> out\/planted/);
      assert.equal(existsSync(join(ws, 'stolen')), false);
      assert.deepEqual(readdirSync(outside), ['secret']);
    }));

  it('changes modes and sizes through an fd, never outside', () =>
    withFs(async ({ fs, ws, outside }) => {
      writeFileSync(join(ws, 'f'), '0123456789');
      chmodSync(join(ws, 'f'), 0);
      await fs.chmod({ path: 'f', mode: 0o640 });
      assert.equal(statSync(join(ws, 'f')).mode & 0o777, 0o640, 'a file without any permission can be chmodded');
      symlinkSync('f', join(ws, 'link'));
      await fs.chmod({ path: 'link', mode: 0o600 });
      assert.equal(statSync(join(ws, 'f')).mode & 0o777, 0o600, 'an in-root link is followed');
      const outsideMode = statSync(join(outside, 'secret')).mode;
      await fails(fs.chmod({ path: 'secret-link', mode: 0o777 }), Code.PERMISSION_DENIED, /Chmod secret-link/);
      await fails(fs.chmod({ path: 'out/secret', mode: 0o777 }), Code.PERMISSION_DENIED, /Chmod out\/secret/);
      assert.equal(statSync(join(outside, 'secret')).mode, outsideMode);
      await fails(fs.chmod({ path: 'f', mode: 0o4755 }), Code.INVALID_ARGUMENT, /Chmod f: mode must be within 0777/);
      await fails(fs.chmod({ path: 'missing', mode: 0o600 }), Code.NOT_FOUND, /Chmod missing/);

      await fs.truncate({ path: 'f', size: 4 });
      assert.equal(readFileSync(join(ws, 'f'), 'utf8'), '0123');
      await fs.truncate({ path: 'link', size: 6 });
      assert.deepEqual([...readFileSync(join(ws, 'f'))], [48, 49, 50, 51, 0, 0]);
      await fails(fs.truncate({ path: 'f', size: -1 }), Code.INVALID_ARGUMENT, /Truncate f: size must not be negative/);
      mkdirSync(join(ws, 'd'));
      await fails(fs.truncate({ path: 'd', size: 0 }), Code.FAILED_PRECONDITION, /Truncate d: is a directory/);
      await fails(fs.truncate({ path: 'secret-link', size: 0 }), Code.PERMISSION_DENIED, /Truncate secret-link/);
      assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
    }));

  it('reads link text as stored', () =>
    withFs(async ({ fs, outside }) => {
      assert.equal((await fs.readlink({ path: 'out' })).target, '../outside');
      assert.equal((await fs.readlink({ path: 'secret-link' })).target, join(outside, 'secret'));
      await fs.writeFile({ path: 'f', data: bytes('') });
      await fails(fs.readlink({ path: 'f' }), Code.INVALID_ARGUMENT, /Filesystem\/Readlink f: not a symbolic link/);
      await fails(fs.readlink({ path: 'missing' }), Code.NOT_FOUND, /Readlink missing/);
      await fails(fs.readlink({ path: 'out/secret' }), Code.PERMISSION_DENIED, /Readlink out\/secret/);
    }));

  it('globs with segment-bound *, spanning **, explicit dotfiles, and no descent into links', () =>
    withFs(
      async ({ fs, ws, outside }) => {
        mkdirSync(join(ws, 'src', 'lib'), { recursive: true });
        mkdirSync(join(ws, '.hidden'));
        mkdirSync(join(outside, 'deep'));
        writeFileSync(join(outside, 'deep', 'x.ts'), '');
        writeFileSync(join(outside, 'y.ts'), '');
        for (const f of ['top.ts', 'src/a.ts', 'src/b.js', 'src/lib/c.ts', '.hidden/d.ts', 'src/.e.ts']) writeFileSync(join(ws, f), '');
        symlinkSync('src', join(ws, 'src-link'));
        const glob = async (pattern: string) => (await fs.glob({ pattern })).matches.map((m) => m.path);
        assert.deepEqual(await glob('*.ts'), ['top.ts']);
        assert.deepEqual(await glob('src/*.ts'), ['src/a.ts']);
        assert.deepEqual(await glob('**/*.ts'), ['src/lib/c.ts', 'src/a.ts', 'top.ts'].sort());
        assert.deepEqual(await glob('./src/**'), ['src/a.ts', 'src/b.js', 'src/lib', 'src/lib/c.ts']);
        assert.deepEqual(await glob('.hidden/*'), ['.hidden/d.ts']);
        assert.deepEqual(await glob('**/.*.ts'), ['src/.e.ts']);
        assert.deepEqual(await glob('src-*'), ['src-link'], 'a link can match');
        assert.deepEqual(await glob('src-link/**'), ['src-link/a.ts', 'src-link/b.js', 'src-link/lib', 'src-link/lib/c.ts'], 'an in-root link as the base is followed');
        await fails(fs.glob({ pattern: 'out/**' }), Code.PERMISSION_DENIED, /Filesystem\/Glob out/);
        await fails(fs.glob({ pattern: 'abs/*.ts' }), Code.PERMISSION_DENIED, /Filesystem\/Glob abs/);
        assert.deepEqual(await glob('nothing/*.ts'), []);
        assert.deepEqual(await glob('src/a.ts'), ['src/a.ts'], 'a literal path matches itself');
        assert.deepEqual(await glob('src/zzz.ts'), []);
        const info = (await fs.glob({ pattern: 'src/lib' })).matches[0];
        assert.equal(info?.type, FileType.FILE_TYPE_DIRECTORY);
        await fs.writeFile({ path: '$tmp/t1.txt', data: bytes('1') });
        assert.deepEqual(await glob('$tmp/*.txt'), ['$tmp/t1.txt']);
        await fails(fs.glob({ pattern: 'src/../*' }), Code.INVALID_ARGUMENT, /Glob src\/\.\.\/\*: "\.\." is not allowed/);
        await fails(fs.glob({ pattern: '!*.ts' }), Code.INVALID_ARGUMENT, /Glob !\*\.ts: negated patterns are not supported/);
        await fails(fs.glob({ pattern: '/etc/*' }), Code.INVALID_ARGUMENT, /Filesystem\/Glob "\/etc\/\*": a pattern must be/);
        for (let i = 0; i < 6; i++) writeFileSync(join(ws, 'src', `n${i}.ts`), '');
        await fails(fs.glob({ pattern: '**/*.ts' }), Code.RESOURCE_EXHAUSTED, /Glob \*\*\/\*\.ts: more than 8 entries/);
      },
      { maxEntries: 8 },
    ));

  it('walks depth first in name order, reporting links without entering them', () =>
    withFs(
      async ({ fs, ws }) => {
        mkdirSync(join(ws, 'w', 'a', 'b'), { recursive: true });
        writeFileSync(join(ws, 'w', 'a', 'b', 'deep'), '');
        writeFileSync(join(ws, 'w', 'z'), '');
        symlinkSync('../out', join(ws, 'w', 'out-link'));
        symlinkSync('a', join(ws, 'w', 'in-link'));
        const all = await collect(fs.walk({ path: 'w' }));
        assert.deepEqual(
          all.map((e) => [e.entry?.path, e.depth, e.entry?.type]),
          [
            ['w/a', 1, FileType.FILE_TYPE_DIRECTORY],
            ['w/a/b', 2, FileType.FILE_TYPE_DIRECTORY],
            ['w/a/b/deep', 3, FileType.FILE_TYPE_FILE],
            ['w/in-link', 1, FileType.FILE_TYPE_SYMLINK],
            ['w/out-link', 1, FileType.FILE_TYPE_SYMLINK],
            ['w/z', 1, FileType.FILE_TYPE_FILE],
          ],
        );
        const shallow = await collect(fs.walk({ path: 'w', maxDepth: 2 }));
        assert.deepEqual(shallow.map((e) => e.entry?.path), ['w/a', 'w/a/b', 'w/in-link', 'w/out-link', 'w/z']);
        const whole = (await collect(fs.walk({ path: '.' }))).map((e) => e.entry?.path);
        assert.ok(!whole.some((p) => p?.startsWith('out/') || p?.startsWith('abs/')), 'nothing below a link out');
        await fails(fs.walk({ path: 'w/z' }), Code.FAILED_PRECONDITION, /Walk w\/z: not a directory/);
        await fails(fs.walk({ path: 'out' }), Code.PERMISSION_DENIED, /Walk out/);
        await fails(fs.walk({ path: 'w', maxDepth: -1 }), Code.INVALID_ARGUMENT, /Walk w: max_depth must not be negative/);
        for (let i = 0; i < 10; i++) writeFileSync(join(ws, 'w', `f${i}`), '');
        await fails(fs.walk({ path: 'w' }), Code.RESOURCE_EXHAUSTED, /Walk w: more than 12 entries/);
      },
      { maxEntries: 12 },
    ));

  it('refuses trees deeper than the level limit instead of holding an fd per level without end', () =>
    withFs(async ({ fs, ws }) => {
      mkdirSync(join(ws, ...Array<string>(300).fill('n')), { recursive: true });
      await fails(fs.walk({ path: '.' }), Code.RESOURCE_EXHAUSTED, /Walk \.: more than 256 directory levels/);
      await fails(fs.removeAll({ path: 'n' }), Code.RESOURCE_EXHAUSTED, /RemoveAll n: more than 256 directory levels/);
      assert.equal((await collect(fs.walk({ path: '.', maxDepth: 10 }))).length, 3 + 10, 'a depth limit keeps a walk within bounds');
    }));

  it('streams files in chunks, with offsets, and writes them from streams', () =>
    withFs(
      async ({ fs, ws }) => {
        const data = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
        writeFileSync(join(ws, 'data'), data);
        const chunks = await collect(fs.readFileStream({ path: 'data' }));
        assert.deepEqual(chunks.map((c) => [c.offset, c.data.length]), [[0, 1000], [1000, 1000], [2000, 500]]);
        assert.ok(Buffer.concat(chunks.map((c) => c.data)).equals(data));
        const part = await collect(fs.readFileStream({ path: 'data', offset: 900, length: 1200 }));
        assert.deepEqual(part.map((c) => [c.offset, c.data.length]), [[900, 1000], [1900, 200]]);
        assert.ok(Buffer.concat(part.map((c) => c.data)).equals(data.subarray(900, 2100)));
        assert.deepEqual(await collect(fs.readFileStream({ path: 'data', offset: 5000 })), []);
        // Ending on a chunk boundary: the reads ahead past the end bring nothing more.
        const even = await collect(fs.readFileStream({ path: 'data', offset: 500 }));
        assert.deepEqual(even.map((c) => [c.offset, c.data.length]), [[500, 1000], [1500, 1000]]);
        await fails(fs.readFileStream({ path: 'data', offset: -1 }), Code.INVALID_ARGUMENT, /ReadFileStream data: offset must not be negative/);
        await fails(fs.readFileStream({ path: 'missing' }), Code.NOT_FOUND, /ReadFileStream missing/);
        await fails(fs.readFileStream({ path: 'secret-link' }), Code.PERMISSION_DENIED, /ReadFileStream secret-link/);

        const written = await fs.writeFileStream([{ path: 'up', perm: 0o600, data: bytes('ab') }, { data: bytes('cd') }, { data: bytes('e') }]);
        assert.equal(written.bytesWritten, 5);
        assert.equal(readFileSync(join(ws, 'up'), 'utf8'), 'abcde');
        assert.equal(statSync(join(ws, 'up')).mode & 0o777, 0o600);
        await fails(fs.writeFileStream([{ path: 'up', mode: WriteMode.WRITE_MODE_EXCLUSIVE }, { data: bytes('x') }]), Code.ALREADY_EXISTS, /WriteFileStream up: already exists/);
        await fails(fs.writeFileStream([{ path: 'up2' }, { data: Buffer.alloc(1001) }]), Code.OUT_OF_RANGE, /WriteFileStream up2: 1001 bytes .* send smaller messages/);
        await fails(fs.writeFileStream([]), Code.INVALID_ARGUMENT, /WriteFileStream/);
        await fails(fs.writeFileStream([{ path: 'out/planted', data: bytes('x') }]), Code.PERMISSION_DENIED, /WriteFileStream out\/planted/);
        const big = await fs.writeFileStream(Array.from({ length: 5 }, (_, i) => ({ path: i === 0 ? 'big' : '', data: Buffer.alloc(1000, i) })));
        assert.equal(big.bytesWritten, 5000, 'the total is not limited, only each message');
      },
      { streamChunkBytes: 1000, maxWriteBytes: 1000 },
    ));

  it('refuses escapes everywhere: .., absolute, NUL and links out', () =>
    withFs(async ({ fs, ws, outside }) => {
      writeFileSync(join(ws, 'f'), 'f');
      const outsideMode = lstatSync(join(outside, 'secret')).mode;
      const badPaths = ['../outside/secret', '/etc/passwd', 'a\0b'];
      const calls: Array<[string, (p: string) => Promise<unknown> | AsyncIterable<unknown>]> = [
        ['ReadFile', (p) => fs.readFile({ path: p })],
        ['WriteFile', (p) => fs.writeFile({ path: p, data: bytes('x') })],
        ['AppendFile', (p) => fs.appendFile({ path: p, data: bytes('x') })],
        ['Mkdir', (p) => fs.mkdir({ path: p, recursive: true })],
        ['Remove', (p) => fs.remove({ path: p })],
        ['RemoveAll', (p) => fs.removeAll({ path: p })],
        ['Rename', (p) => fs.rename({ from: 'f', to: p })],
        ['Copy', (p) => fs.copy({ from: p, to: 'c' })],
        ['Chmod', (p) => fs.chmod({ path: p, mode: 0o777 })],
        ['Truncate', (p) => fs.truncate({ path: p, size: 0 })],
        ['ReadDir', (p) => fs.readDir({ path: p })],
        ['Walk', (p) => fs.walk({ path: p })],
        ['ReadFileStream', (p) => fs.readFileStream({ path: p })],
        ['WriteFileStream', (p) => fs.writeFileStream([{ path: p, data: bytes('x') }])],
        ['Watch', (p) => fs.watch({ path: p })],
        ['DiskUsage', (p) => fs.diskUsage({ path: p })],
      ];
      for (const [name, call] of calls) {
        for (const bad of badPaths) await fails(call(bad), Code.INVALID_ARGUMENT, new RegExp(`Filesystem/${name}: invalid path`));
      }
      // Through links out: the relative `out`, the absolute `abs` and the file link.
      for (const [name, call] of calls) {
        for (const through of ['out/secret', 'abs/secret']) await fails(call(through), Code.PERMISSION_DENIED, new RegExp(`Filesystem/${name}`));
      }
      for (const name of ['secret-link']) {
        await fails(fs.readFile({ path: name }), Code.PERMISSION_DENIED, /ReadFile secret-link/);
        await fails(fs.writeFile({ path: name, data: bytes('x') }), Code.PERMISSION_DENIED, /WriteFile secret-link/);
        await fails(fs.appendFile({ path: name, data: bytes('x') }), Code.PERMISSION_DENIED, /AppendFile secret-link/);
      }
      assert.deepEqual(readdirSync(outside), ['secret']);
      assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'SECRET');
      assert.equal(lstatSync(join(outside, 'secret')).mode, outsideMode);
    }));

  it('keeps $tmp paths in the private temp directory', () =>
    withFs(async ({ h, fs, ws }) => {
      await fs.mkdir({ path: '$tmp/sub/deeper', recursive: true });
      await fs.writeFile({ path: '$tmp/sub/f', data: bytes('t') });
      const caller = h.hostServices.callers()[0]!;
      assert.equal(readFileSync(join(caller.tempHostPath, 'sub', 'f'), 'utf8'), 't');
      assert.equal(existsSync(join(ws, '$tmp')), false);
      const listed = (await fs.readDir({ path: '$tmp/sub' })).entries.map((e) => e.path);
      assert.deepEqual(listed, ['$tmp/sub/deeper', '$tmp/sub/f']);
      assert.equal((await fs.stat({ path: '$tmp/sub/f' })).info?.path, '$tmp/sub/f');
    }));

  it('reports disk space and subtree sizes', () =>
    withFs(async ({ fs, ws }) => {
      mkdirSync(join(ws, 'd', 'e'), { recursive: true });
      writeFileSync(join(ws, 'd', 'a'), Buffer.alloc(100));
      writeFileSync(join(ws, 'd', 'e', 'b'), Buffer.alloc(23));
      symlinkSync('../out', join(ws, 'd', 'link'));
      const plain = await fs.diskUsage({ path: '' });
      assert.ok(plain.totalBytes > 0);
      assert.ok(plain.availableBytes <= plain.totalBytes && plain.freeBytes <= plain.totalBytes);
      assert.equal(plain.subtreeBytes, 0);
      const sub = await fs.diskUsage({ path: 'd', subtree: true });
      assert.equal(sub.subtreeBytes, 123);
      assert.equal(sub.subtreeFiles, 2);
      assert.equal((await fs.diskUsage({ path: 'd/a', subtree: true })).subtreeBytes, 100);
      await fails(fs.diskUsage({ path: 'nope' }), Code.NOT_FOUND, /DiskUsage nope/);
    }));

  it('does not leak fds, whether calls succeed, fail or are abandoned', () =>
    withFs(
      async ({ fs, ws }) => {
        writeFileSync(join(ws, 'f'), Buffer.alloc(5000));
        mkdirSync(join(ws, 'd', 'e'), { recursive: true });
        await fs.readFile({ path: 'f' });
        const before = openFdsUnder(ws);
        for (let i = 0; i < 20; i++) {
          await fs.readFile({ path: 'f' });
          await fs.copy({ from: 'f', to: `c${i}`, overwrite: true });
          await fs.readFile({ path: 'd' }).catch(() => undefined);
          await collect(fs.walk({ path: '.' }));
          await fs.glob({ pattern: '**' });
          for await (const chunk of fs.readFileStream({ path: 'f' })) {
            assert.equal(chunk.offset, 0);
            break;
          }
        }
        // Abandoned streams close their fds when the cancellation arrives. On a slow machine `f` may grow
        // old enough (1 s) to be held open between reads: that one closes within two idle sweeps (4 s).
        for (let i = 0; i < 250 && openFdsUnder(ws) > before; i++) await sleep(20);
        assert.ok(openFdsUnder(ws) <= before, `${openFdsUnder(ws) - before} fds more than before`);
      },
      { streamChunkBytes: 100 },
    ));
});

describe('Filesystem watch', () => {
  /** Reads events until `until` says stop, failing after a few seconds. */
  async function events(stream: AsyncIterator<WatchResponse>, until: (seen: WatchResponse[]) => boolean): Promise<WatchResponse[]> {
    const seen: WatchResponse[] = [];
    const deadline = Date.now() + 5000;
    while (!until(seen)) {
      const next = await within(stream.next(), Math.max(0, deadline - Date.now()));
      if (!next) assert.fail(`timed out; saw ${JSON.stringify(seen)}`);
      if (next.done) break;
      seen.push(next.value);
    }
    return seen;
  }
  const has = (kind: WatchEventKind, path: string) => (seen: WatchResponse[]) => seen.some((e) => e.kind === kind && e.path === path);

  it('reports creations, changes and removals with plugin paths, and ends on cancel', () =>
    withFs(async ({ fs, ws }) => {
      mkdirSync(join(ws, 'w', 'sub'), { recursive: true });
      const cancel = new AbortController();
      const stream = fs.watch({ path: 'w', recursive: true }, { signal: cancel.signal })[Symbol.asyncIterator]();
      const [ready] = await events(stream, (s) => s.length > 0);
      assert.equal(ready?.kind, WatchEventKind.WATCH_EVENT_KIND_READY);
      writeFileSync(join(ws, 'w', 'sub', 'f'), 'one');
      await events(stream, has(WatchEventKind.WATCH_EVENT_KIND_CREATED, 'w/sub/f'));
      writeFileSync(join(ws, 'w', 'sub', 'f'), 'two, longer');
      await events(stream, has(WatchEventKind.WATCH_EVENT_KIND_MODIFIED, 'w/sub/f'));
      mkdirSync(join(ws, 'w', 'newdir'));
      const dirs = await events(stream, has(WatchEventKind.WATCH_EVENT_KIND_CREATED, 'w/newdir'));
      assert.equal(dirs.find((e) => e.path === 'w/newdir')?.directory, true);
      await fs.remove({ path: 'w/sub/f' });
      await events(stream, has(WatchEventKind.WATCH_EVENT_KIND_REMOVED, 'w/sub/f'));
      cancel.abort();
      const after = await stream.next().catch(() => ({ done: true }));
      assert.equal(after.done, true);
    }));

  it('watches one level unless recursive, and a single file', () =>
    withFs(async ({ fs, ws }) => {
      mkdirSync(join(ws, 'w', 'sub'), { recursive: true });
      writeFileSync(join(ws, 'w', 'file'), '');
      const flat = fs.watch({ path: 'w' })[Symbol.asyncIterator]();
      const single = fs.watch({ path: 'w/file' })[Symbol.asyncIterator]();
      await events(flat, (s) => s.length > 0);
      await events(single, (s) => s.length > 0);
      writeFileSync(join(ws, 'w', 'sub', 'below'), '');
      writeFileSync(join(ws, 'w', 'top'), '');
      const seen = await events(flat, has(WatchEventKind.WATCH_EVENT_KIND_CREATED, 'w/top'));
      assert.ok(!seen.some((e) => e.path === 'w/sub/below'), JSON.stringify(seen));
      writeFileSync(join(ws, 'w', 'file'), 'changed');
      await events(single, has(WatchEventKind.WATCH_EVENT_KIND_MODIFIED, 'w/file'));
      await flat.return?.();
      await single.return?.();
    }));

  it('refuses links out, counts toward the subscription limit and ends on disconnect', () =>
    withHarness({ modules: [filesystemService], limits: { maxSubscriptions: 2 } }, async (h) => {
      const outside = join(h.dir, 'outside');
      mkdirSync(outside);
      symlinkSync(outside, join(h.workspace, 'abs'));
      mkdirSync(join(h.workspace, 'w'));
      const p = await h.plugin('a');
      const fs = p.client(FilesystemDefinition);
      await fails(fs.watch({ path: 'abs' }), Code.PERMISSION_DENIED, /Filesystem\/Watch abs/);
      await fails(fs.watch({ path: 'missing' }), Code.NOT_FOUND, /Watch missing/);
      const first = fs.watch({ path: 'w' })[Symbol.asyncIterator]();
      const second = fs.watch({ path: '.' })[Symbol.asyncIterator]();
      await events(first, (s) => s.length > 0);
      await events(second, (s) => s.length > 0);
      await fails(fs.watch({ path: 'w' }), Code.RESOURCE_EXHAUSTED, /Watch w: the plugin already has 2 live subscriptions and watches, the limit/);
      await second.return?.();
      let third: AsyncIterator<WatchResponse> | undefined;
      for (let i = 0; i < 50 && !third; i++) {
        const candidate = fs.watch({ path: 'w' })[Symbol.asyncIterator]();
        const next = await candidate.next().catch((e: RpcError) => e);
        if (next instanceof RpcError) await sleep(20);
        else third = candidate;
      }
      assert.ok(third, 'a cancelled watch frees its slot');
      await p.disconnect();
      const end = await within(first.next().then(() => 'ended', () => 'ended'), 3000);
      assert.equal(end, 'ended', 'the watch stream ends when its plugin goes');
    }));
});
