/**
 * Where keys go. The terminal is read in one place (ink's useInput), each
 * read decoded into keys (keys.ts), and the keys offered one at a time to
 * the active handlers, the one registered last first, until one takes it;
 * a key nobody takes goes to the fallback (the App's own keys: help, quit).
 * When a key changes the screen, the keys after it in the same read wait
 * until the new screen is there to take them.
 */
import { createContext, useCallback, useContext, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { useInput } from 'ink';
import { decodeKeys, type Key } from './keys.js';

/** Says whether it took the key. */
export type KeyHandler = (key: Key) => boolean;

export class KeyRouter {
  private readonly handlers: Array<{ current: KeyHandler }> = [];
  private readonly queue: Key[] = [];
  private held = false;

  constructor(private readonly fallback: { current: KeyHandler }) {}

  register(handler: { current: KeyHandler }): () => void {
    this.handlers.push(handler);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  dispatch(keys: Key[]): void {
    this.queue.push(...keys);
    this.flush();
  }

  /** The screen is changing: keys still to come wait for release(), once it has. */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    this.flush();
  }

  private flush(): void {
    while (!this.held && this.queue.length > 0) {
      const key = this.queue.shift() as Key;
      if (![...this.handlers].reverse().some((h) => h.current(key))) this.fallback.current(key);
    }
  }
}

const RouterContext = createContext<KeyRouter | undefined>(undefined);

/** A router for a KeyRoot; `fallback` gets the keys no handler took. */
export function useKeyRouter(fallback: KeyHandler): KeyRouter {
  const fallbackRef = useRef(fallback);
  fallbackRef.current = fallback;
  const [router] = useState(() => new KeyRouter(fallbackRef));
  return router;
}

/** Reads the terminal and routes its keys to the handlers below it. */
export function KeyRoot({ router, children }: { router: KeyRouter; children: ReactNode }) {
  useInput(useCallback((input, key) => router.dispatch(decodeKeys(input, key)), [router]));
  return <RouterContext.Provider value={router}>{children}</RouterContext.Provider>;
}

/** Gives this component the keys while `active`; the latest `handler` is always the one called. */
export function useKeys(handler: KeyHandler, active = true): void {
  const router = useContext(RouterContext);
  const ref = useRef(handler);
  ref.current = handler;
  // A layout effect, so a new screen takes keys held for it as soon as it is committed (see KeyRouter.hold).
  useLayoutEffect(() => (active && router ? router.register(ref) : undefined), [router, active]);
}
