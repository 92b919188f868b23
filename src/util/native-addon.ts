/**
 * hst's addon (native/hst-fs.c): the few system calls hst needs and Node
 * does not offer. Built by `npm install` (scripts/build-native.mjs), like the
 * sandbox launcher; where it was not, each user takes a slower way and says so.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { packageRoot } from './package-root.js';

export interface HstAddon {
  /** openat(2) of one name; the new fd, or -errno. */
  openAt(dirFd: number, name: string, flags: number, mode: number): number;
  /** fstatat(2) without following, into `out` (field order in hst-fs.c); 0, or -errno. */
  lstatAt(dirFd: number, name: string, out: Float64Array): number;
  /** socketpair(2), close-on-exec, into `out`; 0, or -errno. */
  socketPair(out: Int32Array): number;
}

const ADDON = join(packageRoot, 'dist', 'native', 'hst-fs.node');

function load(): { addon?: HstAddon; problem?: string } {
  if (process.platform !== 'linux') return { problem: 'it is for Linux' };
  try {
    return { addon: createRequire(import.meta.url)(ADDON) as HstAddon };
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    return { problem: missing ? `${ADDON} was not built (it needs a C compiler when npm install runs: apt-get install gcc, then npm rebuild)` : `${ADDON} does not load: ${(err as Error).message}` };
  }
}

const loaded = load();

/** The addon, where it was built and loads. */
export const addon: HstAddon | undefined = loaded.addon;

/** Why the addon is not used, for `hst inspect`; undefined when it is. */
export const addonProblem: string | undefined = loaded.problem;

/** Node's own shape for a failed syscall (-errno from the addon), so callers tell ENOENT from ELOOP as they do for fs errors. */
export function errnoError(negativeErrno: number, syscall: string, name?: string): NodeJS.ErrnoException {
  const [code, description] = getSystemErrorMap().get(negativeErrno) ?? ['UNKNOWN', 'unknown error'];
  const err = new Error(`${code}: ${description}, ${syscall}${name === undefined ? '' : ` '${name}'`}`) as NodeJS.ErrnoException;
  err.errno = negativeErrno;
  err.code = code;
  err.syscall = syscall;
  return err;
}
