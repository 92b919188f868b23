/**
 * `hst list`: every plugin found under the plugin directories, runnable or
 * not, and why not; with `--start`, started, with their pids.
 */
import { sandboxSummary, type PluginInfo, type PluginStatus } from '../manager/plugin-info.js';
import type { SignatureStatus } from '../security/signature.js';
import { table, type Cli, type Style } from './output.js';

export interface ListOptions {
  start: boolean;
}

export async function listCommand(cli: Cli, options: ListOptions): Promise<number> {
  const manager = cli.manager();
  try {
    const { warnings } = await manager.discover();
    for (const warning of warnings) cli.err(`warning: ${warning}\n`);
    const plugins = options.start ? await manager.startAll() : manager.list();
    cli.out(cli.json ? `${JSON.stringify(plugins, null, 2)}\n` : formatPluginList(plugins, cli.style));
    return plugins.some((p) => p.status === 'failed') ? 1 : 0;
  } finally {
    await manager.shutdown();
  }
}

/** How each status is coloured, in lists and the TUI. */
export const STATUS_STYLE: Record<PluginStatus, keyof Style | undefined> = {
  discovered: undefined,
  starting: 'cyan',
  running: 'green',
  restarting: 'yellow',
  stopped: 'dim',
  unavailable: 'yellow',
  invalid: 'red',
  failed: 'red',
};

/** A signature's status, red where it must not be trusted. */
function signatureCell(status: SignatureStatus | undefined, s: Style): string {
  if (!status) return '-';
  return status === 'tampered' || status === 'invalid' ? s.red(status) : status === 'valid' ? s.green(status) : status;
}

/** A table, one row per plugin; under a plugin that will not run, the reason. */
export function formatPluginList(plugins: PluginInfo[], s: Style): string {
  if (plugins.length === 0) return 'no plugins found\n';
  const header = ['NAME', 'STATUS', 'RUNTIME', 'LANGUAGE', 'VERSION', 'PID', 'RESTARTS', 'CAPS', 'SANDBOX', 'SIGNATURE', 'COMMANDS'].map(s.bold);
  const rows = plugins.map((p) => {
    const paint = STATUS_STYLE[p.status];
    return [
      p.name,
      paint ? s[paint](p.status) : p.status,
      p.runtime ?? '-',
      p.language ?? '-',
      p.version ?? '-',
      p.pid !== undefined ? String(p.pid) : '-',
      String(p.restarts),
      String(p.capabilities.length),
      p.sandboxMode === 'off' ? s.red(sandboxSummary(p)) : sandboxSummary(p),
      signatureCell(p.signature?.status, s),
      p.commands.map((c) => c.name).join(', ') || '-',
    ];
  });
  const lines = table([header, ...rows]);
  const out = [lines[0] as string];
  plugins.forEach((p, i) => {
    out.push(lines[i + 1] as string);
    const reason = p.status === 'unavailable' || p.status === 'invalid' || p.status === 'failed' ? p.lastError : undefined;
    if (reason) out.push(...reason.split('\n').map((line) => `  ${(p.status === 'unavailable' ? s.yellow : s.red)(line)}`));
    if (p.status === 'failed') for (const line of p.lastStderr ?? []) out.push(`  ${s.dim(`stderr: ${line}`)}`);
  });
  return `${out.join('\n')}\n`;
}
