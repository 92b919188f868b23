/** Calls per plugin and operation, both ways, with errors, refusals and latency; refreshed every two seconds. */
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { useLive } from './use-live.js';

const ms = (v: number) => (v < 1 ? `${(v * 1000).toFixed(0)} µs` : `${v.toFixed(1)} ms`);

export function CallsPage() {
  const { data: calls, error, reload } = useLive(api.calls, []);
  useEffect(() => {
    const timer = setInterval(reload, 2_000);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <section>
      <h1>Calls</h1>
      {error && <p class="error">{error}</p>}
      <table class="calls">
        <thead>
          <tr>
            <th>Plugin</th>
            <th>Direction</th>
            <th>Operation</th>
            <th>Calls</th>
            <th>Errors</th>
            <th>Denied</th>
            <th>p50</th>
            <th>p95</th>
            <th>Max</th>
          </tr>
        </thead>
        <tbody>
          {(calls ?? []).map((c) => (
            <tr>
              <td>{c.plugin}</td>
              <td>{c.direction}</td>
              <td>{c.operation}</td>
              <td>{c.calls}</td>
              <td class={c.errors ? 'error' : ''} title={c.lastError ?? ''}>
                {c.errors}
              </td>
              <td class={c.denied ? 'error' : ''}>{c.denied}</td>
              <td>{ms(c.p50Ms)}</td>
              <td>{ms(c.p95Ms)}</td>
              <td>{ms(c.maxMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {calls && calls.length === 0 && <p class="muted">No calls yet.</p>}
    </section>
  );
}
