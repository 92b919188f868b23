/**
 * State a key handler can read back at once. Several keys from one read of
 * the terminal are handled before React renders again, so each must see
 * what the key before it did ("jj\r" selects two rows down), not the state
 * of the last render.
 */
import { useCallback, useReducer, useRef } from 'react';

export function useLiveState<T>(initial: T): [value: T, get: () => T, set: (next: T | ((previous: T) => T)) => void] {
  const ref = useRef(initial);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const get = useCallback(() => ref.current, []);
  const set = useCallback((next: T | ((previous: T) => T)) => {
    ref.current = typeof next === 'function' ? (next as (previous: T) => T)(ref.current) : next;
    rerender();
  }, []);
  return [ref.current, get, set];
}
