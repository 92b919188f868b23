/** What each plugin may do: its manifest's capabilities as the policy leaves them, revoked or granted here at run time. */
import { useState } from 'preact/hooks';
import { api, type Plugin } from './api.js';
import { useLive } from './use-live.js';

function PluginCapabilities({ plugin, onChange }: { plugin: Plugin; onChange: () => void }) {
  const [adding, setAdding] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const change = (action: 'grant' | 'revoke', capability: string) =>
    api.capability(plugin.name, action, capability).then(
      () => {
        setError(undefined);
        if (action === 'grant') setAdding('');
        onChange();
      },
      (e: unknown) => setError((e as Error).message),
    );
  const effective = plugin.effective;
  return (
    <div class="capabilities" data-plugin={plugin.name}>
      <h2>{plugin.name}</h2>
      {effective === undefined ? (
        <p class="muted">Declared: {plugin.capabilities.join(', ') || '(none)'}. Start it to grant or revoke.</p>
      ) : (
        <>
          <ul>
            {effective.length === 0 && <li class="muted">(none)</li>}
            {effective.map((c) => (
              <li data-capability={c}>
                <code>{c}</code> <button onClick={() => void change('revoke', c)}>Revoke</button>
              </li>
            ))}
          </ul>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void change('grant', adding);
            }}
          >
            <input name="capability" placeholder="kind:resource, e.g. fs.read:docs/**" value={adding} onInput={(e) => setAdding((e.target as HTMLInputElement).value)} />
            <button disabled={adding.trim() === ''}>Grant</button>
          </form>
        </>
      )}
      {error && <p class="error">{error}</p>}
    </div>
  );
}

export function CapabilitiesPage() {
  const { data: plugins, error, reload } = useLive(api.plugins, ['policy', 'state']);
  return (
    <section>
      <h1>Capabilities</h1>
      {error && <p class="error">{error}</p>}
      {(plugins ?? []).filter((p) => p.status !== 'invalid').map((p) => (
        <PluginCapabilities plugin={p} onChange={reload} />
      ))}
    </section>
  );
}
