/**
 * go-plugin's gRPC broker, the same on both sides: over the one ConnInfo
 * stream either side announces a listener for a service id (accept) or
 * waits for the other side's announcement and connects to it (dial).
 * Ids travel inside application messages; each side counts its own from 1.
 * With multiplexing (multiplexer.ts) nothing is announced: the dialer knocks
 * for the id and, once acknowledged, opens a stream of the one connection.
 */
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { ClientConnection, ServiceRegistrar } from '../rpc/definition.js';
import type { Address, Channels, ServerOptions, TlsMaterial, Transport, TransportServer } from '../rpc/transport.js';
import type { Logger } from '../log.js';
import { BROKER_WAIT_MS, NATIVE_NETWORK } from './constants.js';
import { listen, type Listener } from './listener.js';
import type { Multiplexer } from './multiplexer.js';

export interface BrokerOptions {
  /** Sends one ConnInfo to the other side over the broker stream. */
  send: (info: ConnInfo) => void;
  /** For listeners and addresses; a broker on the native session (`channels`) needs none. */
  transport?: Transport;
  /** For every server the broker starts, beside TLS (which comes from `tls`). */
  serverOptions?: Pick<ServerOptions, 'widenConnectionWindow'>;
  /** Own certificate and the peer's, for both directions (go-plugin flips roles, material stays). */
  tls?: TlsMaterial;
  /** Opens a listener for accept; defaults to go-plugin's rules from the environment. */
  listen?: () => Promise<Listener>;
  logger: Logger;
  waitMs?: number;
  /**
   * On the native transport: broker ids are channels of the one session, not
   * listeners. Announcements still travel (network `socketpair`), so a dial
   * waits for the service as it does on gRPC.
   */
  channels?: Channels;
  /** go-plugin's broker multiplexing was negotiated: broker connections are streams of this one. */
  mux?: Multiplexer;
}

interface Waiter {
  resolve: (info: ConnInfo) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A server the broker started for one id; close it when the service is done. */
export interface BrokerServer {
  id: number;
  /** Where it listens; undefined for a channel of the native session. */
  address: Address | undefined;
  close(): void;
}

export class BrokerClosedError extends Error {
  override readonly name = 'BrokerClosedError';
}

export class GrpcBroker {
  private lastId = 0;
  private readonly pending = new Map<number, { info: ConnInfo; timer: NodeJS.Timeout }>();
  private readonly waiters = new Map<number, Waiter>();
  private readonly servers = new Set<{ server: TransportServer; listener: Listener }>();
  /** How to stop serving each channel this broker serves. */
  private readonly channelServers = new Set<() => void>();
  private readonly waitMs: number;
  /** Dials knocking for an id, waiting for its acknowledgement. */
  private readonly knocks = new Map<number, Waiter>();
  /** Knock and open go one at a time: the stream opened after an ack must be the one the ack admitted. */
  private dialing: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: BrokerOptions) {
    this.waitMs = options.waitMs ?? BROKER_WAIT_MS;
  }

  nextId(): number {
    return ++this.lastId;
  }

  /** Called for every ConnInfo that arrives on the broker stream. */
  receive(info: ConnInfo): void {
    if (this.closed) return;
    if (info.knock?.knock) return this.receiveKnock(info);
    const waiter = this.waiters.get(info.serviceId);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(info.serviceId);
      waiter.resolve(info);
      return;
    }
    if (this.pending.has(info.serviceId)) {
      this.options.logger.debug({ id: info.serviceId }, 'broker: duplicate connection info dropped');
      return;
    }
    // Nobody dialled yet: keep it for a while, then forget it.
    const timer = setTimeout(() => this.pending.delete(info.serviceId), this.waitMs);
    timer.unref();
    this.pending.set(info.serviceId, { info, timer });
  }

  /** A knock: the other side asking to open a stream for one of our ids, or acknowledging ours. */
  private receiveKnock(info: ConnInfo): void {
    const id = info.serviceId;
    if (!info.knock?.ack) {
      const error = this.options.mux ? this.options.mux.admit(id) : 'gRPC broker multiplexing was not negotiated on this connection';
      this.options.send({ serviceId: id, network: '', address: '', knock: { knock: true, ack: true, error } });
      return;
    }
    const waiter = this.knocks.get(id);
    if (!waiter) return void this.options.logger.debug({ id }, 'broker: knock acknowledgement nobody waits for, dropped');
    clearTimeout(waiter.timer);
    this.knocks.delete(id);
    waiter.resolve(info);
  }

  /** Opens a listener for `id` and tells the other side where it is. */
  async accept(id: number): Promise<Listener> {
    this.assertOpen();
    const listener = await (this.options.listen ?? listen)();
    this.options.send({ serviceId: id, network: listener.address.network, address: listener.address.address, knock: undefined });
    return listener;
  }

  /** accept, then serve the services `register` adds on that listener. */
  async acceptAndServe(id: number, register: (registrar: ServiceRegistrar) => void, options: Pick<ServerOptions, 'onRefusedConnection'> = {}): Promise<BrokerServer> {
    this.assertOpen();
    const channels = this.options.channels;
    if (channels) return this.serveChannel(channels, id, register);
    const server = this.transportFor(id).createServer({ ...this.options.serverOptions, ...options, ...(this.options.tls ? { tls: this.options.tls } : {}) });
    register(server);
    if (this.options.mux) return this.serveMuxed(this.options.mux, id, server);
    const listener = await this.accept(id);
    server.serve(listener.server);
    const entry = { server, listener };
    this.servers.add(entry);
    return {
      id,
      address: listener.address,
      close: () => {
        if (!this.servers.delete(entry)) return;
        server.forceShutdown();
        listener.close();
      },
    };
  }

  private serveChannel(channels: Channels, id: number, register: (registrar: ServiceRegistrar) => void): BrokerServer {
    const served = this.stoppable(id, channels.serve(id, register));
    this.options.send({ serviceId: id, network: NATIVE_NETWORK, address: '', knock: undefined });
    return served;
  }

  /** A server with no listener of its own (a channel, a multiplexed id): stopped by its close() or the broker's. */
  private stoppable(id: number, stop: () => void): BrokerServer {
    this.channelServers.add(stop);
    return {
      id,
      address: undefined,
      close: () => {
        if (this.channelServers.delete(stop)) stop();
      },
    };
  }

  private serveMuxed(mux: Multiplexer, id: number, server: TransportServer): BrokerServer {
    const accept = server.accept?.bind(server);
    if (!accept) throw new Error(`broker: service id ${id}: this transport cannot serve multiplexed streams`);
    const stop = mux.serve(id, { accept });
    return this.stoppable(id, () => {
      stop();
      server.forceShutdown();
    });
  }

  /** Waits for the other side to announce `id`, then connects to it. */
  async dial(id: number): Promise<ClientConnection> {
    if (this.options.mux) return this.dialMuxed(this.options.mux, id);
    const info = await this.waitFor(id);
    if (info.network === NATIVE_NETWORK) {
      if (!this.options.channels) throw new Error(`broker: service id ${id} was announced on the native session, which this connection does not use`);
      return this.options.channels.connect(id);
    }
    const address: Address = { network: info.network === 'tcp' ? 'tcp' : 'unix', address: info.address };
    return this.transportFor(id).connect(address, this.options.tls ? { tls: this.options.tls } : {});
  }

  /** Knocks for `id`, then opens the stream the acknowledgement admitted; one dial at a time. */
  private dialMuxed(mux: Multiplexer, id: number): Promise<ClientConnection> {
    const transport = this.transportFor(id);
    if (!transport.connectVia) throw new Error(`broker: service id ${id}: this transport cannot dial multiplexed streams`);
    const connectVia = transport.connectVia.bind(transport);
    const dialled = this.dialing.then(async () => {
      await this.knock(id);
      const stream = mux.open();
      let opened = false;
      // One stream per knock: a connection that lost it cannot reopen it without knocking again.
      return connectVia(() => {
        if (opened) throw new Error(`broker: the multiplexed connection for service id ${id} is gone`);
        opened = true;
        return stream;
      }, this.options.tls ? { tls: this.options.tls } : {});
    });
    this.dialing = dialled.catch(() => undefined);
    return dialled;
  }

  private knock(id: number): Promise<void> {
    this.assertOpen();
    if (this.knocks.has(id)) return Promise.reject(new Error(`broker: already knocking for service id ${id}`));
    const acknowledged = new Promise<ConnInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.knocks.delete(id);
        reject(new Error(`timeout waiting for multiplexing knock handshake on id ${id}`));
      }, this.waitMs);
      this.knocks.set(id, { resolve, reject, timer });
    });
    this.options.send({ serviceId: id, network: '', address: '', knock: { knock: true, ack: false, error: '' } });
    return acknowledged.then((ack) => {
      if (ack.knock?.error) throw new Error(`failed to knock for id ${id}: ${ack.knock.error}`);
    });
  }

  private transportFor(id: number): Transport {
    if (!this.options.transport) throw new Error(`broker: service id ${id} needs a listener or an address, but this connection carries broker services on the native session only`);
    return this.options.transport;
  }

  private waitFor(id: number): Promise<ConnInfo> {
    this.assertOpen();
    const ready = this.pending.get(id);
    if (ready) {
      clearTimeout(ready.timer);
      this.pending.delete(id);
      return Promise.resolve(ready.info);
    }
    if (this.waiters.has(id)) return Promise.reject(new Error(`broker: already dialling service id ${id}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error('timeout waiting for connection info'));
      }, this.waitMs);
      this.waiters.set(id, { resolve, reject, timer });
    });
  }

  /** Stops every server this broker started and fails pending dials. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    for (const w of [...this.waiters.values(), ...this.knocks.values()]) {
      clearTimeout(w.timer);
      w.reject(new BrokerClosedError('broker closed'));
    }
    this.waiters.clear();
    this.knocks.clear();
    for (const { server, listener } of this.servers) {
      server.forceShutdown();
      listener.close();
    }
    this.servers.clear();
    for (const stop of this.channelServers) stop();
    this.channelServers.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new BrokerClosedError('broker closed');
  }
}
