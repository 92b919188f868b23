/**
 * A list to pick from: a cursor moved with the navigation keys, the rows
 * around it shown when they do not all fit, the selected row highlighted.
 * An item may carry a heading drawn above it, to group the rows when the
 * whole list fits.
 */
import type { ReactNode } from 'react';
import { Box, Text } from 'ink';
import { moved, navigation, type Key } from './keys.js';
import { useLiveState } from './use-live-state.js';

export interface SelectItem {
  key: string;
  label: ReactNode;
  heading?: string;
  /** Shown dimmed; it can be selected, to read about it, but not used. */
  disabled?: boolean;
}

export interface ListCursor {
  cursor: number;
  /** The cursor as the keys handled so far have left it. */
  current(): number;
  /** Takes the key if it moves the cursor. */
  handleKey(key: Key): boolean;
}

/** A cursor over `count` items shown `page` at a time. */
export function useListCursor(count: number, page: number): ListCursor {
  const [cursor, get, set] = useLiveState(0);
  const clamp = (i: number) => Math.max(0, Math.min(count - 1, i));
  return {
    cursor: clamp(cursor),
    current: () => clamp(get()),
    handleKey(key) {
      const nav = navigation(key);
      if (!nav) return false;
      set(moved(clamp(get()), nav, count - 1, page));
      return true;
    },
  };
}

export function SelectList({ items, cursor, width, height }: { items: readonly SelectItem[]; cursor: number; width: number; height: number }) {
  // Headings only when everything fits: a window onto part of the list shows the rows alone.
  const headings = items.length + items.filter((i) => i.heading).length <= height;
  const rows = Math.max(1, height);
  const start = Math.max(0, Math.min(cursor - Math.floor(rows / 2), items.length - rows));
  const shown = items.slice(start, start + rows);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {shown.map((item, i) => {
        const selected = start + i === cursor;
        return (
          <Box key={item.key} flexDirection="column" width={width}>
            {headings && item.heading ? <Text dimColor wrap="truncate-end">{`  ${item.heading}`}</Text> : null}
            <Box width={width} height={1} overflow="hidden">
              <Text wrap="truncate-end" color={selected ? 'cyan' : undefined} bold={selected} dimColor={!selected && item.disabled}>
                {selected ? '› ' : '  '}
                {item.label}
              </Text>
            </Box>
          </Box>
        );
      })}
    </Box>
  );
}
