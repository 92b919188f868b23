/** Every plugin: state, language, pid, restarts and reloads, sandbox, signature; start, stop, reload; and the reloads as they happen. */
import { useEffect, useState } from 'preact/hooks';
import { sandboxSummary } from '../../manager/plugin-info.js';
import { api, subscribe, type Plugin, type ReloadEvent } from './api.js';
import { useLive } from './use-live.js';

export function sandboxText(p: Plugin): string {
  if (p.sandboxMode === 'off') return 'OFF (operator)';
  if (!p.sandbox) return p.sandboxMode ?? '-';
  return p.sandbox.layers.length > 0 ? p.sandbox.layers.join(', ') : 'none';
}

export function Actions({ plugin, onDone }: { plugin: Plugin; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const act = (action: 'start' | 'stop' | 'reload') => {
    setBusy(true);
    api.act(plugin.name, action).then(
      () => setError(undefined),
      (e: unknown) => setError((e as Error).message),
    ).finally(() => {
      setBusy(false);
      onDone();
    });
  };
  const running = plugin.status === 'running' || plugin.status === 'starting' || plugin.status === 'restarting';
  return (
    <span class="actions">
      {running ? <button disabled={busy} onClick={() => act('stop')}>Stop</button> : <button disabled={busy || plugin.status === 'invalid' || plugin.status === 'unavailable'} onClick={() => act('start')}>Start</button>}
      <button disabled={busy} onClick={() => act('reload')}>Reload</button>
      {error && <span class="error">{error}</span>}
    </span>
  );
}

export function PluginsPage() {
  const { data: plugins, error, reload } = useLive(api.plugins, ['state', 'reload', 'hello']);
  const [reloads, setReloads] = useState<ReloadEvent[]>([]);
  useEffect(
    () =>
      subscribe((type, data) => {
        if (type === 'reload') setReloads((r) => [data as ReloadEvent, ...r].slice(0, 50));
      }),
    [],
  );
  return (
    <section>
      <h1>Plugins</h1>
      {error && <p class="error">{error}</p>}
      <table class="plugins">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Language</th>
            <th>Version</th>
            <th>PID</th>
            <th>Restarts</th>
            <th>Reloads</th>
            <th>Sandbox</th>
            <th>Signature</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(plugins ?? []).map((p) => (
            <tr data-plugin={p.name}>
              <td>
                <a href={`#/plugins/${encodeURIComponent(p.name)}`}>{p.name}</a>
              </td>
              <td class={`status ${p.status}`} title={p.lastError ?? ''}>
                {p.status}
                {p.reloadError && <span class="error" title={p.reloadError}> (reload failed)</span>}
              </td>
              <td>{p.language ?? p.runtime ?? '-'}</td>
              <td>{p.version ?? '-'}</td>
              <td>{p.pid ?? '-'}</td>
              <td>{p.restarts}</td>
              <td>{p.reloads ?? 0}</td>
              <td title={sandboxText(p)}>{sandboxSummary(p)}</td>
              <td title={p.signature?.detail ?? ''}>{p.signature?.status ?? '-'}</td>
              <td>
                <Actions plugin={p} onDone={reload} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Reloads</h2>
      {reloads.length === 0 ? (
        <p class="muted">None since this page opened. Rebuild a plugin and it reloads here.</p>
      ) : (
        <ul class="reloads">
          {reloads.map((r) => (
            <li class={r.step === 'failed' ? 'error' : ''}>
              <strong>{r.name}</strong> {r.step}
              {r.detail ? `: ${r.detail}` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
