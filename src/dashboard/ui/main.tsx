/**
 * The dashboard's front-end: Preact, one page per concern, chosen by the
 * address's #fragment. Every text from a plugin is rendered as text
 * (Preact escapes it); nothing here inserts HTML.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { AuditPage } from './audit-page.js';
import { CallsPage } from './calls-page.js';
import { CapabilitiesPage } from './capabilities-page.js';
import { PluginPage } from './plugin-page.js';
import { PluginsPage } from './plugins-page.js';
import { WidgetsPage } from './widgets.js';

const PAGES = [
  ['#/plugins', 'Plugins'],
  ['#/audit', 'Audit log'],
  ['#/capabilities', 'Capabilities'],
  ['#/calls', 'Calls'],
  ['#/widgets', 'Widgets'],
] as const;

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/plugins');
  useEffect(() => {
    const onChange = () => setHash(location.hash || '#/plugins');
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function App() {
  const hash = useHash();
  const plugin = /^#\/plugins\/([^/]+)$/.exec(hash);
  const page = plugin ? (
    <PluginPage name={decodeURIComponent(plugin[1] as string)} />
  ) : hash.startsWith('#/audit') ? (
    <AuditPage />
  ) : hash.startsWith('#/capabilities') ? (
    <CapabilitiesPage />
  ) : hash.startsWith('#/calls') ? (
    <CallsPage />
  ) : hash.startsWith('#/widgets') ? (
    <WidgetsPage />
  ) : (
    <PluginsPage />
  );
  return (
    <>
      <header>
        <strong>hst</strong>
        <nav>
          {PAGES.map(([href, title]) => (
            <a href={href} class={hash.startsWith(href) ? 'current' : ''}>
              {title}
            </a>
          ))}
        </nav>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
