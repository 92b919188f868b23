/**
 * go-plugin's broker multiplexing (go-plugin >= 1.6, `PLUGIN_MULTIPLEX_GRPC`):
 * the host dials the plugin's socket once and runs yamux over it (host =
 * client); every gRPC connection, the main one and each broker connection,
 * is one yamux stream. Before a side opens a stream for a broker id it
 * "knocks" over the broker stream; once the other side acknowledged, the
 * next stream it receives belongs to that id. Streams that come without a
 * knock go to the plugin's main server (go-plugin does the same); on the
 * host there is none, so they are refused.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dial, retryDial } from '../rpc/dial.js';
import type { Address } from '../rpc/transport.js';
import { YamuxSession } from '../rpc/yamux/session.js';

/** Anything that serves connections handed to it: a transport server. */
export interface ConnectionAcceptor {
  accept(connection: Duplex): void;
}

export class Multiplexer {
  /** Ids whose knock was acknowledged, oldest first: each claims the next incoming stream. */
  private readonly knocked: number[] = [];
  private readonly servers = new Map<number, ConnectionAcceptor>();
  private main: ConnectionAcceptor | undefined;
  private session: YamuxSession | undefined;

  /** Runs yamux over the one connection, once it is there (the plugin side gets it after its handshake). */
  attach(connection: Duplex, role: 'host' | 'plugin'): void {
    const session = new YamuxSession(connection, { client: role === 'host' });
    this.session = session;
    session.on('stream', (stream: Duplex) => this.route(stream));
    // Its errors also close it; 'close' is what the owner watches.
    session.on('error', () => undefined);
  }

  /** Called once the one connection is gone: nothing more can be reached through it. */
  onClose(listener: () => void): void {
    if (!this.session) throw new Error('the multiplexed connection is not established yet');
    this.session.once('close', listener);
  }

  /** The plugin side: streams nobody knocked for are connections to the plugin's own server. */
  serveMain(server: ConnectionAcceptor): void {
    this.main = server;
  }

  /** Serves broker id `id` on the streams knocked for it; returns the undo. */
  serve(id: number, server: ConnectionAcceptor): () => void {
    this.servers.set(id, server);
    return () => {
      if (this.servers.get(id) === server) this.servers.delete(id);
    };
  }

  /** A knock for `id` arrived: '' when a server takes its stream, else the reason for the ack. */
  admit(id: number): string {
    if (!this.servers.has(id)) return `no listener for id ${id}`;
    this.knocked.push(id);
    return '';
  }

  /** A new stream to the other side (knock first, for a broker id). */
  open(): Duplex {
    if (!this.session) throw new Error('the multiplexed connection is not established yet');
    return quiet(this.session.open());
  }

  close(): void {
    this.session?.close();
  }

  private route(stream: Duplex): void {
    quiet(stream);
    const id = this.knocked.shift();
    const server = id === undefined ? this.main : this.servers.get(id);
    if (server) server.accept(stream);
    else stream.destroy();
  }
}

/** A stream's failures reach whoever uses it (HTTP/2, TLS); unheard, they must not end the process. */
function quiet(stream: Duplex): Duplex {
  return stream.on('error', () => undefined);
}

/**
 * The host's side: dials the plugin's socket once and runs yamux over it as
 * the client. A plugin that prints its address a moment before it listens
 * is tried again until `timeoutMs`.
 */
export async function connectMultiplexed(address: Address, timeoutMs: number): Promise<Multiplexer> {
  const socket = await retryDial<Socket>(async () => {
    const attempt = dial(address);
    const failure = await Promise.race([once(attempt, 'connect').then(() => undefined), once(attempt, 'error').then(([err]) => err as Error)]);
    if (!failure) return { ok: attempt };
    attempt.destroy();
    return { failure };
  }, Date.now() + timeoutMs);
  const mux = new Multiplexer();
  mux.attach(socket, 'host');
  return mux;
}
