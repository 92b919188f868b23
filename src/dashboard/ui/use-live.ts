/** Data from the server that stays current: loaded once, then refreshed on the live events that concern it. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { subscribe } from './api.js';

export function useLive<T>(load: () => Promise<T>, refreshOn: readonly string[], deps: readonly unknown[] = []): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const reload = useCallback(() => {
    load().then(
      (d) => {
        setData(d);
        setError(undefined);
      },
      (e: unknown) => setError((e as Error).message),
    );
  }, deps);
  useEffect(() => {
    reload();
    return subscribe((type) => {
      if (refreshOn.includes(type)) reload();
    });
  }, [reload]);
  return { data, error, reload };
}
