import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, constants as C, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { addonSyscalls, procSyscalls, type AtSyscalls } from './at-syscalls.js';
import { ConfinedRoot } from './confine.js';
import { HeldFiles, type BorrowedFile } from './held-files.js';

/** The syscalls a root takes, counted: opens of files (not of the directories on the way) and lstats. */
function counting(base: AtSyscalls): { syscalls: AtSyscalls; count: { open: number; lstat: number } } {
  const count = { open: 0, lstat: 0 };
  const syscalls: AtSyscalls = {
    via: base.via,
    openAt: (dirFd, name, flags, mode) => ((flags & C.O_DIRECTORY) === 0 && count.open++, base.openAt(dirFd, name, flags, mode)),
    lstatAt: (...args) => (count.lstat++, base.lstatAt(...args)),
  };
  return { syscalls, count };
}

function workspace(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hst-held-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads the whole file with positions only, as the host's handlers do, and releases it. */
function readOnce(file: BorrowedFile): string {
  try {
    const buffer = Buffer.alloc(file.stats.size);
    return buffer.subarray(0, readSync(file.fd, buffer, 0, buffer.length, 0)).toString();
  } finally {
    file.release();
  }
}

/** Whether any descriptor of this process is the file with inode `ino`. */
function holds(ino: number): boolean {
  return readdirSync('/proc/self/fd').some((fd) => {
    try {
      return fstatSync(Number(fd)).ino === ino;
    } catch {
      return false;
    }
  });
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'EBADF');
    return false;
  }
}

/** A clock a few seconds ahead: files just written count as old enough to hold. */
const later = () => Date.now() + 5_000;

for (const base of [addonSyscalls ?? assert.fail('the openat addon was not built (npm run build needs a C compiler)'), procSyscalls]) {
  describe(`files held open between reads (${base.via})`, () => {
    const setUp = (now: () => number = later) => {
      const w = workspace();
      const { syscalls, count } = counting(base);
      const root = new ConfinedRoot(w.dir, undefined, { syscalls, heldFiles: { now } });
      return { ...w, root, count, done: () => (root.close(), w.cleanup()) };
    };

    it('reads a file again through the descriptor it holds, and sees what the file holds now', async () => {
      const t = setUp();
      try {
        mkdirSync(join(t.dir, 'd'));
        writeFileSync(join(t.dir, 'd', 'f'), 'one');
        assert.equal(readOnce(t.root.openForReading('d/f')), 'one');
        const opens = t.count.open;
        await nextTurn();
        assert.equal(readOnce(t.root.openForReading('d/f')), 'one');
        assert.equal(t.count.open, opens, 'an unchanged file was opened again');
        // A write changes the ctime: opened afresh, and read with the size the file has now.
        appendFileSync(join(t.dir, 'd', 'f'), ' two');
        await nextTurn();
        assert.equal(readOnce(t.root.openForReading('d/f')), 'one two');
        assert.ok(t.count.open > opens, 'a changed file was not opened afresh');
      } finally {
        t.done();
      }
    });

    it('opens afresh when the name leads elsewhere, the mode changes or the file is gone, and lets the old one go', async () => {
      const t = setUp();
      try {
        const f = join(t.dir, 'f');
        writeFileSync(f, 'old');
        const first = t.root.openForReading('f');
        const oldIno = first.stats.ino;
        assert.equal(readOnce(first), 'old');
        writeFileSync(join(t.dir, 'new'), 'new');
        renameSync(join(t.dir, 'new'), f);
        await nextTurn();
        assert.equal(readOnce(t.root.openForReading('f')), 'new', 'the file replaced was read');
        assert.equal(holds(oldIno), false, 'the replaced file is still held');

        const opens = t.count.open;
        readOnce(t.root.openForReading('f'));
        assert.equal(t.count.open, opens);
        chmodSync(f, 0o400);
        await nextTurn();
        readOnce(t.root.openForReading('f'));
        assert.equal(t.count.open, opens + 1, 'a file whose mode changed was not opened afresh');

        const held = t.root.openForReading('f');
        const ino = held.stats.ino;
        held.release();
        assert.equal(holds(ino), true);
        unlinkSync(f);
        await nextTurn();
        assert.throws(() => t.root.openForReading('f'), { code: 'ENOENT' });
        assert.equal(holds(ino), false, 'a deleted file is still held');
      } finally {
        t.done();
      }
    });

    it('holds neither a file changed within the last second, nor a directory, nor a file reached through a symlink', async () => {
      const openedTwice = async (t: ReturnType<typeof setUp>, path: string) => {
        t.root.openForReading(path).release();
        const opens = t.count.open;
        await nextTurn();
        t.root.openForReading(path).release();
        assert.ok(t.count.open > opens, `${path} was held`);
      };
      const fresh = setUp(Date.now);
      try {
        writeFileSync(join(fresh.dir, 'fresh'), 'x');
        await openedTwice(fresh, 'fresh');
      } finally {
        fresh.done();
      }
      const t = setUp();
      try {
        writeFileSync(join(t.dir, 'f'), 'x');
        mkdirSync(join(t.dir, 'd'));
        symlinkSync('f', join(t.dir, 'link'));
        symlinkSync('.', join(t.dir, 'here'));
        for (const path of ['d', 'link', 'here/f']) await openedTwice(t, path);
        await openedTwice(t, 'f').then(
          () => assert.fail('a plain old file was not held'),
          () => undefined,
        );
      } finally {
        t.done();
      }
    });

    it('lets go at once of what hst itself removed or replaced: the path and all under it', () => {
      const t = setUp();
      try {
        for (const dir of ['d', 'dx']) mkdirSync(join(t.dir, dir));
        const inodes = ['d/f', 'd/g', 'dx/f'].map((path) => {
          writeFileSync(join(t.dir, path), path);
          const file = t.root.openForReading(path);
          file.release();
          return file.stats.ino;
        });
        assert.ok(inodes.every(holds));
        t.root.forget('d');
        assert.deepEqual(inodes.map(holds), [false, false, true]);
      } finally {
        t.done();
      }
    });

    it('lets calls that arrived together share one check of the name, and no call after them', async () => {
      const t = setUp();
      try {
        writeFileSync(join(t.dir, 'f'), 'x');
        t.root.openForReading('f').release();
        await nextTurn();
        const before = t.count.lstat;
        const together = [t.root.openForReading('f'), t.root.openForReading('f'), t.root.openForReading('f')];
        for (const file of together) file.release();
        assert.equal(t.count.lstat, before + 1);
        await nextTurn();
        t.root.openForReading('f').release();
        assert.equal(t.count.lstat, before + 2, 'a check was shared with a call of a later turn');
      } finally {
        t.done();
      }
    });
  });
}

describe('held files', () => {
  const oldFile = (dir: string, name: string) => {
    const path = join(dir, name);
    writeFileSync(path, name);
    const fd = openSync(path, 'r');
    return { fd, stats: fstatSync(fd) };
  };

  it('closes files left unused for idleMs, and a file let go while in use only when its user releases it', () => {
    const w = workspace();
    let now = later();
    const held = new HeldFiles({ now: () => now, idleMs: 100 });
    try {
      const a = oldFile(w.dir, 'a');
      held.keep('a', a.fd, a.stats).release();
      const b = oldFile(w.dir, 'b');
      const inUse = held.keep('b', b.fd, b.stats);
      now += 200;
      held.closeIdle();
      assert.equal(isOpen(a.fd), false);
      assert.equal(isOpen(b.fd), true, 'a file in use was closed');
      held.close();
      assert.equal(isOpen(b.fd), true, 'a file in use was closed');
      inUse.release();
      inUse.release();
      assert.equal(isOpen(b.fd), false);
      assert.equal(held.size, 0);
    } finally {
      held.close();
      w.cleanup();
    }
  });

  it('holds at most `limit` files, letting go of the one used least recently', () => {
    const w = workspace();
    const held = new HeldFiles({ now: later, limit: 2 });
    try {
      const [a, b, c] = ['a', 'b', 'c'].map((name) => oldFile(w.dir, name)) as [ReturnType<typeof oldFile>, ReturnType<typeof oldFile>, ReturnType<typeof oldFile>];
      held.keep('a', a.fd, a.stats).release();
      held.keep('b', b.fd, b.stats).release();
      held.borrow('a', a.stats, false)?.release();
      held.keep('c', c.fd, c.stats).release();
      assert.equal(isOpen(b.fd), false, 'the file used least recently is still held');
      assert.equal(isOpen(a.fd) && isOpen(c.fd), true);
      assert.deepEqual([held.has('a'), held.has('b'), held.has('c')], [true, false, true]);
    } finally {
      held.close();
      w.cleanup();
    }
  });
});
