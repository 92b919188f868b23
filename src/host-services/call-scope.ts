/**
 * The host call being served right now, for checks deep inside a handler
 * (the confined root following a symlink) that must decide with the call's
 * own capability without every handler passing it down.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CallScope {
  operation: string;
  capability: string;
}

export const currentCall = new AsyncLocalStorage<CallScope>();
