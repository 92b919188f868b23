/**
 * One HostServices instance serves every plugin of a host. Each plugin gets
 * its own Caller and its own broker listener; the handlers are shared code,
 * bound to that Caller when they are registered on that listener.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceRegistrar } from '../rpc/definition.js';
import { defaultLogger, type Logger } from '../log.js';
import { Caller, type CallerIdentity } from './caller.js';
import { dispatch, type Authorizer, type CallRecord, type Decision } from './dispatch.js';
import type { HostContext } from './host-context.js';
import { defaultLimits, type Limits } from './limits.js';
import type { HostServiceModule } from './operation.js';

export interface HostServicesOptions {
  /** Domains to serve. */
  modules: HostServiceModule<any>[];
  /** Host-owned directory for persistent state such as the KV database. */
  dataDir: string;
  /** Where per-plugin temp directories go; default a fresh directory under the OS temp dir. */
  tempDir?: string;
  /** What the Environment service exposes; default the host's own environment. */
  env?: Record<string, string | undefined>;
  limits?: Partial<Limits>;
  logger?: Logger;
  /** Decides every call before its handler runs (the capability policy). */
  authorize?: Authorizer;
  /** Let plugins use files with several hard links (refused by default: see ConfinedRootOptions). */
  allowHardLinks?: boolean;
}

export class HostServices extends EventEmitter<{ call: [CallRecord]; connect: [Caller]; disconnect: [Caller] }> {
  readonly limits: Limits;
  readonly context: HostContext;
  private readonly logger: Logger;
  private readonly tempBase: string;
  private readonly ownTempBase: boolean;
  private readonly callersById = new Map<string, Caller>();
  private readonly singletons = new Map<string, { close?(): void | Promise<void> }>();
  private authorizer: Authorizer | undefined;
  private readonly modules: HostServiceModule<any>[];
  private readonly allowHardLinks: boolean;

  constructor(options: HostServicesOptions) {
    super();
    this.allowHardLinks = options.allowHardLinks ?? false;
    this.authorizer = options.authorize;
    this.modules = [...options.modules];
    this.limits = { ...defaultLimits, ...options.limits };
    this.logger = (options.logger ?? defaultLogger()).child({ name: 'host-services' });
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    this.ownTempBase = !options.tempDir;
    this.tempBase = options.tempDir ?? join(tmpdir(), `hst-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(this.tempBase, { recursive: true, mode: 0o700 });
    const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined));
    const singletons = this.singletons;
    this.context = {
      dataDir: options.dataDir,
      logger: this.logger,
      limits: this.limits,
      env,
      shared<T extends { close?(): void | Promise<void> }>(key: string, create: () => T): T {
        let value = singletons.get(key) as T | undefined;
        if (!value) singletons.set(key, (value = create()));
        return value;
      },
    };
  }

  /** Installs the policy that decides every call (see security/guard.ts). */
  setAuthorizer(authorize: Authorizer | undefined): void {
    this.authorizer = authorize;
  }

  /** Adds a domain after construction (e.g. Permissions, which needs the policy). */
  addModule(module: HostServiceModule<any>): void {
    this.modules.push(module);
  }

  /** A Caller for one plugin instance; pass it to register() on that plugin's own listener. */
  connect(identity: CallerIdentity): Caller {
    const caller = new Caller(identity, this.tempBase, this.limits, this.logger, { allowHardLinks: this.allowHardLinks });
    this.callersById.set(caller.clientId, caller);
    this.emit('connect', caller);
    return caller;
  }

  /** Adds every domain's handlers, bound to `caller`, to a registrar (a broker server). */
  register(registrar: ServiceRegistrar, caller: Caller): void {
    const hooks = {
      // Read at call time, so a policy installed later applies to plugins already connected.
      authorize: (d: Decision) => this.authorizer?.(d),
      record: (record: CallRecord) => {
        const { ok, ...rest } = record;
        const fields = {
          client_id: rest.clientId,
          owner: rest.owner,
          request_id: rest.requestId,
          operation: rest.operation,
          resource: rest.resource,
          duration_us: rest.durationUs,
          ...(rest.error ? { error: rest.error } : {}),
          ...(rest.claimedClientId ? { claimed_client_id: rest.claimedClientId } : {}),
        };
        this.logger.debug(fields, ok ? 'host call' : 'host call failed');
        this.emit('call', record);
      },
    };
    for (const module of this.modules) {
      registrar.addService(module.definition, dispatch(module, module.create(caller, this.context), { caller, host: this.context }, hooks));
    }
  }

  callers(): Caller[] {
    return [...this.callersById.values()];
  }

  /** Releases everything the plugin held: handles, processes, temp files, subscriptions. */
  async disconnect(caller: Caller): Promise<void> {
    if (!this.callersById.delete(caller.clientId)) return;
    await caller.dispose();
    this.emit('disconnect', caller);
  }

  async close(): Promise<void> {
    await Promise.all(this.callers().map((c) => this.disconnect(c)));
    for (const s of [...this.singletons.values()].reverse()) await s.close?.();
    this.singletons.clear();
    if (this.ownTempBase) rmSync(this.tempBase, { recursive: true, force: true });
  }
}
