/**
 * Temp: the plugin's private temp directory (caller.temp()). Plugin paths in
 * it start with `$tmp/`; the Caller deletes the directory when the plugin goes.
 */
import { closeSync, constants as C, lstatSync, mkdirSync, openSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { TempDefinition, TempEntryKind } from '../gen/hst/host/v1/temp.js';
import { normalizePath, pathOfFd, PathError } from '../security/confine.js';
import { TEMP_PREFIX } from './caller.js';
import { invalid } from './errors.js';
import { hostService } from './operation.js';

const MAX_NAME_BYTES = 255;

/** `<prefix><random><suffix>`, refusing affixes that would leave the temp directory or break the name. */
function tempName(operation: string, prefix: string, suffix: string): string {
  for (const affix of [prefix, suffix]) {
    if (affix.includes('/') || affix.includes('\0')) {
      throw invalid(`Temp/${operation} ${JSON.stringify(affix)}: prefix and suffix must not contain "/" or NUL`);
    }
  }
  const name = `${prefix}${randomBytes(8).toString('hex')}${suffix}`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw invalid(`Temp/${operation}: prefix and suffix make the name longer than ${MAX_NAME_BYTES} bytes`);
  return name;
}

/** The path inside the temp directory that a `$tmp/...` plugin path names. */
function insideTemp(operation: string, path: string): string {
  let segments: readonly string[];
  try {
    segments = normalizePath(path);
  } catch (err) {
    if (err instanceof PathError) throw invalid(`Temp/${operation} ${JSON.stringify(path)}: ${err.details}`);
    throw err;
  }
  if (segments[0] !== TEMP_PREFIX || segments.length < 2) {
    throw invalid(`Temp/${operation} ${JSON.stringify(path)}: the path must name an entry under ${TEMP_PREFIX}/`);
  }
  return segments.slice(1).join('/');
}

function kindOf(st: Stats): TempEntryKind {
  if (st.isFile()) return TempEntryKind.TEMP_ENTRY_KIND_FILE;
  if (st.isDirectory()) return TempEntryKind.TEMP_ENTRY_KIND_DIRECTORY;
  if (st.isSymbolicLink()) return TempEntryKind.TEMP_ENTRY_KIND_SYMLINK;
  return TempEntryKind.TEMP_ENTRY_KIND_OTHER;
}

/**
 * Removes `name` in the open directory `dirPath` and, for a directory,
 * everything in it; returns how many entries went. Each directory is entered
 * through an fd opened with O_NOFOLLOW, so a directory swapped for a symlink
 * mid-walk fails instead of leading the removal out of the temp directory
 * (which a path-based recursive rm would follow).
 */
function removeEntry(dirPath: string, name: string): number {
  const path = `${dirPath}/${name}`;
  if (!lstatSync(path).isDirectory()) {
    unlinkSync(path);
    return 1;
  }
  const fd = openSync(path, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
  let removed = 1;
  try {
    for (const child of readdirSync(pathOfFd(fd))) removed += removeEntry(pathOfFd(fd), child);
  } finally {
    closeSync(fd);
  }
  rmdirSync(path);
  return removed;
}

export const tempService = hostService({
  definition: TempDefinition,
  operations: {
    createTempFile: { capability: 'temp', resource: (r) => `${TEMP_PREFIX}/${r.prefix}*${r.suffix}` },
    createTempDir: { capability: 'temp', resource: (r) => `${TEMP_PREFIX}/${r.prefix}*${r.suffix}` },
    listTemp: { capability: 'temp', resource: () => TEMP_PREFIX },
    removeTemp: { capability: 'temp', resource: (r) => r.path },
    cleanupTemp: { capability: 'temp', resource: () => TEMP_PREFIX },
  },
  create: (caller, host) => ({
    createTempFile: ({ prefix, suffix }, ctx) => {
      const name = tempName('CreateTempFile', prefix, suffix);
      const { fd } = caller.temp(ctx).open(name, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
      closeSync(fd);
      return { path: `${TEMP_PREFIX}/${name}` };
    },
    createTempDir: ({ prefix, suffix }, ctx) => {
      const name = tempName('CreateTempDir', prefix, suffix);
      caller.temp(ctx).withParent(name, (path) => mkdirSync(path, { mode: 0o700 }));
      return { path: `${TEMP_PREFIX}/${name}` };
    },
    listTemp: (_request, ctx) =>
      caller.temp(ctx).withDir('.', (dirPath) => {
        const names = readdirSync(dirPath).sort();
        const kept = names.slice(0, host.limits.maxEntries);
        const entries = kept.map((name) => {
          const st = lstatSync(`${dirPath}/${name}`);
          return { path: `${TEMP_PREFIX}/${name}`, kind: kindOf(st), size: st.isFile() ? st.size : 0 };
        });
        return { entries, truncated: kept.length < names.length };
      }),
    removeTemp: ({ path }, ctx) => {
      const inside = insideTemp('RemoveTemp', path);
      return { removed: caller.temp(ctx).withParent(inside, (_namePath, parent) => removeEntry(pathOfFd(parent.fd), parent.name)) };
    },
    cleanupTemp: (_request, ctx) =>
      caller.temp(ctx).withDir('.', (dirPath) => ({
        removed: readdirSync(dirPath).reduce((sum, name) => sum + removeEntry(dirPath, name), 0),
      })),
  }),
});
