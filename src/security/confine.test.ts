import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonSyscalls, procSyscalls } from './at-syscalls.js';
import { cleanPath, ConfinedRoot, normalizePath, pathOfFd } from './confine.js';
import { constants as C } from 'node:fs';

function sandbox(): { dir: string; root: string; outside: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hst-confine-'));
  const root = join(dir, 'root');
  const outside = join(dir, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'SECRET');
  return { dir, root, outside, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function read(root: ConfinedRoot, path: string): string {
  const { fd } = root.open(path, C.O_RDONLY);
  try {
    return readFileSync(pathOfFd(fd), 'utf8');
  } finally {
    closeSync(fd);
  }
}

describe('path normalisation', () => {
  it('refuses empty, NUL, absolute, .. and empty segments before any I/O', () => {
    for (const bad of ['', 'a\0b', '/etc/passwd', '..', 'a/../b', 'a//b', '../x']) {
      assert.throws(() => normalizePath(bad), /invalid path/, bad);
    }
  });
  it('drops . segments and one trailing slash', () => {
    assert.deepEqual(normalizePath('./a/./b/'), ['a', 'b']);
    assert.deepEqual(normalizePath('.'), []);
    assert.equal(cleanPath('./a/./b/'), 'a/b');
    assert.equal(cleanPath('.'), '');
  });
  it('gives a path normalised again the same frozen segments, refuses a bad one every time, and keeps no long path', () => {
    const first = normalizePath('notes/today.md');
    assert.equal(normalizePath('notes/today.md'), first);
    assert.ok(Object.isFrozen(first));
    assert.throws(() => (first as string[]).push('x'), TypeError);
    assert.deepEqual(normalizePath('notes/today.md'), ['notes', 'today.md']);
    for (let i = 0; i < 2; i++) assert.throws(() => normalizePath('a/../b'), /invalid path/);
    const long = `${'d/'.repeat(600)}f`;
    assert.equal(normalizePath(long).length, 601);
    assert.notEqual(normalizePath(long), normalizePath(long));
  });
});

// Every way a step of the walk can be taken (at-syscalls.ts) must refuse alike.
for (const syscalls of [addonSyscalls ?? assert.fail('the openat addon was not built (dist/native/hst-fs.node): npm run build needs a C compiler'), procSyscalls]) {
  const confined = (path: string) => new ConfinedRoot(path, undefined, { syscalls });
  describe(`confined root (${syscalls.via})`, () => {
    it('opens files inside and follows symlinks that stay inside', () => {
      const s = sandbox();
      try {
        mkdirSync(join(s.root, 'd'));
        writeFileSync(join(s.root, 'd', 'f'), 'inside');
        symlinkSync('d', join(s.root, 'link-dir'));
        symlinkSync('../d/f', join(s.root, 'd', 'self')); // d/self -> d/f
        symlinkSync('d/f', join(s.root, 'link-file'));
        const root = confined(s.root);
        assert.equal(read(root, 'd/f'), 'inside');
        assert.equal(read(root, 'link-dir/f'), 'inside');
        assert.equal(read(root, 'link-file'), 'inside');
        assert.equal(read(root, 'link-dir/self'), 'inside');
        assert.ok(root.stat('link-file', false).isSymbolicLink());
        assert.ok(root.stat('link-file', true).isFile());
        // Each way stat takes (lstat, through a link, the root itself, a directory on the way) gives back what it opened.
        const fds = () => readdirSync('/proc/self/fd').length;
        const before = fds();
        for (let i = 0; i < 50; i++) for (const [p, follow] of [['d/f', true], ['link-file', true], ['.', true], ['.', false], ['link-dir/f', true], ['link-file', false]] as const) root.stat(p, follow);
        assert.equal(fds(), before, 'stat leaves file descriptors open');
        root.close();
      } finally {
        s.cleanup();
      }
    });

    it('refuses symlinks that lead out, absolute or relative', () => {
      const s = sandbox();
      try {
        symlinkSync(s.outside, join(s.root, 'abs'));
        symlinkSync('../outside', join(s.root, 'rel'));
        symlinkSync(join(s.outside, 'secret'), join(s.root, 'file'));
        const root = confined(s.root);
        for (const p of ['abs/secret', 'rel/secret', 'file']) {
          assert.throws(() => read(root, p), (e: NodeJS.ErrnoException) => e.code === 'EACCES', p);
        }
        assert.throws(() => root.open('file', C.O_RDONLY, 0, false), (e: NodeJS.ErrnoException) => e.code === 'ELOOP');
        root.close();
      } finally {
        s.cleanup();
      }
    });

    it('refuses FIFOs so a plugin cannot block the host', () => {
      const s = sandbox();
      try {
        spawnSync('mkfifo', [join(s.root, 'fifo')]);
        const root = confined(s.root);
        assert.throws(() => read(root, 'fifo'), /not a regular file|ENXIO|no reader/);
        // stat takes a shorter way than open for names that are not symlinks; it refuses alike, and through a link.
        symlinkSync('fifo', join(s.root, 'to-fifo'));
        for (const name of ['fifo', 'to-fifo']) assert.throws(() => root.stat(name, true), /not a regular file/, name);
        assert.equal(root.stat('fifo', false).mode & C.S_IFMT, C.S_IFIFO);
        root.close();
      } finally {
        s.cleanup();
      }
    });

    it('never reads outside while a directory is swapped for a symlink (50k tries)', async () => {
      const s = sandbox();
      const tries = Number(process.env.HST_RACE_TRIES ?? 50_000);
      try {
        mkdirSync(join(s.root, 'real'));
        writeFileSync(join(s.root, 'real', 'secret'), 'inside');
        // Another process flips root/a between a real directory and a link to the outside, as fast as it can.
        const swapper = spawn(
          process.execPath,
          [
            '-e',
            `const fs=require('fs');const a=process.argv[1],real=process.argv[2],out=process.argv[3];
             for(;;){try{fs.symlinkSync(real,a+'.t');fs.renameSync(a+'.t',a)}catch{}try{fs.symlinkSync(out,a+'.t');fs.renameSync(a+'.t',a)}catch{}}`,
            join(s.root, 'a'),
            'real',
            s.outside,
          ],
          { stdio: 'ignore' },
        );
        const root = confined(s.root);
        let escapes = 0;
        let inside = 0;
        try {
          for (let i = 0; i < tries; i++) {
            try {
              const text = read(root, 'a/secret');
              if (text === 'SECRET') escapes++;
              else inside++;
            } catch {
              // refused: fine
            }
            if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
          }
        } finally {
          // Gone before the cleanup: a swapper still running would recreate entries under the root as it is removed.
          const exited = swapper.exitCode !== null || swapper.signalCode !== null ? Promise.resolve() : once(swapper, 'exit');
          swapper.kill('SIGKILL');
          await exited;
          root.close();
        }
        assert.equal(escapes, 0, `${escapes} escapes in ${tries} tries`);
        assert.ok(inside > 0, 'the race never let a legitimate read through: the test proves nothing');
      } finally {
        s.cleanup();
      }
    });
  });
}

describe('a root as one call sees it', () => {
  it('puts the symlinks it meets to its own check, leaves the root to its own, and cannot close the root', () => {
    const s = sandbox();
    const root = new ConfinedRoot(s.root, () => {
      throw new Error('the root itself follows nothing');
    });
    try {
      mkdirSync(join(s.root, 'real'));
      writeFileSync(join(s.root, 'real', 'f'), 'inside');
      symlinkSync('real', join(s.root, 'link'));
      const followed: string[] = [];
      const view = root.forCall((segments) => void followed.push(segments.join('/')));
      assert.equal(read(view, 'link/f'), 'inside');
      assert.deepEqual(followed, ['real']);
      assert.throws(() => read(root, 'link/f'), /follows nothing/);
      view.close();
      assert.equal(read(root, 'real/f'), 'inside', 'closing the view closed the root');
      const refusing = root.forCall(() => {
        throw new Error('not for this call');
      });
      assert.throws(() => refusing.stat('link', true), /not for this call/);
    } finally {
      root.close();
      s.cleanup();
    }
  });
});
