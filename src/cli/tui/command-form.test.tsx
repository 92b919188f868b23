import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, render } from 'ink-testing-library';
import { eventually } from '../../../test/support/assertions.js';
import { FakeController, Keyed, RecordingNavigator, terminal } from '../../../test/support/fake-tui-controller.js';
import { CommandForm } from './command-form.js';

afterEach(cleanup);

async function form(plugin: string, command: string) {
  const controller = new FakeController();
  const nav = new RecordingNavigator();
  const t = terminal(
    render(
      <Keyed>
        <CommandForm plugin={plugin} command={command} controller={controller} state={controller.state()} nav={nav} width={100} height={14} active />
      </Keyed>,
    ),
  );
  await t.ready();
  const field = (name: string) => new RegExp(`${name}\\*? +\\[([^\\]]*)\\]`).exec(t.frame())?.[1]?.trim();
  /** Waits for the field to hold `value`. */
  const holds = async (name: string, value: string) => assert.ok(await eventually(() => field(name) === value, 5_000), `${name} is ${JSON.stringify(field(name))}, not ${JSON.stringify(value)}`);
  return { ...t, nav, field, holds };
}

it("fills in the manifest's defaults and marks the required arguments", async () => {
  const { shows, field } = await form('filelister', 'head');
  await shows(/How many lines · a whole number from 1 · default "10"/);
  assert.equal(field('path'), '');
  assert.equal(field('lines'), '10');
  await shows(/path\* +\[/);
  await shows(/The file · required/);
});

it('refuses a missing required argument, naming it, and runs nothing', async () => {
  const { nav, press, shows } = await form('filelister', 'head');
  press('\r');
  await shows(/✖ plugin "filelister" command "head": argument "path" is required/);
  assert.deepEqual(nav.opened, []);
});

it('refuses a value that is not a whole number, naming the field, and gives it the focus', async () => {
  const { nav, press, shows, holds } = await form('filelister', 'head');
  press('notes.txt\t\u0015abc');
  await holds('lines', 'abc');
  await holds('path', 'notes.txt');
  press('\u001b[A\r');
  await shows(/argument "lines" = "abc" does not match \^\[1-9\]\[0-9\]\*\$/);
  await shows(/› lines/);
  assert.deepEqual(nav.opened, []);
  press('\u0015' + '0\r');
  await shows(/argument "lines" = "0" does not match/);
  press('\u007f5\r');
  assert.ok(await eventually(() => nav.opened.length > 0, 5_000));
  assert.deepEqual(nav.opened, [{ kind: 'run', plugin: 'filelister', command: 'head', args: { path: 'notes.txt', lines: '5' } }]);
});

it('leaves out an emptied field, so its default applies, and edits in the middle of a value', async () => {
  const { nav, press, holds } = await form('colorlister', 'scan');
  press('\u0015\t\u0015\t');
  await holds('path', '');
  await holds('interval', '');
  press('\u0001' + '2\u001b[C\u001b[C9');
  await holds('rounds', '209');
  press('\r');
  assert.ok(await eventually(() => nav.opened.length > 0, 5_000));
  assert.deepEqual(nav.opened, [{ kind: 'run', plugin: 'colorlister', command: 'scan', args: { rounds: '209' } }]);
});

it('goes back with Esc, while q and Backspace edit the field', async () => {
  const { nav, press, holds } = await form('filelister', 'cat');
  press('qq\u007f');
  await holds('path', 'q');
  assert.equal(nav.backs, 0);
  press('\u001b');
  assert.ok(await eventually(() => nav.backs === 1, 5_000));
});
