/**
 * Where a plugin (or a broker endpoint) listens, by go-plugin's rules: a
 * fresh unix socket in PLUGIN_UNIX_SOCKET_DIR or the temp dir by default,
 * optionally group-owned with mode 0660; or the first free 127.0.0.1 port
 * from PLUGIN_MIN_PORT to PLUGIN_MAX_PORT.
 */
import { createServer, type Server } from 'node:net';
import { chmodSync, chownSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from '../rpc/transport.js';
import {
  ENV_MAX_PORT,
  ENV_MIN_PORT,
  ENV_UNIX_SOCKET_DIR,
  ENV_UNIX_SOCKET_GROUP,
} from './constants.js';

export interface Listener {
  server: Server;
  address: Address;
  close(): void;
}

export interface ListenOptions {
  network?: 'unix' | 'tcp';
  env?: NodeJS.ProcessEnv;
}

export async function listen(options: ListenOptions = {}): Promise<Listener> {
  const env = options.env ?? process.env;
  const network = options.network ?? (process.platform === 'win32' ? 'tcp' : 'unix');
  return network === 'unix'
    ? listenUnix(env[ENV_UNIX_SOCKET_DIR] || tmpdir(), env[ENV_UNIX_SOCKET_GROUP])
    : listenTcp(env[ENV_MIN_PORT], env[ENV_MAX_PORT]);
}

function listenOn(server: Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if (typeof target === 'string') server.listen(target, done);
    else server.listen(target.port, target.host, done);
  });
}

export async function listenUnix(dir: string, group?: string): Promise<Listener> {
  for (let attempt = 0; ; attempt++) {
    const path = join(dir, `plugin${randomInt(100_000_000, 1_000_000_000)}`);
    if (existsSync(path)) continue;
    const server = createServer();
    try {
      await listenOn(server, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
      throw err;
    }
    if (group) {
      chownSync(path, -1, resolveGroup(group));
      chmodSync(path, 0o660);
    }
    return {
      server,
      address: { network: 'unix', address: path },
      close: () => {
        server.close();
        rmSync(path, { force: true });
      },
    };
  }
}

/** A numeric gid, or a group name looked up in /etc/group. */
export function resolveGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`failed to find gid from ${JSON.stringify(group)}: unknown group`);
}

export async function listenTcp(minEnv?: string, maxEnv?: string): Promise<Listener> {
  // Unset means 0, as in go-plugin: both unset lets the OS choose the port.
  const min = parsePort(minEnv, ENV_MIN_PORT);
  const max = parsePort(maxEnv, ENV_MAX_PORT);
  if (min > max) {
    throw new Error(`${ENV_MIN_PORT} value of ${min} is greater than ${ENV_MAX_PORT} value of ${max}`);
  }
  for (let port = min; port <= max; port++) {
    const server = createServer();
    try {
      await listenOn(server, { host: '127.0.0.1', port });
    } catch {
      continue;
    }
    const bound = server.address();
    const actual = typeof bound === 'object' && bound ? bound.port : port;
    return { server, address: { network: 'tcp', address: `127.0.0.1:${actual}` }, close: () => server.close() };
  }
  throw new Error("couldn't bind plugin TCP listener");
}

function parsePort(value: string | undefined, name: string): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value)) throw new Error(`couldn't get value from ${name}: ${JSON.stringify(value)} is not a number`);
  return Number(value);
}
