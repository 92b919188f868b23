/**
 * A command's arguments, one field each: the manifest's default (or the
 * demo's sample value) filled in, required ones marked, and what the value
 * must look like. Enter checks them with the manager's own validation
 * (command-args.ts) before anything runs; a refusal is shown naming the
 * field, which gets the focus.
 */
import { Box, Text } from 'ink';
import { validateCommandArgs } from '../../manager/command-args.js';
import type { PluginInfo } from '../../manager/plugin-info.js';
import type { ManifestCommandArg } from '../../security/manifest.js';
import { errorMessage } from '../output.js';
import { useKeys } from './key-router.js';
import type { ScreenProps } from './screen.js';
import { editField, field, TextField, type Field } from './text-input.js';
import { useLiveState } from './use-live-state.js';

/** What the patterns the example manifests use mean, in words. */
const PATTERN_MEANINGS: Record<string, string> = {
  '^[0-9]+$': 'a whole number',
  '^[1-9][0-9]*$': 'a whole number from 1',
};

export function argumentHint(arg: ManifestCommandArg): string {
  const shape = arg.pattern === undefined ? '' : (PATTERN_MEANINGS[arg.pattern] ?? `matching ${arg.pattern}`);
  const fallback = arg.default !== undefined ? `default ${JSON.stringify(arg.default)}` : arg.required ? 'required' : 'optional';
  return [arg.help, shape, fallback].filter(Boolean).join(' · ');
}

/** The arguments as typed; an empty field is not given, so its default applies (or it is missing). */
export function formArgs(args: readonly ManifestCommandArg[], values: readonly string[]): Record<string, string> {
  return Object.fromEntries(args.flatMap((a, i) => (values[i] ? [[a.name, values[i] as string]] : [])));
}

/** Why the manager would refuse these arguments, or undefined when it would take them. */
export function checkArgs(plugin: Pick<PluginInfo, 'name' | 'commands'>, command: string, args: Record<string, string>): string | undefined {
  try {
    validateCommandArgs(plugin, command, args);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

interface FormState {
  fields: Field[];
  focus: number;
  error?: string;
}

export function CommandForm({ plugin: name, command: commandName, controller, state, nav, width, height, active }: ScreenProps & { plugin: string; command: string }) {
  const plugin = state.plugins.find((p) => p.name === name);
  const command = plugin?.commands.find((c) => c.name === commandName);
  const args = command?.args ?? [];
  const [form, get, set] = useLiveState<FormState>({
    fields: args.map((a) => field(controller.sampleArgs(name, commandName)[a.name] ?? a.default ?? '')),
    focus: 0,
  });

  useKeys((key) => {
    const s = get();
    const move = (by: number) => set({ ...s, focus: (s.focus + by + args.length) % Math.max(1, args.length) });
    if (key.name === 'escape') nav.back();
    else if (key.name === 'tab' || key.name === 'down') move(1);
    else if (key.name === 'shiftTab' || key.name === 'up') move(-1);
    else if (key.name === 'enter') {
      const given = formArgs(args, s.fields.map((f) => f.value));
      const error = plugin ? checkArgs(plugin, commandName, given) : `no plugin ${name}`;
      if (!error) {
        nav.open({ kind: 'run', plugin: name, command: commandName, args: given });
        return true;
      }
      const named = /argument "([^"]+)"/.exec(error)?.[1];
      const at = args.findIndex((a) => a.name === named);
      set({ ...s, error, focus: at >= 0 ? at : s.focus });
    } else {
      const edited = editField(s.fields[s.focus] ?? field(''), key);
      if (!edited) return false;
      set({ ...s, fields: s.fields.map((f, i) => (i === s.focus ? edited : f)) });
    }
    return true;
  }, active);

  if (!plugin || !command) return <Text color="red">{`no command ${commandName} in ${name} any more`}</Text>;
  const labelWidth = Math.max(...args.map((a) => a.name.length)) + 3;
  const fieldWidth = Math.max(10, Math.min(30, Math.floor((width - labelWidth - 4) / 2)));
  const problemField = form.error ? /argument "([^"]+)"/.exec(form.error)?.[1] : undefined;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate-end">
        <Text bold>{`${name} ${commandName}`}</Text>
        {` — ${command.help}`}
      </Text>
      <Text> </Text>
      {args.map((arg, i) => {
        const focused = i === form.focus;
        return (
          <Box key={arg.name} width={width} height={1} overflow="hidden">
            <Box flexShrink={0}>
              <Text color={arg.name === problemField ? 'red' : focused ? 'cyan' : undefined} bold={focused}>
                {`${focused ? '›' : ' '} ${arg.name}${arg.required ? '*' : ' '}`.padEnd(labelWidth + 1)}
              </Text>
              <Text color={focused ? 'cyan' : 'gray'}>[</Text>
              <TextField input={form.fields[i] ?? field('')} width={fieldWidth} focused={focused && active} />
              <Text color={focused ? 'cyan' : 'gray'}>]</Text>
            </Box>
            <Text dimColor wrap="truncate-end">{`  ${argumentHint(arg)}`}</Text>
          </Box>
        );
      })}
      <Text> </Text>
      {form.error ? <Text color="red" wrap="wrap">{`✖ ${form.error}`}</Text> : null}
      <Text dimColor wrap="truncate-end">
        Enter runs · Tab/↑↓ next field · Ctrl-u clears · Esc back · * required
      </Text>
    </Box>
  );
}
