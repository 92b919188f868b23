/**
 * Text from a plugin on a terminal. displayLines draws it line by line (the
 * TUI, `hst run`): colour codes (SGR) are
 * kept, other escape sequences and control characters dropped (they would
 * move the cursor over the UI), a carriage return keeps what was written
 * after it, as a terminal would show it, and tabs become spaces.
 */
const SEQUENCE = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-_]?/gu;
const SGR = /^\u001b\[[0-9;]*m$/u;
const TAB_STOP = 8;

export function displayLines(text: string): string[] {
  return text.split('\n').map(displayLine);
}

function displayLine(raw: string): string {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const visible = line.slice(line.lastIndexOf('\r') + 1);
  let out = '';
  let column = 0;
  let at = 0;
  for (const match of visible.matchAll(SEQUENCE)) {
    [out, column] = plain(visible.slice(at, match.index), out, column);
    if (SGR.test(match[0])) out += match[0];
    at = match.index + match[0].length;
  }
  return plain(visible.slice(at), out, column)[0];
}

function plain(text: string, out: string, column: number): [string, number] {
  for (const c of text) {
    if (c === '\t') {
      const spaces = TAB_STOP - (column % TAB_STOP);
      out += ' '.repeat(spaces);
      column += spaces;
    } else if (c >= ' ' && c !== '\u007f' && !(c >= '\u0080' && c < '\u00a0')) {
      out += c;
      column++;
    }
  }
  return [out, column];
}

/**
 * Text that came from a plugin (its handshake line, its stderr, its error
 * messages), made harmless for a terminal: every control character but
 * newline and tab is written out as \uXXXX, so a plugin can neither move the
 * cursor, retitle the window nor hide what it printed.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
