/**
 * One-line text fields: type, move with left/right and Home/End (Ctrl-a,
 * Ctrl-e), delete back with Backspace, to the start with Ctrl-u, to the end
 * with Ctrl-k and a word with Ctrl-w. Pasted text arrives key by key and
 * lands as typed.
 */
import { Text } from 'ink';
import type { Key } from './keys.js';
import { useLiveState } from './use-live-state.js';

export interface Field {
  value: string;
  caret: number;
}

export function field(value: string): Field {
  return { value, caret: value.length };
}

/** The field after the key, or undefined when the key is not an edit. */
export function editField({ value, caret }: Field, key: Key): Field | undefined {
  const to = (v: string, c: number): Field => ({ value: v, caret: Math.max(0, Math.min(v.length, c)) });
  if (key.name === 'char') return to(value.slice(0, caret) + key.char + value.slice(caret), caret + key.char.length);
  if (key.name === 'backspace') return to(value.slice(0, Math.max(0, caret - 1)) + value.slice(caret), caret - 1);
  if (key.name === 'left') return to(value, caret - 1);
  if (key.name === 'right') return to(value, caret + 1);
  if (key.name === 'home' || (key.name === 'ctrl' && key.char === 'a')) return to(value, 0);
  if (key.name === 'end' || (key.name === 'ctrl' && key.char === 'e')) return to(value, value.length);
  if (key.name === 'ctrl' && key.char === 'u') return to(value.slice(caret), 0);
  if (key.name === 'ctrl' && key.char === 'k') return to(value.slice(0, caret), caret);
  if (key.name === 'ctrl' && key.char === 'w') {
    const start = value.slice(0, caret).replace(/\S+\s*$/, '').length;
    return to(value.slice(0, start) + value.slice(caret), start);
  }
  return undefined;
}

export interface TextInput extends Field {
  /** The value as the keys handled so far have left it. */
  current(): string;
  set(value: string): void;
  /** Takes the key if it edits the field or moves its caret. */
  handleKey(key: Key): boolean;
}

export function useTextInput(initial = ''): TextInput {
  const [state, get, set] = useLiveState(field(initial));
  return {
    ...state,
    current: () => get().value,
    set: (value) => set(field(value)),
    handleKey(key) {
      const next = editField(get(), key);
      if (next) set(next);
      return next !== undefined;
    },
  };
}

/** The field's text in `width` columns, scrolled to keep the caret in view; the caret shown only when focused. */
export function TextField({ input, width, focused }: { input: Field; width: number; focused: boolean }) {
  const room = Math.max(1, width - 1);
  const start = Math.max(0, input.caret - room + 1);
  const shown = input.value.slice(start, start + room);
  const at = input.caret - start;
  if (!focused) return <Text>{shown.padEnd(width)}</Text>;
  return (
    <Text>
      {shown.slice(0, at)}
      <Text inverse>{shown[at] ?? ' '}</Text>
      {shown.slice(at + 1).padEnd(Math.max(0, width - at - 1))}
    </Text>
  );
}
