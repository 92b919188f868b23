/**
 * One plugin: what it is and how it runs, and its commands from the
 * manifest. Enter opens a command's form (or runs a command that takes no
 * arguments); x kills the plugin to watch the manager restart it; s starts
 * it again once it has failed or stopped.
 */
import { Box, Text } from 'ink';
import type { ManifestCommand } from '../../security/manifest.js';
import { isBack, isChar } from './keys.js';
import { useKeys } from './key-router.js';
import { languageName, pluginTitle } from './plugin-title.js';
import { runnable, StatusBadge } from './plugin-status.js';
import type { ScreenProps } from './screen.js';
import { SelectList, useListCursor } from './select-list.js';

const HEADER_ROWS = 4;

export function PluginScreen({ plugin: name, controller, state, nav, width, height, active }: ScreenProps & { plugin: string }) {
  const plugin = state.plugins.find((p) => p.name === name);
  const commands = plugin?.commands ?? [];
  const listHeight = Math.max(1, height - HEADER_ROWS);
  const cursor = useListCursor(commands.length, listHeight);
  const nameWidth = Math.max(0, ...commands.map((c) => c.name.length));

  useKeys((key) => {
    if (cursor.handleKey(key)) return true;
    if (isBack(key)) nav.back();
    else if (key.name === 'enter') {
      const command = commands[cursor.current()];
      if (!plugin || !command || !runnable(plugin)) return true;
      nav.open(command.args.length === 0 ? { kind: 'run', plugin: name, command: command.name, args: {} } : { kind: 'form', plugin: name, command: command.name });
    } else if (isChar(key, 'x') && plugin?.status === 'running') controller.kill(name);
    else if (isChar(key, 's') && plugin && (plugin.status === 'failed' || plugin.status === 'stopped')) void controller.start(name);
    else return false;
    return true;
  }, active);

  if (!plugin) return <Text color="red">{`no plugin ${name} any more`}</Text>;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold>{pluginTitle(plugin.name, plugin.language)}</Text>
        {`  ${plugin.name} ${plugin.version ?? ''} · ${plugin.language ? languageName(plugin.language) : (plugin.runtime ?? '')} · `}
        <StatusBadge status={plugin.status} />
        {plugin.pid !== undefined ? ` · pid ${plugin.pid}` : ''}
        {plugin.restarts > 0 ? ` · ${plugin.restarts} restart${plugin.restarts === 1 ? '' : 's'}` : ''}
        {plugin.sandboxMode === 'off' ? ' · sandbox: OFF (operator)' : plugin.sandbox ? ` · sandbox: ${plugin.sandbox.layers.join(', ') || 'none'}` : ''}
        {plugin.signature ? ` · signature: ${plugin.signature.status}` : ''}
      </Text>
      <Text wrap="truncate-end" color={plugin.status === 'failed' ? 'red' : undefined}>
        {plugin.status === 'failed' ? `failed: ${plugin.lastError ?? ''} (s starts it again)` : (plugin.description ?? '')}
      </Text>
      <Text dimColor wrap="truncate-end">{`capabilities: ${plugin.capabilities.join('  ') || 'none'}`}</Text>
      <Text dimColor wrap="truncate-end">
        {`${commands.length} command${commands.length === 1 ? '' : 's'} · Enter runs · x kills it (the manager restarts it) · Esc back`}
      </Text>
      <SelectList
        items={commands.map((c) => ({ key: c.name, label: <CommandRow command={c} nameWidth={nameWidth} /> }))}
        cursor={cursor.cursor}
        width={width}
        height={listHeight}
      />
    </Box>
  );
}

function CommandRow({ command, nameWidth }: { command: ManifestCommand; nameWidth: number }) {
  const args = command.args.map((a) => `${a.name}${a.required ? '*' : ''}`).join(' ');
  return (
    <>
      <Text bold>{command.name.padEnd(nameWidth + 2)}</Text>
      {command.help}
      {args ? <Text dimColor>{`  [${args}]`}</Text> : null}
    </>
  );
}
