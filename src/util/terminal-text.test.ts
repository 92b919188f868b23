import { it } from 'node:test';
import assert from 'node:assert/strict';
import { displayLines, terminalSafe } from './terminal-text.js';

it('keeps colours but drops cursor movement, other escapes and control characters', () => {
  assert.deepEqual(displayLines('\u001b[1m\u001b[34mdata/\u001b[39m\u001b[22m'), ['\u001b[1m\u001b[34mdata/\u001b[39m\u001b[22m']);
  assert.deepEqual(displayLines('a\u001b[2J\u001b[Hb\u001b]0;title\u0007c\u0007d'), ['abcd']);
});

it('shows what a carriage return would leave and expands tabs to the next stop', () => {
  assert.deepEqual(displayLines('10%\r50%\r100%\nline\r\n'), ['100%', 'line', '']);
  assert.deepEqual(displayLines('a\tb\n12345678\tc\n\u001b[31mx\u001b[39m\ty'), ['a       b', '12345678        c', '\u001b[31mx\u001b[39m       y']);
});

it('writes out every control character but newline and tab, and leaves the rest alone', () => {
  assert.equal(terminalSafe('\u001b]0;pwned\u0007title\r\n\tnext \u009b2J é'), '\\u001b]0;pwned\\u0007title\\u000d\n\tnext \\u009b2J é');
  assert.equal(terminalSafe('plain text'), 'plain text');
});
