/** The dashboard's server, as the pages see it: JSON calls and one live event stream. */

import type { CallStat } from '../call-stats.js';
import type { PluginInfo, ReloadEvent } from '../../manager/plugin-info.js';
import type { AuditRecord } from '../../security/audit.js';
import type { ManifestCommand, ManifestCommandArg, ManifestWidget } from '../../security/manifest.js';

export type { AuditRecord, CallStat, ReloadEvent };
export type Command = ManifestCommand;
export type CommandArg = ManifestCommandArg;
export type Widget = ManifestWidget;

/** What the server says about a plugin: its info and, once it has run, its effective capabilities. */
export type Plugin = PluginInfo & { effective?: string[] };

export class ApiError extends Error {}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { ...(method === 'GET' ? {} : { 'x-hst-dashboard': '1' }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const data = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ApiError(data.error ?? `${method} ${path}: HTTP ${res.status}`);
  return data;
}

export const api = {
  plugins: () => request<Plugin[]>('GET', '/api/plugins'),
  plugin: (name: string) => request<Plugin>('GET', `/api/plugins/${encodeURIComponent(name)}`),
  act: (name: string, action: 'start' | 'stop' | 'reload') => request<unknown>('POST', `/api/plugins/${encodeURIComponent(name)}/${action}`),
  capability: (name: string, action: 'grant' | 'revoke', capability: string) => request<{ effective: string[] }>('POST', `/api/plugins/${encodeURIComponent(name)}/capabilities`, { action, capability }),
  audit: (query: { plugin?: string; decision?: string; limit?: number }) =>
    request<AuditRecord[]>('GET', `/api/audit?${new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, String(v)]))}`),
  calls: () => request<CallStat[]>('GET', '/api/calls'),
  widgets: () => request<Array<Widget & { plugin: string; src: string }>>('GET', '/api/widgets'),
};

/** One command run: each event (output, progress, result, error) as the server sends it. */
export async function runCommand(plugin: string, command: string, args: Record<string, string>, onEvent: (event: Record<string, unknown>) => void): Promise<void> {
  const res = await fetch(`/api/plugins/${encodeURIComponent(plugin)}/commands/${encodeURIComponent(command)}`, {
    method: 'POST',
    headers: { 'x-hst-dashboard': '1', 'content-type': 'application/json' },
    body: JSON.stringify({ args }),
  });
  if (!res.ok || !res.body) {
    const data = (await res.json().catch(() => ({}))) as { error?: string };
    throw new ApiError(data.error ?? `HTTP ${res.status}`);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += value;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onEvent(JSON.parse(line) as Record<string, unknown>);
  }
}

type Listener = (type: string, data: unknown) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;

/** The server's live events (state, reload, audit, policy), on one connection however many pages listen. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  if (!source) {
    source = new EventSource('/api/events');
    for (const type of ['state', 'reload', 'audit', 'policy', 'hello']) {
      source.addEventListener(type, (e) => {
        const data = JSON.parse((e as MessageEvent<string>).data) as unknown;
        for (const l of listeners) l(type, data);
      });
    }
  }
  return () => listeners.delete(listener);
}
