/**
 * hst's own transport between an hst host and an hst plugin: the host offers
 * it (ENV_NATIVE_FD in protocol/constants.ts names one end of a socket pair the plugin inherits), the
 * plugin's serve() accepts by answering NATIVE_PROTOCOL in its handshake, and
 * both then speak the frames of frame.ts over that pair. Nobody else can
 * connect to it: it has no path. Broker ids become channels of the same session.
 */
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

/** `connection`: this side's end of the pair as an fd (read best, see FrameReader) or as a stream. */
export function openSession(connection: Duplex | number, side: 'host' | 'plugin', peer: string, maxMessageBytes = MAX_MESSAGE_BYTES): Session {
  return new Session(connection, { side, peer, maxMessageBytes });
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
