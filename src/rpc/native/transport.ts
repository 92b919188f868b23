/**
 * hst's own transport between an hst host and an hst plugin: the host offers
 * it (ENV_NATIVE_FD in protocol/constants.ts names one end of a socket pair the plugin inherits), the
 * plugin's serve() accepts by answering NATIVE_PROTOCOL in its handshake, and
 * both then speak the frames of frame.ts over that pair. Nobody else can
 * connect to it: it has no path. Broker ids become channels of the same session.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ENV_TRANSPORT } from '../../protocol/constants.js';
import type { ServiceRegistrar } from '../definition.js';
import { MAX_MESSAGE_BYTES } from '../message-limit.js';
import type { Channels } from '../transport.js';
import { NativeConnection } from './client.js';
import { NativeServer } from './server.js';
import { Session } from './session.js';

/** Whether an hst host offers the native transport unless told otherwise (HST_TRANSPORT=grpc turns it off). */
export function nativeByDefault(): boolean {
  return process.env[ENV_TRANSPORT] !== 'grpc';
}

export function openSession(socket: Duplex, side: 'host' | 'plugin', peer: string, maxMessageBytes = MAX_MESSAGE_BYTES): Session {
  return new Session(socket, { side, peer, maxMessageBytes });
}

/** The plugin's end of the pair, from the fd the host named. */
export function inheritedSocket(fd: number): Socket {
  return new Socket({ fd, readable: true, writable: true });
}

/** Broker ids as channels of the session: no listener, no dial, nothing anyone else can reach. */
export function sessionChannels(session: Session): Channels {
  return {
    serve(id: number, register: (registrar: ServiceRegistrar) => void) {
      const server = new NativeServer();
      register(server);
      return session.accept(id, server.acceptor());
    },
    connect: (id: number) => new NativeConnection(session, id),
  };
}
