/**
 * Open and lstat of one name inside an open directory: the step the
 * confined walk (confine.ts) is made of. Two ways to take it, with the same
 * answers and the same refusals:
 * - hst's addon (native/hst-fs.c, built by `npm install` like the sandbox
 *   launcher): openat(2) and fstatat(2) on the directory's fd;
 * - /proc/self/fd/<dirfd>/<name> with Node's own fs calls, where the addon
 *   was not built. The kernel's lookup of that magic link costs about as
 *   much again as the call itself, which is why the addon exists.
 */
import { lstatSync, openSync, type Stats } from 'node:fs';
import { addon, addonProblem, errnoError, type HstAddon } from '../util/native-addon.js';

/** What hst reads from a stat: a subset of Node's Stats that both ways fill. */
export type EntryStats = Pick<Stats, 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'dev' | 'ino' | 'mode' | 'nlink' | 'uid' | 'gid' | 'size' | 'blocks' | 'mtimeMs' | 'ctimeMs'>;

export interface AtSyscalls {
  /** Which way this is, for tests and diagnostics. */
  readonly via: 'openat' | 'proc';
  /** openat(dirFd, name, flags | O_CLOEXEC, mode); `name` is one component. Throws Node's errno errors. */
  openAt(dirFd: number, name: string, flags: number, mode?: number): number;
  /** fstatat(dirFd, name, AT_SYMLINK_NOFOLLOW). Throws Node's errno errors. */
  lstatAt(dirFd: number, name: string): EntryStats;
}

/** `/proc/self/fd/<fd>`: how Node reaches a name under an fd it opened. */
export function fdPath(dirFd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dirFd}` : `/proc/self/fd/${dirFd}/${name}`;
}

export const procSyscalls: AtSyscalls = {
  via: 'proc',
  openAt: (dirFd, name, flags, mode = 0o666) => openSync(fdPath(dirFd, oneName(name, 'open')), flags, mode),
  lstatAt: (dirFd, name) => lstatSync(fdPath(dirFd, oneName(name, 'lstat'))),
};

/** The addon refuses a name with a '/' (the kernel would follow symlinks before it); the /proc way does the same. */
function oneName(name: string, syscall: string): string {
  if (name === '' || name.includes('/') || name.includes('\0')) throw errnoError(EINVAL, syscall, name);
  return name;
}

const EINVAL = -22;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** A stat the addon filled (field order as in hst-fs.c). */
class AddonStats implements EntryStats {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly blocks: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  constructor(f: Float64Array) {
    this.dev = f[0] as number;
    this.ino = f[1] as number;
    this.mode = f[2] as number;
    this.nlink = f[3] as number;
    this.uid = f[4] as number;
    this.gid = f[5] as number;
    this.size = f[6] as number;
    this.blocks = f[7] as number;
    this.mtimeMs = f[8] as number;
    this.ctimeMs = f[9] as number;
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
}

function withAddon(addon: HstAddon): AtSyscalls {
  const fields = new Float64Array(10);
  return {
    via: 'openat',
    openAt(dirFd, name, flags, mode = 0o666) {
      const fd = addon.openAt(dirFd, name, flags, mode);
      if (fd < 0) throw errnoError(fd, 'openat', name);
      return fd;
    },
    lstatAt(dirFd, name) {
      const rc = addon.lstatAt(dirFd, name, fields);
      if (rc < 0) throw errnoError(rc, 'fstatat', name);
      return new AddonStats(fields);
    },
  };
}

/** The addon's way, where it was built. */
export const addonSyscalls: AtSyscalls | undefined = addon ? withAddon(addon) : undefined;

/** Why the addon is not used, for `hst inspect`; undefined when it is. */
export { addonProblem };

/** What confined roots use unless told otherwise. */
export const atSyscalls: AtSyscalls = addonSyscalls ?? procSyscalls;
