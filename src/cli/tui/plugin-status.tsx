/** A plugin's status as a coloured badge: "● running", "○ unavailable", "↻ restarting". */
import { Text } from 'ink';
import type { PluginInfo, PluginStatus } from '../../manager/plugin-info.js';
import { STATUS_STYLE } from '../list.js';

const GLYPHS: Record<PluginStatus, string> = {
  discovered: '·',
  starting: '↻',
  running: '●',
  restarting: '↻',
  stopped: '■',
  unavailable: '○',
  invalid: '○',
  failed: '✖',
};

/** The widest badge and a gap, to line badges up in columns. */
const STATUS_WIDTH = Math.max(...Object.keys(GLYPHS).map((s) => s.length)) + 4;

export function StatusBadge({ status, pad = false }: { status: PluginStatus; pad?: boolean }) {
  const paint = STATUS_STYLE[status];
  const text = `${GLYPHS[status]} ${status}`;
  return (
    <Text color={paint === 'dim' || paint === 'bold' ? undefined : paint} dimColor={paint === 'dim'}>
      {pad ? text.padEnd(STATUS_WIDTH) : text}
    </Text>
  );
}

/** Whether its commands can be run (or it can be started): not when its runtime is missing or its manifest is broken. */
export function runnable(p: PluginInfo): boolean {
  return p.status !== 'unavailable' && p.status !== 'invalid';
}
