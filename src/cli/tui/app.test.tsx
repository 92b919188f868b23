import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, render } from 'ink-testing-library';
import { eventually } from '../../../test/support/assertions.js';
import { examplePlugin, examplePlugins, FakeController, terminal } from '../../../test/support/fake-tui-controller.js';
import { App } from './app.js';

afterEach(cleanup);

async function app(controller = new FakeController()) {
  const ui = render(<App controller={controller} />);
  const t = terminal(ui);
  await t.ready();
  const status = () => t.frame().split('\n').slice(-2).join('\n');
  return { ...t, ui, controller, status };
}

it("shows start-up's progress, then the menu once the host is ready", async () => {
  const controller = new FakeController({ phase: 'starting', progress: ['building plugins (npm run build:plugins):', '[1/5] colorlister: node, compiled'], plugins: [] });
  const { frame, shows } = await app(controller);
  await shows(/Starting: building the plugins/);
  await shows(/\[1\/5\] colorlister: node, compiled/);
  controller.update({ phase: 'ready', plugins: examplePlugins() });
  await shows(/› Color Lister/);
  assert.doesNotMatch(frame(), /Starting/);
});

it('hands the keys after a screen change in the same read to the new screen', async () => {
  const { press, shows } = await app();
  press('j\rjj\r');
  await shows(/^ hst › Main menu › File Lister › head /);
  await shows(/filelister head — Show the first lines of a file/);
  press('README.md\r');
  await shows(/^ hst › Main menu › File Lister › head › run /);
});

it('runs a command without arguments at once, shows its output and result, and comes back to where it was', async () => {
  const controller = new FakeController();
  controller.output['hostdemo env'] = 'HST_DEMO_GREETING=hello\nHST_DEMO_NAME=Ada\n';
  const { press, shows } = await app(controller);
  press('jjj\rj\r');
  await shows(/Host Demo › env/);
  await shows(/✔ exit 0/);
  await shows(/HST_DEMO_NAME=Ada/);
  await shows(/"command": "env"/);
  assert.deepEqual(controller.asked, ['run hostdemo env {}']);
  press('\u001b');
  await shows(/Host Demo {2,}\?/);
  await shows(/^ › env/m);
  press('x');
  assert.ok(await eventually(() => controller.asked.at(-1) === 'kill hostdemo', 5_000), controller.asked.join(', '));
});

it('toggles the help for the screen shown, which keeps the keys meanwhile', async () => {
  const { frame, press, shows } = await app();
  press('?');
  await shows(/Keys: Main menu/);
  await shows(/Ctrl-C +shut down and quit/);
  press('jj?');
  assert.ok(await eventually(() => !frame().includes('Keys:'), 5_000), frame());
  assert.match(frame(), /^ › Color Lister/m, 'keys while the help was open did not move the menu');
  press('j');
  await shows(/^ › File Lister/m);
});

it('keeps the status line current: running, restarting, failed, restarts, the last error and the log', async () => {
  const controller = new FakeController();
  const { status } = await app(controller);
  const says = async (pattern: RegExp) => assert.ok(await eventually(() => pattern.test(status()), 5_000), status());
  await says(/● 4 running {2}✖ 0 failed {2}↻ 0 restarting {2}restarts 0 +log \/data\/logs\/hst\.log/);
  await says(/last error: none/);
  const plugins = examplePlugins().map((p) => (p.name === 'filelister' ? examplePlugin('filelister', { status: 'restarting', restarts: 1 }) : p));
  controller.update({ plugins, lastError: 'filelister: the plugin process was killed by SIGKILL' });
  await says(/● 3 running {2}✖ 0 failed {2}↻ 1 restarting {2}restarts 1/);
  await says(/last error: filelister: the plugin process was killed by SIGKILL/);
  controller.update({ plugins: plugins.map((p) => (p.name === 'golister' ? { ...p, status: 'failed' as const } : p.name === 'filelister' ? { ...p, status: 'running' as const } : p)) });
  await says(/● 3 running {2}✖ 1 failed {2}↻ 0 restarting {2}restarts 1/);
});

it('shuts down and exits on Ctrl-C, from any screen', async () => {
  const controller = new FakeController();
  const ui = render(<App controller={controller} />);
  const t = terminal(ui);
  await t.ready();
  t.press('j\r');
  await t.shows(/File Lister {2,}\?/);
  t.press('\u0003');
  // Exiting unmounts the app, which stops reading the terminal.
  assert.ok(await eventually(() => ui.stdin.listenerCount('readable') === 0, 5_000), 'the app did not exit');
  assert.deepEqual(controller.asked, ['shutdown']);
});
