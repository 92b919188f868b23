/**
 * A process's memory as Linux reports it. RSS counts every page a process
 * has resident, so summing it over processes that share pages (fifty Node
 * processes share the node binary) counts those pages many times; PSS
 * divides each shared page among its sharers and sums honestly.
 */
import { readFileSync } from 'node:fs';

function field(file: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`${file}: no ${name} field`);
  return Number(match[1]) * 1024;
}

export function rssBytes(pid: number | 'self' = 'self'): number {
  return field(`/proc/${pid}/status`, 'VmRSS');
}

export function pssBytes(pid: number | 'self' = 'self'): number {
  return field(`/proc/${pid}/smaps_rollup`, 'Pss');
}
