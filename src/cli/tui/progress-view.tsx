/**
 * What start-up, a reset or the shutdown is doing: the steps and the plugin
 * build's output as they come, following the end.
 */
import { Box, Text } from 'ink';
import type { ControllerState } from './controller.js';
import { ScrollView, useScroll } from './scroll-view.js';
import { spinnerFrame, useClock } from './use-clock.js';

const TITLES: Record<ControllerState['phase'], string> = {
  starting: 'Starting: building the plugins, seeding the workspace, starting every plugin',
  ready: 'Done',
  resetting: 'Resetting: stopping every plugin, clearing the demo state, starting them again',
  stopping: 'Shutting down: stopping every plugin',
  stopped: 'Stopped',
};

export function ProgressView({ state, width, height, doneTitle }: { state: ControllerState; width: number; height: number; doneTitle?: string }) {
  const busy = state.phase !== 'ready' && state.phase !== 'stopped';
  const now = useClock(busy);
  const viewHeight = Math.max(1, height - 2);
  const scroll = useScroll(state.progress.length, viewHeight, { follow: true });
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate-end">{`${busy ? `${spinnerFrame(now)} ` : ''}${state.phase === 'ready' && doneTitle ? doneTitle : TITLES[state.phase]}`}</Text>
      <Text> </Text>
      <ScrollView lines={state.progress.map((line) => (/FAILED|failed|error/.test(line) ? <Text color="red">{line}</Text> : line))} scroll={scroll} width={width} height={viewHeight} />
    </Box>
  );
}
