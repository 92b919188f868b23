/**
 * docs/benchmarks.md keeps generated blocks between marker comments, e.g.
 * `<!-- bench:results -->` ... `<!-- /bench:results -->`; a run replaces
 * the inside of one block and leaves the prose around it alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export function replaceBlock(file: string, name: string, content: string): void {
  const text = readFileSync(file, 'utf8');
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) throw new Error(`${file}: no ${open} ... ${close} block to write into`);
  writeFileSync(file, `${text.slice(0, start + open.length)}\n${content.trim()}\n${text.slice(end)}`);
}
