import { connect, type Socket } from 'node:net';
import type { Address } from './transport.js';

/** A socket to a unix path or a `host:port`. */
export function dial(address: Address): Socket {
  if (address.network === 'unix') return connect(address.address);
  const at = address.address.lastIndexOf(':');
  return connect({ host: address.address.slice(0, at), port: Number(address.address.slice(at + 1)) });
}

/** Dial failures of a server that is not listening (yet, or any more): worth another try while time is left. */
const RETRYABLE = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET']);

/**
 * Runs `attempt` until it succeeds, until it fails with anything but a
 * refused or missing socket, or until `deadline` (ms since the epoch): a
 * plugin may print its address a moment before it listens. Waits 10 ms
 * between tries, doubling to 250 ms.
 */
export async function retryDial<T>(attempt: (timeLeftMs: number) => Promise<{ ok: T } | { failure: Error }>, deadline: number, stop: () => boolean = () => false): Promise<T> {
  for (let backoffMs = 10; ; backoffMs = Math.min(backoffMs * 2, 250)) {
    const result = await attempt(deadline - Date.now());
    if ('ok' in result) return result.ok;
    const left = deadline - Date.now();
    if (stop() || left <= 0 || !RETRYABLE.has((result.failure as NodeJS.ErrnoException).code ?? '')) throw result.failure;
    await new Promise((resolve) => setTimeout(resolve, Math.min(backoffMs, left)));
  }
}
