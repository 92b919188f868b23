import { afterEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { Box, Text } from 'ink';
import { cleanup, render } from 'ink-testing-library';
import { Keyed, terminal } from '../../../test/support/fake-tui-controller.js';
import { visibleLength } from '../output.js';
import { useKeys } from './key-router.js';
import { overflowOf, scrollPosition, ScrollView, useScroll } from './scroll-view.js';

afterEach(cleanup);

const WIDTH = 40;
const HEIGHT = 8;

/** Line n is "line n", every tenth one far wider than the view. */
function content(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `line ${i + 1}${(i + 1) % 10 === 0 ? ` ${'wide '.repeat(30)}end` : ''}`);
}

function Viewer({ lines, follow }: { lines: string[]; follow?: boolean }) {
  const scroll = useScroll(lines.length, HEIGHT, { follow: follow ?? false, overflow: overflowOf(lines, WIDTH) });
  useKeys(scroll.handleKey);
  return (
    <Box flexDirection="column">
      <ScrollView lines={lines} scroll={scroll} width={WIDTH} height={HEIGHT} />
      <Text>{scrollPosition(scroll, lines.length, HEIGHT)}</Text>
    </Box>
  );
}

async function view(lines: string[], follow?: boolean) {
  const ui = render(
    <Keyed>
      <Viewer lines={lines} follow={follow ?? false} />
    </Keyed>,
  );
  const t = terminal(ui);
  await t.ready();
  const rows = () => t.frame().split('\n');
  const shown = () => rows().slice(0, HEIGHT).map((r) => Number(/^line (\d+)/.exec(r)?.[1]));
  /** Presses the keys, then waits for the view to start at line `first`. */
  const scrolled = async (keys: string, first: number) => {
    t.press(keys);
    await t.shows(new RegExp(`^line ${first}\\b`));
  };
  return { ...t, ui, rows, shown, scrolled };
}

it('shows a window of the lines, never more rows than its height nor a row wider than its width', async () => {
  const { rows, shown, scrolled } = await view(content(100));
  assert.deepEqual(shown(), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(rows().length, HEIGHT + 1, 'the rows, then the position line');
  assert.equal(rows()[HEIGHT], 'lines 1-8 of 100');
  await scrolled('jjjjjjjj', 9);
  assert.ok(rows().some((r) => r.startsWith('line 10 wide')));
  for (const row of rows()) assert.ok(visibleLength(row) <= WIDTH, `${visibleLength(row)} columns: ${row}`);
  assert.equal(rows().length, HEIGHT + 1);
});

it('scrolls by line, half page and page, to the ends, within the bounds', async () => {
  const { shown, scrolled } = await view(content(100));
  await scrolled('jjj', 4);
  await scrolled('\u001b[6~', 12);
  await scrolled('\u0004', 16);
  await scrolled('\u0015k', 11);
  await scrolled('G', 93);
  assert.deepEqual(shown(), [93, 94, 95, 96, 97, 98, 99, 100]);
  await scrolled('jj\u001b[6~k', 92);
  await scrolled('g', 1);
  await scrolled('kk\u001b[5~j', 2);
});

it('moves sideways through lines wider than the view', async () => {
  const { rows, press, shows } = await view(content(12));
  press('G');
  await shows(/^line 10 wide/m);
  const wide = () => rows().find((r) => r.includes('wide')) as string;
  press('l');
  await shows(/^wide wide/m);
  assert.ok(visibleLength(wide()) <= WIDTH);
  press('llllllllllllllllllll');
  await shows(/wide end\s*$/m);
  press('0');
  await shows(/^line 10 wide/m);
});

it('follows lines as they are added, until scrolled up', async () => {
  const { ui, shows, scrolled } = await view(content(20), true);
  await shows(/^line 20\b/m);
  ui.rerender(
    <Keyed>
      <Viewer lines={content(30)} follow />
    </Keyed>,
  );
  await shows(/^line 30\b/m);
  await scrolled('k', 22);
  ui.rerender(
    <Keyed>
      <Viewer lines={content(40)} follow />
    </Keyed>,
  );
  await shows(/lines 22-29 of 40/);
  await scrolled('G', 33);
});
