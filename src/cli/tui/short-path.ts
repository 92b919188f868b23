import { relative } from 'node:path';

/** A path relative to the working directory when that is shorter, cut at its start to fit `max` columns. */
export function shortPath(path: string, max: number): string {
  const rel = relative(process.cwd(), path);
  const shown = rel.length < path.length && !rel.startsWith('..') ? rel : path;
  return shown.length <= max ? shown : `…${shown.slice(shown.length - Math.max(1, max - 1))}`;
}
