/** The audit log, live: every decision as it is made, filtered by plugin, decision and text. */
import { useEffect, useState } from 'preact/hooks';
import { api, subscribe, type AuditRecord } from './api.js';

const KEEP = 1_000;

export function AuditPage() {
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [plugin, setPlugin] = useState('');
  const [decision, setDecision] = useState('');
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api.audit({ limit: 500 }).then(
      (r) => setRecords(r.reverse()),
      (e: unknown) => setError((e as Error).message),
    );
    return subscribe((type, data) => {
      if (type === 'audit') setRecords((r) => [data as AuditRecord, ...r].slice(0, KEEP));
    });
  }, []);
  const shown = records.filter(
    (r) => (!plugin || r.plugin === plugin) && (!decision || r.decision === decision) && (!text || `${r.op} ${r.capability} ${r.resource} ${r.rule} ${r.event ?? ''}`.includes(text)),
  );
  const plugins = [...new Set(records.map((r) => r.plugin))].sort();
  return (
    <section>
      <h1>Audit log</h1>
      {error && <p class="error">{error}</p>}
      <div class="filters">
        <select name="plugin" value={plugin} onChange={(e) => setPlugin((e.target as HTMLSelectElement).value)}>
          <option value="">every plugin</option>
          {plugins.map((p) => (
            <option value={p}>{p}</option>
          ))}
        </select>
        <select name="decision" value={decision} onChange={(e) => setDecision((e.target as HTMLSelectElement).value)}>
          <option value="">allowed and denied</option>
          <option value="allow">allowed</option>
          <option value="deny">denied</option>
        </select>
        <input name="text" placeholder="operation, resource, rule…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <span class="muted">
          {shown.length} of {records.length}
        </span>
      </div>
      <table class="audit">
        <thead>
          <tr>
            <th>Time</th>
            <th>Plugin</th>
            <th>Operation</th>
            <th>Capability</th>
            <th>Resource</th>
            <th>Decision</th>
            <th>Rule</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr class={r.decision}>
              <td>{r.time.slice(11, 23)}</td>
              <td>{r.plugin}</td>
              <td>{r.event ?? r.op}</td>
              <td>{r.capability}</td>
              <td>{r.resource}</td>
              <td class="decision">{r.decision}</td>
              <td>
                {r.rule}
                {r.error ? ` (${r.error})` : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
