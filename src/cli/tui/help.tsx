/** The keys: those of the screen shown, then those that work everywhere. ? or Esc closes it. */
import { Box, Text } from 'ink';
import type { Screen } from './screen.js';

type Keys = Array<[keys: string, what: string]>;

const NAVIGATION: Keys = [
  ['↑ ↓  k j', 'up and down'],
  ['PgUp PgDn  Ctrl-b Ctrl-f', 'a page up and down'],
  ['Ctrl-u Ctrl-d', 'half a page up and down'],
  ['g G  Home End', 'to the top, to the bottom'],
];

const SCREENS: Record<Screen['kind'], { title: string; keys: Keys }> = {
  menu: { title: 'Main menu', keys: [...NAVIGATION, ['Enter', 'open the plugin or action'], ['q', 'shut down and quit']] },
  plugin: { title: 'A plugin', keys: [...NAVIGATION, ['Enter', "run the command (its form first, when it takes arguments)"], ['x', 'kill the plugin (SIGKILL): the manager restarts it'], ['s', 'start it again once it has failed'], ['Esc q Backspace', 'back']] },
  form: { title: "A command's arguments", keys: [['Tab ↓ / Shift-Tab ↑', 'next / previous field'], ['← → Home End', 'move in the field'], ['Backspace Ctrl-w Ctrl-u Ctrl-k', 'delete a character, a word, to the start, to the end'], ['Enter', 'check the arguments and run'], ['Esc', 'back']] },
  run: { title: 'A command running', keys: [...NAVIGATION, ['← → h l  0', 'sideways through long lines, back to the start'], ['r', 'run it again'], ['Esc q Backspace', 'back (a command still running is cancelled)']] },
  concurrency: { title: 'Concurrency demo', keys: [...NAVIGATION, ['r', 'run it again'], ['Esc q Backspace', 'back']] },
  audit: { title: 'Audit log', keys: [...NAVIGATION, ['p', 'next plugin (then all again)'], ['d', 'denials only, on and off'], ['G End', 'follow new records again'], ['Esc q Backspace', 'back']] },
  capabilities: { title: 'Capabilities', keys: [...NAVIGATION, ['Enter', "open the plugin's capabilities"], ['Esc q Backspace', 'back']] },
  grants: { title: "A plugin's capabilities", keys: [...NAVIGATION, ['r', 'revoke the selected capability'], ['a', 'allow it again'], ['+', 'grant a capability typed in'], ['t', 'try: run the command shown, see allowed or PERMISSION_DENIED'], ['c', 'another command to try'], ['Esc q Backspace', 'back']] },
  reset: { title: 'Reset State', keys: [['y Enter', 'reset'], ['Esc q Backspace', 'back']] },
};

const EVERYWHERE: Keys = [
  ['?', 'this help, on and off'],
  ['Ctrl-C', 'shut down and quit, from anywhere'],
];

export function Help({ screen, width, height }: { screen: Screen['kind']; width: number; height: number }) {
  const { title, keys } = SCREENS[screen];
  const all = [...keys, ...EVERYWHERE];
  const keyWidth = Math.max(...all.map(([k]) => k.length)) + 3;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <Text bold>{`Keys: ${title}`}</Text>
      <Text> </Text>
      {keys.map(([k, what]) => (
        <Text key={k} wrap="truncate-end">
          <Text color="cyan">{k.padEnd(keyWidth)}</Text>
          {what}
        </Text>
      ))}
      <Text> </Text>
      <Text bold>Everywhere</Text>
      {EVERYWHERE.map(([k, what]) => (
        <Text key={k} wrap="truncate-end">
          <Text color="cyan">{k.padEnd(keyWidth)}</Text>
          {what}
        </Text>
      ))}
      <Text> </Text>
      <Text dimColor>? or Esc closes this</Text>
    </Box>
  );
}
