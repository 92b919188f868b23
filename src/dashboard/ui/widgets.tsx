/**
 * Plugins' widgets: each in a frame with an empty `sandbox` (no scripts, an
 * origin of its own), and served with a CSP `sandbox` too, so a plugin's
 * markup can show things but never act on this page.
 */
import { api, type Widget } from './api.js';
import { useLive } from './use-live.js';

export function WidgetFrame({ plugin, widget }: { plugin: string; widget: Widget }) {
  return (
    <figure class={`widget ${widget.size}`} data-widget={`${plugin}/${widget.id}`}>
      <figcaption>
        {widget.title} <span class="muted">{plugin}</span>
      </figcaption>
      <iframe sandbox="" referrerpolicy="no-referrer" title={`${plugin}: ${widget.title}`} src={`/plugins/${encodeURIComponent(plugin)}/widgets/${encodeURIComponent(widget.id)}`} />
    </figure>
  );
}

export function WidgetsPage() {
  const { data: widgets, error } = useLive(api.widgets, ['reload']);
  const shown = (widgets ?? []).filter((w) => w.location === 'dashboard');
  return (
    <section>
      <h1>Widgets</h1>
      {error && <p class="error">{error}</p>}
      {widgets && shown.length === 0 && <p class="muted">No plugin offers a widget for the dashboard.</p>}
      <div class="widgets">
        {shown.map((w) => (
          <WidgetFrame plugin={w.plugin} widget={w} />
        ))}
      </div>
    </section>
  );
}
