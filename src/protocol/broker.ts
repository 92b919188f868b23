/**
 * go-plugin's gRPC broker, the same on both sides: over the one ConnInfo
 * stream either side announces a listener for a service id (accept) or
 * waits for the other side's announcement and connects to it (dial).
 * Ids travel inside application messages; each side counts its own from 1.
 */
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import type { ClientConnection, ServiceRegistrar } from '../rpc/definition.js';
import type { Address, Channels, ServerOptions, TlsMaterial, Transport, TransportServer } from '../rpc/transport.js';
import type { Logger } from '../log.js';
import { BROKER_WAIT_MS, NATIVE_NETWORK } from './constants.js';
import { listen, type Listener } from './listener.js';

export interface BrokerOptions {
  /** Sends one ConnInfo to the other side over the broker stream. */
  send: (info: ConnInfo) => void;
  /** For listeners and addresses; a broker on the native session (`channels`) needs none. */
  transport?: Transport;
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
    const server = this.transportFor(id).createServer({ ...options, ...(this.options.tls ? { tls: this.options.tls } : {}) });
    register(server);
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
    const stop = channels.serve(id, register);
    this.channelServers.add(stop);
    this.options.send({ serviceId: id, network: NATIVE_NETWORK, address: '', knock: undefined });
    return {
      id,
      address: undefined,
      close: () => {
        if (this.channelServers.delete(stop)) stop();
      },
    };
  }

  /** Waits for the other side to announce `id`, then connects to it. */
  async dial(id: number): Promise<ClientConnection> {
    const info = await this.waitFor(id);
    if (info.network === NATIVE_NETWORK) {
      if (!this.options.channels) throw new Error(`broker: service id ${id} was announced on the native session, which this connection does not use`);
      return this.options.channels.connect(id);
    }
    const address: Address = { network: info.network === 'tcp' ? 'tcp' : 'unix', address: info.address };
    return this.transportFor(id).connect(address, this.options.tls ? { tls: this.options.tls } : {});
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
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new BrokerClosedError('broker closed'));
    }
    this.waiters.clear();
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
