/**
 * Values that arrive faster than it is worth drawing them (a command's
 * output, concurrent calls, audit records) collected and handed to React at
 * most every `everyMs`, so a burst costs one render, not one per piece.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Batched<T> {
  items: T[];
  add(item: T): void;
  /** Hands over what is waiting now. */
  flush(): void;
  /** Starts again from `items`, dropping what is waiting. */
  reset(items?: T[]): void;
}

export function useBatched<T>(everyMs = 50): Batched<T> {
  const pending = useRef<T[]>([]);
  const timer = useRef<NodeJS.Timeout | undefined>(undefined);
  const [items, setItems] = useState<T[]>([]);
  const flush = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = undefined;
    const added = pending.current;
    pending.current = [];
    if (added.length > 0) setItems((current) => [...current, ...added]);
  }, []);
  const add = useCallback(
    (item: T) => {
      pending.current.push(item);
      timer.current ??= setTimeout(flush, everyMs);
    },
    [flush, everyMs],
  );
  const reset = useCallback((start: T[] = []) => {
    clearTimeout(timer.current);
    timer.current = undefined;
    pending.current = [];
    setItems(start);
  }, []);
  useEffect(() => () => clearTimeout(timer.current), []);
  return { items, add, flush, reset };
}
