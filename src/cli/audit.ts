/**
 * `hst audit`: read the audit log, filtered by plugin or to denials, as
 * text for people or JSON lines for machines, optionally following it.
 */
import { existsSync } from 'node:fs';
import { followAudit, readAudit, type AuditQuery, type AuditRecord } from '../security/audit.js';
import { terminalSafe } from '../util/terminal-text.js';

export interface AuditCommandOptions extends AuditQuery {
  path: string;
  json: boolean;
  follow: boolean;
  color: boolean;
}

export function formatAuditRecord(r: AuditRecord, color: boolean): string {
  const verdict = r.decision === 'deny' ? 'DENY ' : 'allow';
  const paint = color ? (r.decision === 'deny' ? '\u001b[31m' : '\u001b[32m') : '';
  const reset = color ? '\u001b[0m' : '';
  const what = r.event ? `${r.event}${eventDetail(r.detail)}` : `${r.op} ${r.resource}`;
  const extra = r.error ? `  (failed: ${r.error})` : '';
  return `${r.time}  ${paint}${verdict}${reset}  ${r.plugin.padEnd(16)} ${what}  [${r.rule}]${extra}`;
}

/**
 * A host event's detail as `key=value` pairs (a signature's status and why,
 * the sandbox layers, a refused connection's reason), control characters
 * escaped: some values quote what a plugin or its files said.
 */
function eventDetail(detail: Record<string, unknown> | undefined): string {
  const pairs = Object.entries(detail ?? {}).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (pairs.length === 0) return '';
  const text = terminalSafe(pairs.join(' ').replace(/[\n\t]/g, ' '));
  return ` ${text.length > 300 ? `${text.slice(0, 297)}...` : text}`;
}

export async function auditCommand(options: AuditCommandOptions, write: (line: string) => void, signal?: AbortSignal, warn: (line: string) => void = write): Promise<number> {
  if (!existsSync(options.path) && !options.follow) {
    write(`no audit log at ${options.path} yet`);
    return 0;
  }
  const show = (r: AuditRecord) => write(options.json ? JSON.stringify(r) : formatAuditRecord(r, options.color));
  const query: AuditQuery = { ...(options.plugin ? { plugin: options.plugin } : {}), ...(options.denied ? { denied: true } : {}) };
  const records = readAudit(options.path, query);
  for (const r of records) show(r);
  if (!options.follow && records.length === 0 && options.plugin !== undefined) {
    // A plugin the log never mentions is most likely a misspelt name: say which ones it has.
    const plugins = [...new Set(readAudit(options.path).map((r) => r.plugin))].sort();
    if (!plugins.includes(options.plugin)) {
      warn(`no audit records of plugin ${JSON.stringify(options.plugin)} in ${options.path}; it has records of ${plugins.join(', ') || 'no plugin'}`);
      return 2;
    }
  }
  if (!options.follow) return 0;
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort());
  followAudit(options.path, query, show, controller.signal);
  await new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve()));
  return 0;
}
