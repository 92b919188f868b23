import { connect, type Socket } from 'node:net';
import type { Address } from './transport.js';

/** A socket to a unix path or a `host:port`. */
export function dial(address: Address): Socket {
  if (address.network === 'unix') return connect(address.address);
  const at = address.address.lastIndexOf(':');
  return connect({ host: address.address.slice(0, at), port: Number(address.address.slice(at + 1)) });
}
