/**
 * Capabilities: pick a plugin, then see what its manifest declares and what
 * the policy has in effect now. r revokes the selected capability, a allows
 * it again, + grants one typed in; t runs one of the plugin's commands right
 * there (c picks which) to show the policy's answer on the very next call:
 * allowed, or PERMISSION_DENIED.
 */
import { useRef, useState } from 'react';
import { Box, Text } from 'ink';
import { failureText, summarize, type CommandOutcome } from '../command-outcome.js';
import { errorMessage } from '../output.js';
import { isBack, isChar } from './keys.js';
import { useKeys } from './key-router.js';
import { pluginTitle } from './plugin-title.js';
import { StatusBadge } from './plugin-status.js';
import type { ScreenProps } from './screen.js';
import { SelectList, useListCursor } from './select-list.js';
import { TextField, useTextInput } from './text-input.js';
import { useLiveState } from './use-live-state.js';

/** The plugins whose capabilities the policy knows: those started at least once. */
export function CapabilitiesPicker({ state, nav, width, height, active }: ScreenProps) {
  const plugins = state.plugins;
  const cursor = useListCursor(plugins.length, height - 2);
  const known = (i: number) => plugins[i] !== undefined && (plugins[i].status === 'running' || plugins[i].status === 'restarting' || plugins[i].status === 'failed' || plugins[i].status === 'stopped');
  useKeys((key) => {
    if (cursor.handleKey(key)) return true;
    if (isBack(key)) nav.back();
    else if (key.name === 'enter') {
      const plugin = plugins[cursor.current()];
      if (plugin && known(cursor.current())) nav.open({ kind: 'grants', plugin: plugin.name });
    } else return false;
    return true;
  }, active);
  const titleWidth = Math.max(0, ...plugins.map((p) => pluginTitle(p.name, p.language).length));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text dimColor wrap="truncate-end">Whose capabilities? Enter opens them · Esc back</Text>
      <SelectList
        items={plugins.map((p, i) => ({
          key: `${p.name}:${p.file}`,
          disabled: !known(i),
          label: (
            <>
              {pluginTitle(p.name, p.language).padEnd(titleWidth + 2)}
              <StatusBadge status={p.status} pad />
              <Text dimColor>{`${p.capabilities.length} declared`}</Text>
            </>
          ),
        }))}
        cursor={cursor.cursor}
        width={width}
        height={Math.max(1, height - 1)}
      />
    </Box>
  );
}

type Tried = { command: string; outcome?: CommandOutcome };

export function GrantsView({ plugin, controller, nav, width, height, active }: ScreenProps & { plugin: string }) {
  // The policy is not React state: a change re-renders to read it again.
  const [, setVersion] = useState(0);
  const [message, setMessage] = useState<{ text: string; error: boolean } | undefined>();
  const [typing, isTyping, setTyping] = useLiveState(false);
  const [tried, setTried] = useState<Tried | undefined>();
  const [tryIndex, getTryIndex, setTryIndex] = useLiveState(0);
  const typed = useTextInput();
  /** Only the latest try is shown, whichever ends first. */
  const latestTry = useRef(0);
  const rows = controller.capabilities(plugin);
  const listHeight = Math.max(1, Math.min(rows.length, height - 6));
  const cursor = useListCursor(rows.length, listHeight);
  /** The command t runs: one that uses the selected capability first; c moves on to the next. */
  const commandsFor = (row: number) => controller.tryableCommands(plugin, rows[row]?.capability);
  const tryCommandFor = (row: number, index: number) => {
    const commands = commandsFor(row);
    return commands[index % Math.max(1, commands.length)];
  };
  const commands = commandsFor(cursor.cursor);
  const tryCommand = tryCommandFor(cursor.cursor, tryIndex);

  const changed = (text: string) => {
    setMessage({ text, error: false });
    setVersion((v) => v + 1);
  };
  const attempt = (what: () => void, done: string) => {
    try {
      what();
      changed(done);
    } catch (err) {
      setMessage({ text: errorMessage(err), error: true });
    }
  };
  const runTry = (command: string | undefined) => {
    if (!command) return setMessage({ text: 'no command of this plugin runs without arguments', error: true });
    const id = ++latestTry.current;
    setTried({ command });
    void controller.runCommand(plugin, command, controller.sampleArgs(plugin, command), () => undefined).then((outcome) => id === latestTry.current && setTried({ command, outcome }));
  };

  useKeys((key) => {
    if (isTyping()) {
      if (key.name === 'escape') setTyping(false);
      else if (key.name === 'enter') {
        const capability = typed.current().trim();
        setTyping(false);
        if (capability) attempt(() => controller.grant(plugin, capability), `granted ${capability}: it takes effect on ${plugin}'s next call`);
      } else if (!typed.handleKey(key)) return false;
      return true;
    }
    if (cursor.handleKey(key)) return true;
    const row = rows[cursor.current()];
    if (isBack(key)) nav.back();
    else if (isChar(key, 'r') && row) attempt(() => controller.revoke(plugin, row.capability), `revoked ${row.capability}: ${plugin}'s next call that needs it is refused`);
    else if (isChar(key, 'a') && row) attempt(() => controller.grant(plugin, row.capability), `allowed ${row.capability} again`);
    else if (isChar(key, '+')) {
      typed.set('');
      setTyping(true);
    } else if (isChar(key, 't')) runTry(tryCommandFor(cursor.current(), getTryIndex()));
    else if (isChar(key, 'c')) setTryIndex((i) => i + 1);
    else return false;
    return true;
  }, active);

  const width1 = Math.max(12, ...rows.map((r) => r.capability.length)) + 2;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold>{plugin}</Text>
        {`: ${rows.filter((r) => r.declared).length} declared in plugin.yaml, ${rows.filter((r) => r.effective).length} in effect`}
      </Text>
      <SelectList
        items={rows.map((r) => ({
          key: r.capability,
          label: (
            <>
              {r.effective ? <Text color="green">✔ </Text> : <Text color="red">✖ </Text>}
              {r.capability.padEnd(width1)}
              <Text dimColor>{r.declared ? 'declared' : 'granted at run time'}</Text>
              {' · '}
              {r.effective ? <Text color="green">in effect</Text> : <Text color="red">revoked</Text>}
            </>
          ),
        }))}
        cursor={cursor.cursor}
        width={width}
        height={listHeight}
      />
      <Box height={1} width={width} overflow="hidden">
        {typing ? (
          <>
            <Text color="cyan">grant: </Text>
            <TextField input={typed} width={Math.max(10, width - 8)} focused={active} />
          </>
        ) : message ? (
          <Text color={message.error ? 'red' : 'green'} wrap="truncate-end">
            {message.text}
          </Text>
        ) : (
          <Text dimColor> </Text>
        )}
      </Box>
      <Text wrap="truncate-end">
        <Text dimColor>{'next call: '}</Text>
        {tryCommand ? <Text bold>{`${plugin} ${tryCommand}`}</Text> : <Text dimColor>no command runs without arguments</Text>}
        <Text dimColor>{commands.length > 1 ? `  (c: ${commands.length - 1} more)` : ''}</Text>
      </Text>
      <Box height={2} width={width} overflow="hidden">
        <TriedText tried={tried} />
      </Box>
      <Text dimColor wrap="truncate-end">
        {typing ? 'type a capability, e.g. net:127.0.0.1:8080 or fs.write:** · Enter grants · Esc cancels' : 'r revoke · a allow again · + grant another · t try the next call · c another command · Esc back'}
      </Text>
    </Box>
  );
}

function TriedText({ tried }: { tried: Tried | undefined }) {
  if (!tried) return <Text dimColor>t runs the command above and shows whether the policy allows it</Text>;
  if (!tried.outcome) return <Text color="cyan">{`${tried.command}: running...`}</Text>;
  const { outcome } = tried;
  if (outcome.ok) return <Text color="green" wrap="truncate-end">{`${tried.command}: allowed · ${summarize(outcome.value)}`}</Text>;
  const text = failureText(outcome).replace(/\s+/g, ' ');
  return (
    <Text color="red" wrap="wrap">
      {`${tried.command}: ${text.includes('PERMISSION_DENIED') ? '' : 'failed: '}${text}`}
    </Text>
  );
}
