import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, render } from 'ink-testing-library';
import { eventually } from '../../../test/support/assertions.js';
import { FakeController, Keyed, RecordingNavigator, terminal } from '../../../test/support/fake-tui-controller.js';
import { GrantsView } from './capabilities-view.js';

afterEach(cleanup);

async function grants(plugin: string) {
  const controller = new FakeController();
  const nav = new RecordingNavigator();
  const t = terminal(
    render(
      <Keyed>
        <GrantsView plugin={plugin} controller={controller} state={controller.state()} nav={nav} width={100} height={16} active />
      </Keyed>,
    ),
  );
  await t.ready();
  const asked = async (what: string) => assert.ok(await eventually(() => controller.asked.includes(what), 5_000), controller.asked.join(', '));
  return { ...t, controller, asked };
}

it('revokes the selected capability and allows it again, each shown as it is now', async () => {
  const { press, shows, asked } = await grants('filelister');
  await shows(/› ✔ fs\.read:\*\* +declared · in effect/);
  press('jr');
  await asked('revoke filelister fs.write:listings/**');
  await shows(/› ✖ fs\.write:listings\/\*\* +declared · revoked/);
  await shows(/filelister: 2 declared in plugin\.yaml, 1 in effect/);
  press('a');
  await asked('grant filelister fs.write:listings/**');
  await shows(/› ✔ fs\.write:listings\/\*\* +declared · in effect/);
});

it('grants a capability typed in, the keys after + in the same read going into the field', async () => {
  const { press, shows, asked } = await grants('filelister');
  press('+fs.write:**\r');
  await asked('grant filelister fs.write:**');
  await shows(/granted fs\.write:\*\*: it takes effect on filelister's next call/);
  press('+teleport\r');
  await shows(/"teleport" is not a capability; expected one of fs\.read/);
});

it('tries the next call with a command it can run, and c picks another', async () => {
  const { press, shows, asked } = await grants('colorlister');
  await shows(/next call: colorlister list {2}\(c: 3 more\)/);
  press('t');
  await asked('run colorlister list {}');
  await shows(/list: allowed/);
  press('ct');
  await asked('run colorlister tree {}');
  await shows(/next call: colorlister tree/);
});
