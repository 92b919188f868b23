import { mkdirSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

/**
 * `mkdir -p` that always ends. Node's own recursive mkdir loops forever,
 * blocking the event loop (and so every signal handler), where the kernel
 * answers ENOENT for a directory whose parent exists, as /proc and /sys do;
 * here that is the error it is. `mode` applies to each directory made.
 */
export function makeDirs(path: string, mode = 0o777): void {
  let current: string = sep;
  for (const part of resolve(path).split(sep).filter(Boolean)) {
    current = join(current, part);
    try {
      mkdirSync(current, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!statSync(current).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), { code: 'ENOTDIR' });
    }
  }
}
