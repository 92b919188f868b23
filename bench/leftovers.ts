/**
 * Finds every process this run started that is still alive, by the run
 * marker in its environment (run-job.ts), and kills it. A clean run finds
 * none; the count is recorded with the results.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { RUN_MARKER } from './run-job.js';

export interface Leftover {
  pid: number;
  command: string;
}

export function findLeftovers(runId: string): Leftover[] {
  const marker = `${RUN_MARKER}=${runId}`;
  const found: Leftover[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push({ pid, command: readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim() });
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return found;
}

export function killLeftovers(runId: string): Leftover[] {
  const found = findLeftovers(runId);
  for (const { pid } of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  return found;
}
