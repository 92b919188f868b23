/**
 * One HostServices instance serves every plugin of a host. Each plugin gets
 * its own Caller and its own broker listener; the handlers are shared code,
 * bound to that Caller when they are registered on that listener.
 */
import { EventEmitter } from 'node:events';
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceRegistrar } from '../rpc/definition.js';
import { defaultLogger, type Logger } from '../log.js';
import { processAlive } from '../host/plugin-process.js';
import { Caller, type CallerIdentity } from './caller.js';
import { dispatch, type Authorizer, type CallRecord, type Decision } from './dispatch.js';
import type { HostContext } from './host-context.js';
import { defaultLimits, type Limits } from './limits.js';
import { admitModules, type HostServiceModule } from './operation.js';
import { relayModule, type RelayedServices } from './provided-services.js';
import type { ForwardHandler } from '../rpc/forwarding.js';
import { makeDirs } from '../util/make-dirs.js';

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

/** A host's own temp directory is `hst-<pid>-<time>` in the OS temp dir. */
const TEMP_BASE_PREFIX = 'hst-';
const TEMP_BASE = /^hst-(\d+)-[0-9a-z]+$/;

/**
 * Removes the temp directories of hosts that died without cleaning up (a
 * SIGKILL): ours by owner, and their pid no longer running. A live pid, even
 * a reused one, keeps its directory; so does anything of another user's.
 */
export function reclaimDeadHostsTemp(dir: string, logger: Logger): string[] {
  const reclaimed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return reclaimed;
  }
  for (const name of names) {
    const pid = Number(TEMP_BASE.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || st.uid !== process.getuid?.()) continue;
      rmSync(path, { recursive: true, force: true });
      reclaimed.push(path);
    } catch (err) {
      logger.debug({ path, err: String(err) }, 'could not reclaim a dead host\'s temp directory');
    }
  }
  if (reclaimed.length > 0) logger.info({ reclaimed }, 'removed the temp directories of hosts that are gone');
  return reclaimed;
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
  private relays: ((caller: Caller) => RelayedServices) | undefined;
  private readonly allowHardLinks: boolean;

  constructor(options: HostServicesOptions) {
    super();
    this.allowHardLinks = options.allowHardLinks ?? false;
    this.authorizer = options.authorize;
    admitModules(options.modules);
    this.modules = [...options.modules];
    this.limits = { ...defaultLimits, ...options.limits };
    this.logger = (options.logger ?? defaultLogger()).child({ name: 'host-services' });
    makeDirs(options.dataDir, 0o700);
    this.ownTempBase = !options.tempDir;
    if (this.ownTempBase) reclaimDeadHostsTemp(tmpdir(), this.logger);
    this.tempBase = options.tempDir ?? join(tmpdir(), `${TEMP_BASE_PREFIX}${process.pid}-${Date.now().toString(36)}`);
    makeDirs(this.tempBase, 0o700);
    const env = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined));
    const singletons = this.singletons;
    this.context = {
      dataDir: options.dataDir,
      logger: this.logger,
      limits: this.limits,
      env,
      shared<T extends object>(key: string, create: () => T): T {
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

  /** Which services other plugins provide to a plugin, relayed on its connection (provided-services.ts). */
  setRelays(relays: ((caller: Caller) => RelayedServices) | undefined): void {
    this.relays = relays;
  }

  /** Adds a domain after construction (e.g. Permissions, which needs the policy). */
  addModule(module: HostServiceModule<any>): void {
    admitModules([...this.modules, module]);
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
        if (this.logger.isLevelEnabled?.('debug') !== false) this.logger.debug(callFields(record), record.ok ? 'host call' : 'host call failed');
        this.emit('call', record);
      },
    };
    const serve = (module: HostServiceModule<any>) => dispatch(module, module.create(caller, this.context), { caller, host: this.context }, hooks);
    for (const module of this.modules) registrar.addService(module.definition, serve(module));
    for (const [service, relay] of this.relays?.(caller) ?? []) {
      if (!registrar.addForwarding) throw new Error(`this connection cannot relay ${service}: its transport does not forward calls`);
      registrar.addForwarding(service, (method) => serve(relayModule(service, method, relay))[method] as ForwardHandler);
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

/** A call's record as the debug log has it. */
function callFields(record: CallRecord): Record<string, unknown> {
  return {
    client_id: record.clientId,
    owner: record.owner,
    request_id: record.requestId,
    operation: record.operation,
    resource: record.resource,
    duration_us: record.durationUs,
    ...(record.error ? { error: record.error } : {}),
    ...(record.claimedClientId ? { claimed_client_id: record.claimedClientId } : {}),
  };
}
