/**
 * The main menu: one row per plugin found (its title, language and live
 * state; the reason when it cannot run), then the actions. Below the list,
 * more about the selected row.
 */
import { Box, Text } from 'ink';
import type { PluginInfo } from '../../manager/plugin-info.js';
import { isChar } from './keys.js';
import { useKeys } from './key-router.js';
import { languageName, pluginTitle } from './plugin-title.js';
import { runnable, StatusBadge } from './plugin-status.js';
import type { Screen, ScreenProps } from './screen.js';
import { SelectList, useListCursor, type SelectItem } from './select-list.js';

interface Action {
  key: string;
  title: string;
  about: string;
  screen?: Screen;
}

const ACTIONS: Action[] = [
  { key: 'concurrency', title: 'Run Concurrency Demo', about: 'Every running plugin calls the shared host services at once; watch the calls interleave, then calls, errors, p50/p99 latency and wall time.', screen: { kind: 'concurrency' } },
  { key: 'audit', title: 'Audit Log', about: 'Every allowed and denied host call as it happens; filter by plugin or to denials.', screen: { kind: 'audit' } },
  { key: 'capabilities', title: 'Capabilities', about: "What each plugin declares and what is in effect: revoke, grant, and try a call to see the policy's answer.", screen: { kind: 'capabilities' } },
  { key: 'reset', title: 'Reset State', about: 'Stop every plugin, clear temp files, the workspace and the KV data, seed the workspace again and restart them.', screen: { kind: 'reset' } },
  { key: 'shutdown', title: 'Shutdown', about: 'Stop every plugin gracefully and exit (also q, Ctrl-C).' },
];

/** The detail area below the list. */
const DETAIL_ROWS = 5;

export function MainMenu({ state, nav, width, height, active }: ScreenProps) {
  const plugins = state.plugins;
  const titleWidth = Math.max(0, ...plugins.map((p) => pluginTitle(p.name, p.language).length));
  const items: SelectItem[] = [
    ...plugins.map((p, i) => ({ key: `plugin:${p.name}:${p.file}`, label: <PluginRow plugin={p} titleWidth={titleWidth} />, disabled: !runnable(p), ...(i === 0 ? { heading: 'Plugins' } : {}) })),
    ...ACTIONS.map((a, i) => ({ key: a.key, label: a.title, ...(i === 0 ? { heading: plugins.length > 0 ? 'Actions' : 'No plugins found. Actions' } : {}) })),
  ];
  const wanted = items.length + 2;
  // On a short terminal the list keeps its rows and the detail area goes first.
  const listHeight = Math.max(1, height - DETAIL_ROWS - 1 >= 4 ? Math.min(wanted, height - DETAIL_ROWS - 1) : Math.min(wanted, height));
  const cursor = useListCursor(items.length, listHeight);
  const selectedPlugin = (i: number): PluginInfo | undefined => plugins[i];
  const selectedAction = (i: number): Action | undefined => ACTIONS[i - plugins.length];

  useKeys((key) => {
    if (cursor.handleKey(key)) return true;
    if (key.name === 'enter') {
      const i = cursor.current();
      const plugin = selectedPlugin(i);
      const action = selectedAction(i);
      if (plugin && runnable(plugin)) nav.open({ kind: 'plugin', plugin: plugin.name });
      else if (action?.screen) nav.open(action.screen);
      else if (action) nav.quit();
      return true;
    }
    if (isChar(key, 'q')) {
      nav.quit();
      return true;
    }
    return false;
  }, active);

  const plugin = selectedPlugin(cursor.cursor);
  const action = selectedAction(cursor.cursor);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <SelectList items={items} cursor={cursor.cursor} width={width} height={listHeight} />
      {height - listHeight > 1 ? (
        <Box marginTop={1} flexDirection="column" width={width} height={Math.min(DETAIL_ROWS, height - listHeight - 1)} overflow="hidden">
          {plugin ? <PluginDetail plugin={plugin} /> : <Text wrap="wrap">{action?.about ?? ''}</Text>}
        </Box>
      ) : null}
    </Box>
  );
}

function PluginRow({ plugin: p, titleWidth }: { plugin: PluginInfo; titleWidth: number }) {
  const note = !runnable(p) || p.status === 'failed' ? (p.lastError ?? '').split('\n')[0] : p.pid !== undefined ? `pid ${p.pid}` : '';
  return (
    <>
      {pluginTitle(p.name, p.language).padEnd(titleWidth + 2)}
      <Text dimColor>{(p.language ? languageName(p.language) : (p.runtime ?? '')).padEnd(12)}</Text>
      <StatusBadge status={p.status} pad />
      <Text dimColor>{note}</Text>
      {p.restarts > 0 ? <Text color="yellow">{`  ${p.restarts} restart${p.restarts === 1 ? '' : 's'}`}</Text> : null}
    </>
  );
}

function PluginDetail({ plugin: p }: { plugin: PluginInfo }) {
  const reason = !runnable(p) || p.status === 'failed' ? p.lastError : undefined;
  return (
    <>
      <Text wrap="truncate-end">
        <Text bold>{p.name}</Text>
        {` ${p.version ?? ''}  ${p.commands.length} command${p.commands.length === 1 ? '' : 's'}: ${p.commands.map((c) => c.name).join(', ') || 'none'}`}
      </Text>
      {reason ? (
        <Text color={p.status === 'unavailable' ? 'yellow' : 'red'} wrap="wrap">{`${p.status === 'unavailable' ? 'cannot run here' : p.status}: ${reason}`}</Text>
      ) : (
        <Text wrap="wrap">{p.description ?? ''}</Text>
      )}
      {p.status === 'failed' && p.lastStderr?.length ? <Text dimColor wrap="truncate-end">{`stderr: ${p.lastStderr.at(-1)}`}</Text> : null}
    </>
  );
}
