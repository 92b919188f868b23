import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, constants as C, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonSyscalls, atSyscalls, procSyscalls, type AtSyscalls } from './at-syscalls.js';
import { O_PATH } from './confine.js';

const addon = addonSyscalls ?? assert.fail('the openat addon was not built (dist/native/hst-fs.node): npm run build needs a C compiler');

function workspace(): { dir: string; fd: number; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'hst-at-'));
  writeFileSync(join(dir, 'file'), 'twelve bytes');
  mkdirSync(join(dir, 'dir'));
  symlinkSync('file', join(dir, 'link'));
  spawnSync('mkfifo', [join(dir, 'fifo')]);
  const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
  return {
    dir,
    fd,
    cleanup: () => {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

describe('directory-relative syscalls', () => {
  it('uses the addon where it was built', () => {
    assert.equal(atSyscalls, addon);
    assert.equal(addon.via, 'openat');
  });

  it('gives the same stats both ways, and the same as lstat by path', () => {
    const w = workspace();
    try {
      for (const name of ['file', 'dir', 'link', 'fifo', '.']) {
        const byPath = lstatSync(join(w.dir, name));
        for (const way of [addon, procSyscalls]) {
          const st = way.lstatAt(w.fd, name);
          for (const field of ['dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'size', 'blocks', 'mtimeMs', 'ctimeMs'] as const) {
            assert.equal(st[field], byPath[field], `${way.via} ${name} ${field}`);
          }
          assert.deepEqual([st.isFile(), st.isDirectory(), st.isSymbolicLink()], [byPath.isFile(), byPath.isDirectory(), byPath.isSymbolicLink()], `${way.via} ${name}`);
        }
      }
    } finally {
      w.cleanup();
    }
  });

  it('opens a name in the directory, close-on-exec, without following a final symlink when told', () => {
    const w = workspace();
    try {
      for (const way of [addon, procSyscalls]) {
        const fd = way.openAt(w.fd, 'file', C.O_RDONLY);
        try {
          assert.equal(readFileSync(fd, 'utf8'), 'twelve bytes');
          const flags = Number.parseInt(/flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8);
          assert.ok(flags & 0o2000000, `${way.via}: O_CLOEXEC not set`);
        } finally {
          closeSync(fd);
        }
        assert.equal(codeOf(() => way.openAt(w.fd, 'link', C.O_RDONLY | C.O_NOFOLLOW)), 'ELOOP', way.via);
        closeSync(way.openAt(w.fd, 'link', O_PATH | C.O_NOFOLLOW));
        const created = way.openAt(w.fd, `new-${way.via}`, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
        closeSync(created);
        assert.equal(lstatSync(join(w.dir, `new-${way.via}`)).mode & 0o777, 0o600, way.via);
      }
    } finally {
      w.cleanup();
    }
  });

  it('fails with the errno codes fs calls give, and refuses anything but one name', () => {
    const w = workspace();
    try {
      const fileFd = openSync(join(w.dir, 'file'), C.O_RDONLY);
      try {
        const cases: Array<[string, (way: AtSyscalls) => unknown, string]> = [
          ['missing name', (way) => way.openAt(w.fd, 'missing', C.O_RDONLY), 'ENOENT'],
          ['missing stat', (way) => way.lstatAt(w.fd, 'missing'), 'ENOENT'],
          ['a file as the directory', (way) => way.lstatAt(fileFd, 'x'), 'ENOTDIR'],
          // Linux says ENOTDIR here, not ELOOP (the walk takes either as "maybe a symlink").
          ['a symlink as a directory', (way) => way.openAt(w.fd, 'link', C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW), 'ENOTDIR'],
          ['a file as a directory', (way) => way.openAt(w.fd, 'file', C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW), 'ENOTDIR'],
          ['a path, not a name', (way) => way.openAt(w.fd, 'dir/../file', C.O_RDONLY), 'EINVAL'],
          ['a path to stat', (way) => way.lstatAt(w.fd, 'dir/x'), 'EINVAL'],
          ['an empty name', (way) => way.openAt(w.fd, '', C.O_RDONLY), 'EINVAL'],
          ['a NUL in the name', (way) => way.lstatAt(w.fd, 'file\0x'), 'EINVAL'],
        ];
        for (const [what, call, code] of cases) for (const way of [addon, procSyscalls]) assert.equal(codeOf(() => call(way)), code, `${way.via}: ${what}`);
        assert.equal(codeOf(() => addon.openAt(w.fd, 'x'.repeat(256), C.O_RDONLY)), 'ENAMETOOLONG');
      } finally {
        closeSync(fileFd);
      }
    } finally {
      w.cleanup();
    }
  });
});
