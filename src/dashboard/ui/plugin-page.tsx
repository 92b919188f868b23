/** One plugin: what it is and how it runs, and its commands as forms checked by its manifest, run with their output streamed. */
import { useState } from 'preact/hooks';
import { api, runCommand, type Command, type CommandArg } from './api.js';
import { Actions, sandboxText } from './plugins-page.js';
import { useLive } from './use-live.js';
import { WidgetFrame } from './widgets.js';

/** What the manifest says the value must be; the server checks again. */
function argProblem(arg: CommandArg, value: string): string | undefined {
  if (value === '') return arg.required ? 'required' : undefined;
  if (arg.pattern !== undefined && !new RegExp(arg.pattern, 'u').test(value)) return `must match ${arg.pattern}`;
  if (arg.type === 'int' && !/^[+-]?\d+$/.test(value.trim())) return 'must be a whole number';
  if (arg.type === 'number' && !Number.isFinite(Number(value))) return 'must be a number';
  if (arg.type === 'bool' && !/^(true|false|yes|no|on|off|1|0)$/i.test(value.trim())) return 'must be true or false';
  if (arg.type === 'json') {
    try {
      JSON.parse(value);
    } catch {
      return 'must be JSON';
    }
  }
  return undefined;
}

function CommandForm({ plugin, command }: { plugin: string; command: Command }) {
  const [values, setValues] = useState<Record<string, string>>(Object.fromEntries(command.args.map((a) => [a.name, a.default ?? ''])));
  const [output, setOutput] = useState('');
  const [outcome, setOutcome] = useState<{ text: string; failed: boolean } | undefined>(undefined);
  const [running, setRunning] = useState(false);
  const problems = Object.fromEntries(command.args.map((a) => [a.name, argProblem(a, values[a.name] ?? '')]));
  const invalid = Object.values(problems).some((p) => p !== undefined);
  const run = (e: Event) => {
    e.preventDefault();
    setOutput('');
    setOutcome(undefined);
    setRunning(true);
    const args = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
    runCommand(plugin, command.name, args, (event) => {
      if (typeof event.output === 'string') setOutput((o) => o + event.output);
      else if (event.progress) setOutput((o) => `${o}[${JSON.stringify(event.progress)}]\n`);
      else if (event.result) {
        const result = event.result as { exitCode: number; value?: unknown };
        setOutcome({ text: `exit code ${result.exitCode}${result.value !== undefined && result.value !== null ? `, value ${JSON.stringify(result.value)}` : ''}`, failed: result.exitCode !== 0 });
      } else if (typeof event.error === 'string') setOutcome({ text: event.error, failed: true });
    })
      .catch((err: unknown) => setOutcome({ text: (err as Error).message, failed: true }))
      .finally(() => setRunning(false));
  };
  return (
    <form class="command" data-command={command.name} onSubmit={run}>
      <h3>
        {command.name} <span class="muted">{command.help}</span>
      </h3>
      {command.usage && <p class="muted">usage: {command.usage}</p>}
      {command.args.map((arg) => (
        <label>
          {arg.name}
          {arg.required ? ' *' : ''} <span class="muted">{arg.type}</span>
          <input name={arg.name} value={values[arg.name]} placeholder={arg.help ?? ''} onInput={(e) => setValues({ ...values, [arg.name]: (e.target as HTMLInputElement).value })} />
          {problems[arg.name] && <span class="error">{problems[arg.name]}</span>}
        </label>
      ))}
      <button disabled={running || invalid}>{running ? 'Running…' : 'Run'}</button>
      {(output || outcome) && (
        <div class="run">
          <pre class="output">{output}</pre>
          {outcome && <p class={outcome.failed ? 'outcome error' : 'outcome ok'}>{outcome.text}</p>}
        </div>
      )}
    </form>
  );
}

export function PluginPage({ name }: { name: string }) {
  const { data: p, error, reload } = useLive(() => api.plugin(name), ['state', 'reload'], [name]);
  if (error) return <p class="error">{error}</p>;
  if (!p) return <p class="muted">Loading…</p>;
  return (
    <section>
      <h1>
        {p.name} <span class={`status ${p.status}`}>{p.status}</span> <Actions plugin={p} onDone={reload} />
      </h1>
      {p.description && <p>{p.description}</p>}
      <dl>
        <dt>Version</dt>
        <dd>{p.version ?? '-'}</dd>
        <dt>Language</dt>
        <dd>{p.language ?? p.runtime ?? '-'}</dd>
        <dt>Manifest</dt>
        <dd>{p.file}</dd>
        <dt>PID</dt>
        <dd>{p.pid ?? '-'}</dd>
        <dt>Restarts / reloads</dt>
        <dd>
          {p.restarts} / {p.reloads ?? 0}
        </dd>
        <dt>Sandbox</dt>
        <dd>{sandboxText(p)}</dd>
        <dt>Signature</dt>
        <dd>{p.signature ? `${p.signature.status}: ${p.signature.detail}` : '-'}</dd>
        <dt>Capabilities</dt>
        <dd>{(p.effective ?? p.capabilities).join(', ') || '(none)'}</dd>
      </dl>
      {p.reloadError && <p class="error">Last reload failed: {p.reloadError}</p>}
      {p.lastError && <p class="error">{p.lastError}</p>}
      {p.lastStderr && p.lastStderr.length > 0 && <pre class="output">{p.lastStderr.join('\n')}</pre>}
      {p.widgets.length > 0 && (
        <div class="widgets">
          {p.widgets.map((w) => (
            <WidgetFrame plugin={p.name} widget={w} />
          ))}
        </div>
      )}
      {p.routes.length > 0 && (
        <>
          <h2>Routes</h2>
          <ul class="routes">
            {p.routes.map((r) => (
              <li>
                <code>{r.method}</code> {r.method === 'GET' && !r.path.includes(':') && !r.path.includes('*') ? <a href={`/plugins/${encodeURIComponent(p.name)}${r.path}`}>{r.path}</a> : <code>{r.path}</code>} {r.description && <span class="muted">{r.description}</span>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h2>Commands</h2>
      {p.commands.length === 0 ? <p class="muted">This plugin declares no commands.</p> : p.commands.map((c) => <CommandForm plugin={p.name} command={c} />)}
    </section>
  );
}
