/**
 * Reset State: asks first (it deletes the workspace and the KV data), then
 * shows the reset as it happens and what it did.
 */
import { Box, Text } from 'ink';
import { isBack, isChar } from './keys.js';
import { useKeys } from './key-router.js';
import { ProgressView } from './progress-view.js';
import type { ScreenProps } from './screen.js';
import { useLiveState } from './use-live-state.js';

export function ResetView({ controller, state, nav, width, height, active }: ScreenProps) {
  const [started, hasStarted, setStarted] = useLiveState(false);
  useKeys((key) => {
    if (!hasStarted() && (isChar(key, 'y') || key.name === 'enter')) {
      setStarted(true);
      void controller.reset();
    } else if (isBack(key) || (hasStarted() && key.name === 'enter')) {
      if (controller.state().phase !== 'resetting') nav.back();
    } else return false;
    return true;
  }, active);
  if (started) {
    return (
      <Box flexDirection="column" width={width} height={height}>
        <ProgressView state={state} width={width} height={height - 1} doneTitle="Reset done: the workspace seeded again, the KV data and grants cleared, every plugin started" />
        <Text dimColor>{state.phase === 'resetting' ? 'resetting...' : 'done · Enter or Esc goes back'}</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold>Reset State</Text>
      <Text> </Text>
      <Text wrap="wrap">This stops every plugin, deletes the shared workspace, the plugins&apos; run and temp directories and the KV data, seeds the workspace again and starts every plugin on a fresh policy: run-time grants and revocations are undone. The audit log is kept.</Text>
      <Text> </Text>
      <Text>
        <Text color="yellow" bold>
          y
        </Text>
        {' resets · Esc goes back'}
      </Text>
    </Box>
  );
}
