/**
 * Which plugin processes are still alive: what the demo and the TUI check
 * after a shutdown, and their end-to-end tests after the host has exited.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { clip } from './output.js';

/** A live process: a zombie (dead, waiting for its parent to reap it) does not count. */
export function running(pid: number): boolean {
  if (!existsSync('/proc/self')) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Live processes run from the plugin directories by one host: their command
 * line names a plugin directory and they work in that host's data directory
 * (a plugin's working directory is <dataDir>/run/<name>, sandboxed or not),
 * so plugins other hosts run at the same time are not counted.
 */
export function pluginProcesses(pluginDirs: string[], dataDir: string): Array<{ pid: number; cmdline: string }> {
  if (!existsSync('/proc/self')) return [];
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!pluginDirs.some((dir) => cmdline.includes(dir))) continue;
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if ((cwd === dataDir || cwd.startsWith(`${dataDir}/`)) && running(Number(entry))) found.push({ pid: Number(entry), cmdline: clip(cmdline, 120) });
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}
