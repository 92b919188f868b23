/**
 * A window onto more lines than fit: up/down and vim keys scroll it, and
 * left/right (h/l) move sideways through lines wider than the screen. A line
 * is never wrapped: what does not fit is cut off at the edge, so every line
 * takes exactly one row. With `follow`, the view stays on the last line as
 * lines are added (like `tail -f`) until scrolled up; G follows again.
 */
import type { ReactNode } from 'react';
import { Box, Text } from 'ink';
import { visibleLength } from '../output.js';
import { moved, navigation, type Key } from './keys.js';
import { useLiveState } from './use-live-state.js';

export interface Scroll {
  /** The first line shown. */
  offset: number;
  /** The first column shown. */
  column: number;
  /** Takes the key if it scrolls. */
  handleKey(key: Key): boolean;
}

const SIDEWAYS_STEP = 8;

/** The scroll position over `total` lines shown `height` at a time; `overflow` is how far the widest line sticks out. */
export function useScroll(total: number, height: number, options: { follow?: boolean; overflow?: number } = {}): Scroll {
  const follows = options.follow ?? false;
  const [state, get, set] = useLiveState({ offset: 0, column: 0, follow: follows });
  const last = Math.max(0, total - height);
  const maxColumn = Math.max(0, options.overflow ?? 0);
  const at = (s: typeof state) => (s.follow ? last : Math.min(s.offset, last));
  return {
    offset: at(state),
    column: Math.min(state.column, maxColumn),
    handleKey(key) {
      const s = get();
      const nav = navigation(key);
      if (nav) {
        const offset = moved(at(s), nav, last, height);
        set({ ...s, offset, follow: follows && offset >= last });
        return true;
      }
      const column = Math.min(s.column, maxColumn);
      if (key.name === 'left' || (key.name === 'char' && key.char === 'h')) set({ ...s, column: Math.max(0, column - SIDEWAYS_STEP) });
      else if (key.name === 'right' || (key.name === 'char' && key.char === 'l')) set({ ...s, column: Math.min(maxColumn, column + SIDEWAYS_STEP) });
      else if (key.name === 'char' && key.char === '0') set({ ...s, column: 0 });
      else return false;
      return true;
    },
  };
}

/** How far the widest of these lines (colour codes aside) sticks out of `width`. */
export function overflowOf(lines: readonly string[], width: number): number {
  return lines.reduce((widest, line) => Math.max(widest, visibleLength(line)), 0) - width;
}

/** "lines 21-40 of 120", or "12 lines" when all fit. */
export function scrollPosition(scroll: Pick<Scroll, 'offset' | 'column'>, total: number, height: number): string {
  const sideways = scroll.column > 0 ? `, from column ${scroll.column + 1}` : '';
  if (total <= height) return `${total} line${total === 1 ? '' : 's'}${sideways}`;
  return `lines ${scroll.offset + 1}-${Math.min(total, scroll.offset + height)} of ${total}${sideways}`;
}

export function ScrollView({ lines, scroll, width, height }: { lines: readonly ReactNode[]; scroll: Pick<Scroll, 'offset' | 'column'>; width: number; height: number }) {
  const shown = lines.slice(scroll.offset, scroll.offset + height);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {shown.map((line, i) => (
        <Box key={scroll.offset + i} width={width} height={1} overflow="hidden">
          <Box marginLeft={-scroll.column} width={width + scroll.column} flexShrink={0}>
            <Text wrap="truncate-end">{line}</Text>
          </Box>
        </Box>
      ))}
    </Box>
  );
}
