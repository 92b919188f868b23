/**
 * The two lines always at the bottom: how many plugins run, have failed or
 * are restarting, the restarts so far, the host's log file, and the latest
 * thing that went wrong.
 */
import { Box, Text } from 'ink';
import type { PluginInfo } from '../../manager/plugin-info.js';
import type { ControllerState } from './controller.js';
import { shortPath } from './short-path.js';

function statusCounts(plugins: readonly PluginInfo[]): { running: number; failed: number; restarting: number; restarts: number } {
  const count = (status: PluginInfo['status']) => plugins.filter((p) => p.status === status).length;
  return { running: count('running'), failed: count('failed'), restarting: count('restarting'), restarts: plugins.reduce((n, p) => n + p.restarts, 0) };
}

export function StatusLine({ state, width }: { state: ControllerState; width: number }) {
  const { running, failed, restarting, restarts } = statusCounts(state.plugins);
  const counts = `● ${running} running  ✖ ${failed} failed  ↻ ${restarting} restarting  restarts ${restarts}`;
  const log = state.logFile ? `log ${shortPath(state.logFile, Math.max(8, width - counts.length - 6))}` : '';
  return (
    <Box flexDirection="column" width={width} height={2}>
      <Box width={width} justifyContent="space-between" overflow="hidden">
        <Text wrap="truncate-end">
          <Text color={running > 0 ? 'green' : undefined}>{`● ${running} running`}</Text>
          {'  '}
          <Text color={failed > 0 ? 'red' : undefined}>{`✖ ${failed} failed`}</Text>
          {'  '}
          <Text color={restarting > 0 ? 'yellow' : undefined}>{`↻ ${restarting} restarting`}</Text>
          {`  restarts ${restarts}`}
        </Text>
        {width - counts.length > 10 ? <Text dimColor wrap="truncate-start">{log}</Text> : null}
      </Box>
      <Box width={width} height={1} overflow="hidden">
        {state.lastError ? (
          <Text color="red" wrap="truncate-end">{`last error: ${state.lastError.replace(/\s+/g, ' ')}`}</Text>
        ) : (
          <Text dimColor wrap="truncate-end">
            last error: none
          </Text>
        )}
      </Box>
    </Box>
  );
}
