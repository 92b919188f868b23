/**
 * The TUI's keys, decoded in one place. ink's useInput hands over what one
 * read of the terminal held: a single key, or several at once when they are
 * typed fast or pasted ("jjj", "jj\r"), so text is taken apart character by
 * character. The navigation keys (arrows, PgUp/PgDn, Home/End and vim's
 * j/k, g/G, Ctrl-d/Ctrl-u) mean the same on every screen.
 */
import type { Key as InkKey } from 'ink';

export type Key =
  | { name: 'char'; char: string }
  /** Ctrl and a letter: `char` is the letter. */
  | { name: 'ctrl'; char: string }
  | { name: 'up' | 'down' | 'left' | 'right' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'enter' | 'escape' | 'backspace' | 'tab' | 'shiftTab' };

export type Nav = 'up' | 'down' | 'halfUp' | 'halfDown' | 'pageUp' | 'pageDown' | 'top' | 'bottom';

/** The keys in one read of the terminal, in order. */
export function decodeKeys(input: string, key: InkKey): Key[] {
  if (key.upArrow) return [{ name: 'up' }];
  if (key.downArrow) return [{ name: 'down' }];
  if (key.leftArrow) return [{ name: 'left' }];
  if (key.rightArrow) return [{ name: 'right' }];
  if (key.pageUp) return [{ name: 'pageUp' }];
  if (key.pageDown) return [{ name: 'pageDown' }];
  if (key.home) return [{ name: 'home' }];
  if (key.end) return [{ name: 'end' }];
  if (key.return) return [{ name: 'enter' }];
  if (key.escape) return [{ name: 'escape' }];
  if (key.tab) return [{ name: key.shift ? 'shiftTab' : 'tab' }];
  // ink calls the key most terminals send for Backspace (DEL, 0x7f) "delete".
  if (key.backspace || key.delete) return [{ name: 'backspace' }];
  if (key.ctrl && input.length === 1) return [{ name: 'ctrl', char: input.toLowerCase() }];
  return [...input].flatMap(decodeChar);
}

function decodeChar(c: string): Key[] {
  if (c === '\r' || c === '\n') return [{ name: 'enter' }];
  if (c === '\u007f' || c === '\b') return [{ name: 'backspace' }];
  if (c === '\t') return [{ name: 'tab' }];
  if (c === '\u001b') return [{ name: 'escape' }];
  const code = c.codePointAt(0) as number;
  if (code >= 1 && code <= 26) return [{ name: 'ctrl', char: String.fromCharCode(code + 96) }];
  if (code < 32 || (code >= 0x80 && code < 0xa0)) return [];
  return [{ name: 'char', char: c }];
}

/** What a key does to a list's cursor or a view's scroll position, if it is a navigation key. */
export function navigation(key: Key): Nav | undefined {
  switch (key.name) {
    case 'up':
      return 'up';
    case 'down':
      return 'down';
    case 'pageUp':
      return 'pageUp';
    case 'pageDown':
      return 'pageDown';
    case 'home':
      return 'top';
    case 'end':
      return 'bottom';
    case 'char':
      return ({ j: 'down', k: 'up', g: 'top', G: 'bottom', ' ': 'pageDown' } as const)[key.char as 'j'];
    case 'ctrl':
      return ({ d: 'halfDown', u: 'halfUp', f: 'pageDown', b: 'pageUp', n: 'down', p: 'up' } as const)[key.char as 'd'];
    default:
      return undefined;
  }
}

/** A position (cursor or scroll offset) from 0 to `last` after a navigation key; `page` is the height shown. */
export function moved(position: number, nav: Nav, last: number, page: number): number {
  const full = Math.max(1, page);
  const half = Math.max(1, Math.floor(page / 2));
  const steps: Record<Exclude<Nav, 'top' | 'bottom'>, number> = { up: -1, down: 1, halfUp: -half, halfDown: half, pageUp: -full, pageDown: full };
  const next = nav === 'top' ? 0 : nav === 'bottom' ? last : position + steps[nav];
  return Math.max(0, Math.min(Math.max(0, last), next));
}

/** Esc and Backspace go back a screen (where no text is being typed); so does q below the main menu. */
export function isBack(key: Key): boolean {
  return key.name === 'escape' || key.name === 'backspace' || (key.name === 'char' && key.char === 'q');
}

export function isChar(key: Key, char: string): boolean {
  return key.name === 'char' && key.char === char;
}
