/**
 * The seam between protocol logic and the wire. Everything above it
 * (handshake, broker, controller, stdio, host services) talks only to these
 * interfaces, so a faster transport can replace gRPC-over-HTTP/2 without
 * touching a handler.
 */
import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientConnection, ServiceRegistrar } from './definition.js';
import type { RpcError } from './status.js';

export type Network = 'unix' | 'tcp';

export interface Address {
  network: Network;
  /** A bare socket path for unix, `host:port` for tcp. */
  address: string;
}

/**
 * TLS material for one side: its own certificate and key, and the
 * certificate(s) it trusts for the peer. Both sides always present and
 * verify certificates (mutual TLS), as go-plugin does.
 */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
  /** Name the client verifies in the server certificate; go-plugin uses "localhost". */
  serverName?: string;
}

export interface TransportServer extends ServiceRegistrar {
  /** Serves every connection the listener accepts. */
  serve(listener: NetServer): void;
  /** Serves one connection handed over directly, such as a yamux stream of a multiplexed broker. */
  accept?(connection: Duplex): void;
  /** Drops every connection at once; in-flight calls fail. */
  forceShutdown(): void;
}

export interface ServerOptions {
  tls?: TlsMaterial;
  /**
   * Called for a connection the TLS handshake refused (no certificate, or not
   * the pinned one), with the reason; the connection is closed.
   */
  onRefusedConnection?: (reason: string) => void;
  /**
   * Let clients send more before they wait for the server: only for clients
   * known not to be Node (see rpc/http2/session-options.ts). Transports
   * without such a window ignore it.
   */
  widenConnectionWindow?: boolean;
}

export interface Transport {
  createServer(options?: ServerOptions): TransportServer;
  connect(address: Address, options?: ConnectOptions): ClientConnection;
  /** A connection over byte streams the caller opens (a multiplexed broker's); `dial` is called for each session. */
  connectVia?(dial: () => Duplex, options?: ConnectOptions): ClientConnection;
}

export interface ConnectOptions {
  tls?: TlsMaterial;
  describeError?: ErrorDescriber;
}

/** Lets the owner of a connection explain failures (e.g. "the plugin exited"). */
export type ErrorDescriber = (error: RpcError, method: string) => Error | Promise<Error>;

/**
 * Logical connections inside one native session, by broker id: what the
 * broker uses there instead of a listener per service and a dial per client.
 */
export interface Channels {
  /** Serves what `register` adds on channel `id`; returns the undo. */
  serve(id: number, register: (registrar: ServiceRegistrar) => void): () => void;
  connect(id: number): ClientConnection;
}
