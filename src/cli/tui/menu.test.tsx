import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, render } from 'ink-testing-library';
import { eventually } from '../../../test/support/assertions.js';
import { FakeController, Keyed, RecordingNavigator, terminal } from '../../../test/support/fake-tui-controller.js';
import { MainMenu } from './menu.js';

afterEach(cleanup);

async function menu(height = 20) {
  const controller = new FakeController();
  const nav = new RecordingNavigator();
  const t = terminal(
    render(
      <Keyed>
        <MainMenu controller={controller} state={controller.state()} nav={nav} width={78} height={height} active />
      </Keyed>,
    ),
  );
  await t.ready();
  /** The row under the cursor, after the keys. */
  const select = async (keys: string, row: RegExp) => {
    t.press(keys);
    await t.shows(new RegExp(`^› ${row.source}`, 'm'));
  };
  const opened = async (count: number) => assert.ok(await eventually(() => nav.opened.length + nav.quits >= count, 5_000), `${count} screens opened: ${JSON.stringify(nav.opened)}`);
  return { ...t, nav, select, opened };
}

it('lists every plugin with its language and state, the unavailable one with its reason, then the actions', async () => {
  const { frame, shows } = await menu();
  await shows(/Python Lister/);
  for (const row of [/Color Lister +TypeScript +● running +pid \d+/, /File Lister +TypeScript +● running/, /Go Lister +Go +● running/, /Host Demo +TypeScript +● running/, /Python Lister +Python +○ unavailable +python3 is not installed/]) {
    assert.match(frame(), row);
  }
  const actions = ['Run Concurrency Demo', 'Audit Log', 'Capabilities', 'Reset State', 'Shutdown'].map((a) => frame().indexOf(a));
  assert.ok(actions.every((at, i) => at > frame().indexOf('Python Lister') && (i === 0 || at > (actions[i - 1] as number))), 'the actions follow the plugins, in order');
});

it('moves with j/k and arrows, each key of a paste counted, and with g/G and Ctrl-d/Ctrl-u', async () => {
  const { select } = await menu(12);
  await select('', /Color Lister/);
  await select('jjj', /Host Demo/);
  await select('k', /Go Lister/);
  await select('\u001b[B', /Host Demo/);
  await select('G', /Shutdown/);
  await select('g', /Color Lister/);
  // The list is 6 rows high here (12 less the detail area below it): half a page is 3 rows.
  await select('\u0004', /Host Demo/);
  await select('\u0004', /Audit Log/);
  await select('\u0015', /Host Demo/);
  await select('g\u0004\u0004\u0004', /Shutdown/);
});

it('opens the plugin or action selected, even when Enter comes in the same read as the moves', async () => {
  const { nav, press, opened } = await menu();
  press('j\r');
  await opened(1);
  assert.deepEqual(nav.opened, [{ kind: 'plugin', plugin: 'filelister' }]);
  press('Gkkkk\r');
  await opened(2);
  assert.deepEqual(nav.opened[1], { kind: 'concurrency' });
  press('G\r');
  await opened(3);
  assert.equal(nav.quits, 1, 'Shutdown quits');
});

it('does not open a plugin that cannot run, and says why', async () => {
  const { nav, select, press, shows } = await menu();
  await select('jjjj', /Python Lister/);
  press('\rq');
  await shows(/cannot run here: python3 is not installed/);
  assert.ok(await eventually(() => nav.quits === 1, 5_000), 'the q after the Enter was handled');
  assert.deepEqual(nav.opened, []);
});
