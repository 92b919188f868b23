import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Key as InkKey } from 'ink';
import { decodeKeys, isBack, moved, navigation, type Key } from './keys.js';

/** What ink's useInput hands over: no flag set unless given. */
function ink(flags: Partial<InkKey> = {}): InkKey {
  const none = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false };
  return { ...none, ...flags } as InkKey;
}

const char = (c: string): Key => ({ name: 'char', char: c });

describe('decodeKeys', () => {
  it('takes several keys in one read apart, in order', () => {
    assert.deepEqual(decodeKeys('jjj', ink()), [char('j'), char('j'), char('j')]);
    assert.deepEqual(decodeKeys('jk\r', ink()), [char('j'), char('k'), { name: 'enter' }]);
    assert.deepEqual(decodeKeys('ab\u007f\u001b', ink()), [char('a'), char('b'), { name: 'backspace' }, { name: 'escape' }]);
    assert.deepEqual(decodeKeys('G\u0004\u0015', ink()), [char('G'), { name: 'ctrl', char: 'd' }, { name: 'ctrl', char: 'u' }]);
  });

  it('keeps text that is not ASCII whole and drops other control characters', () => {
    assert.deepEqual(decodeKeys('é✓😀', ink()), [char('é'), char('✓'), char('😀')]);
    assert.deepEqual(decodeKeys('a\u0000\u001f\u0085b', ink()), [char('a'), char('b')]);
  });

  it('names the keys ink recognised', () => {
    assert.deepEqual(decodeKeys('', ink({ upArrow: true })), [{ name: 'up' }]);
    assert.deepEqual(decodeKeys('', ink({ pageDown: true })), [{ name: 'pageDown' }]);
    assert.deepEqual(decodeKeys('', ink({ return: true })), [{ name: 'enter' }]);
    assert.deepEqual(decodeKeys('', ink({ tab: true, shift: true })), [{ name: 'shiftTab' }]);
    assert.deepEqual(decodeKeys('d', ink({ ctrl: true })), [{ name: 'ctrl', char: 'd' }]);
    // The Backspace key of most terminals sends DEL, which ink reports as delete.
    assert.deepEqual(decodeKeys('', ink({ delete: true })), [{ name: 'backspace' }]);
  });
});

describe('navigation', () => {
  it('maps arrows and vim keys alike', () => {
    const navs = [char('j'), { name: 'down' }, char('k'), { name: 'up' }, char('g'), { name: 'home' }, char('G'), { name: 'end' }, { name: 'ctrl', char: 'd' }, { name: 'ctrl', char: 'u' }, { name: 'pageDown' }, { name: 'pageUp' }] as Key[];
    assert.deepEqual(navs.map(navigation), ['down', 'down', 'up', 'up', 'top', 'top', 'bottom', 'bottom', 'halfDown', 'halfUp', 'pageDown', 'pageUp']);
    assert.equal(navigation(char('x')), undefined);
    assert.equal(navigation({ name: 'enter' }), undefined);
  });

  it('moves within 0..last by a line, half a page or a page', () => {
    assert.equal(moved(5, 'down', 20, 10), 6);
    assert.equal(moved(5, 'halfDown', 20, 10), 10);
    assert.equal(moved(5, 'pageDown', 20, 10), 15);
    assert.equal(moved(18, 'pageDown', 20, 10), 20);
    assert.equal(moved(3, 'halfUp', 20, 10), 0);
    assert.equal(moved(7, 'top', 20, 10), 0);
    assert.equal(moved(7, 'bottom', 20, 10), 20);
    assert.equal(moved(0, 'up', 20, 10), 0);
    assert.equal(moved(0, 'down', -1, 10), 0, 'an empty list stays at 0');
  });

  it('goes back with Esc, Backspace and q', () => {
    assert.deepEqual([{ name: 'escape' }, { name: 'backspace' }, char('q'), char('Q'), { name: 'enter' }].map((k) => isBack(k as Key)), [true, true, true, false, false]);
  });
});
