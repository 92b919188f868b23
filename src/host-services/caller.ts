/**
 * Who is calling. A Caller is created by the host for one plugin instance
 * and bound to the broker listener that serves it, so identity comes from the
 * connection a request arrives on, never from anything in the request.
 * Everything a plugin creates (handles, processes, temp files,
 * subscriptions) is registered on its Caller and released when it goes.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from '../log.js';
import { Code, RpcError } from '../rpc/status.js';
import { ConfinedRoot, normalized, type ConfinedRootOptions } from '../security/confine.js';
import type { SandboxLayer, SandboxResources } from '../security/sandbox.js';
import type { Limits } from './limits.js';
import { callScope, type CallScope } from './call-scope.js';
import type { CallContext } from '../rpc/definition.js';
import { DeniedError } from './errors.js';
import { makeDirs } from '../util/make-dirs.js';

/** Paths starting with this segment name the plugin's private temp directory. */
export const TEMP_PREFIX = '$tmp';

export interface CallerIdentity {
  /** The plugin's name (from its manifest); KV namespaces and logs use it. */
  owner: string;
  /** Host directory the plugin's relative paths resolve in. */
  workspace: string;
}

/** The policy's answer for one capability and resource, with the rule that decided. */
export interface Verdict {
  allowed: boolean;
  rule: string;
}

export type PermissionCheck = (capability: string, resource: string) => Verdict;

/**
 * How the programs a sandboxed plugin starts through Processes are
 * sandboxed: the host gives the same resources and required layers it gave
 * the plugin, so running a program never gets the plugin out of its sandbox.
 */
export interface ExecSandboxProfile {
  resources?: SandboxResources;
  /** Refuse to start a program unless all of these layers are active. */
  require?: SandboxLayer[];
  /** Host paths the programs may read besides their own executable and the system directories. */
  readOnlyPaths?: string[];
}

/** The roots themselves follow no symlink: only a call's view of them does, with the call's check (see resolve). */
function refuseOutsideCall(): never {
  throw new DeniedError('a symbolic link was met outside any host call, so no capability covers it', 'no call');
}

const ALLOW_ALL: PermissionCheck = () => ({ allowed: true, rule: 'no policy' });

export class Caller {
  /** UUIDv7 for this plugin instance. */
  readonly clientId = uuidv7();
  readonly owner: string;
  readonly workspace: ConfinedRoot;
  /** Host path of the private temp directory (created on first use). */
  readonly tempHostPath: string;
  readonly logger: Logger;
  private tempRoot: ConfinedRoot | undefined;
  private readonly controller = new AbortController();
  private readonly cleanups: Array<() => void | Promise<void>> = [];
  private disposed: Promise<void> | undefined;
  private liveSubscriptions = 0;
  private permissionCheck: PermissionCheck = ALLOW_ALL;
  private readonly permissionWatchers = new Set<() => void>();
  private execSandboxProfile: ExecSandboxProfile | undefined;

  constructor(
    identity: CallerIdentity,
    tempBase: string,
    readonly limits: Limits,
    logger: Logger,
    private readonly rootOptions: ConfinedRootOptions = {},
  ) {
    this.owner = identity.owner;
    this.workspace = new ConfinedRoot(identity.workspace, refuseOutsideCall, rootOptions);
    this.tempHostPath = join(tempBase, this.clientId);
    this.logger = logger.child({ client_id: this.clientId, owner: this.owner });
  }

  /** Aborted when the plugin disconnects: long-running streams end on it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether this plugin may use files with several hard links (see ConfinedRootOptions). */
  get allowsHardLinks(): boolean {
    return !!this.rootOptions.allowHardLinks;
  }

  get isDisconnected(): boolean {
    return this.controller.signal.aborted;
  }

  /** A symlink inside the root leads to `path`: the call must be allowed there too. */
  private checkFollowed(call: CallScope, path: string): void {
    const verdict = this.verdict(call.capability, path);
    if (!verdict.allowed) throw new DeniedError(`${call.operation}: a symbolic link leads to ${path}, which is denied by ${verdict.rule}`, verdict.rule);
  }

  /**
   * The confined root and root-relative path a plugin path refers to, for the
   * call `ctx`: a symlink met on the way must lead where that call may go.
   */
  resolve(path: string, ctx: CallContext): { root: ConfinedRoot; path: string } {
    const { segments, clean } = normalized(path);
    if (segments[0] === TEMP_PREFIX) return { root: this.temp(ctx), path: segments.slice(1).join('/') || '.' };
    const call = callScope(ctx);
    return { root: this.workspace.forCall((followed) => this.checkFollowed(call, followed.join('/') || '.')), path: clean || '.' };
  }

  /** The private temp directory (created on first use), for the call `ctx`. */
  temp(ctx: CallContext): ConfinedRoot {
    if (!this.tempRoot) {
      makeDirs(this.tempHostPath, 0o700);
      this.tempRoot = new ConfinedRoot(this.tempHostPath, refuseOutsideCall, this.rootOptions);
    }
    const call = callScope(ctx);
    return this.tempRoot.forCall((followed) => this.checkFollowed(call, [TEMP_PREFIX, ...followed].join('/')));
  }

  /**
   * Whether the plugin may use `capability` on `resource` right now. The
   * dispatcher asks the policy before every call; handlers ask here for
   * decisions inside a call (each resolved address of an HTTP fetch, each
   * redirect hop) and when permissions change (open handles).
   */
  permits(capability: string, resource: string): boolean {
    return this.permissionCheck(capability, resource).allowed;
  }

  /** The full answer, with the deciding rule (for refusals that go to the audit log). */
  verdict(capability: string, resource: string): Verdict {
    return this.permissionCheck(capability, resource);
  }

  /** Installed by the policy layer; called again whenever grants change. */
  setPermissionCheck(check: PermissionCheck): void {
    this.permissionCheck = check;
    this.permissionsChanged();
  }

  /** The check answers differently now (a grant or revoke): re-check what the plugin holds. */
  permissionsChanged(): void {
    for (const fn of this.permissionWatchers) fn();
  }

  /** Set by the host when the plugin is sandboxed; undefined runs programs as plain host processes. */
  setExecSandbox(profile: ExecSandboxProfile | undefined): void {
    this.execSandboxProfile = profile;
  }

  get execSandbox(): ExecSandboxProfile | undefined {
    return this.execSandboxProfile;
  }

  /** Re-check what the plugin holds when its permissions change (e.g. close handles). Returns an unsubscribe. */
  onPermissionsChanged(fn: () => void): () => void {
    this.permissionWatchers.add(fn);
    return () => this.permissionWatchers.delete(fn);
  }

  /**
   * Takes one of the plugin's subscription slots (event subscriptions, KV
   * watches and file watches share limits.maxSubscriptions); call the
   * returned function once to give it back.
   */
  claimSubscription(what: string): () => void {
    if (this.liveSubscriptions >= this.limits.maxSubscriptions) {
      throw new RpcError(Code.RESOURCE_EXHAUSTED, `${what}: the plugin already has ${this.liveSubscriptions} live subscriptions and watches, the limit`);
    }
    this.liveSubscriptions++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.liveSubscriptions--;
    };
  }

  /** How many subscription slots the plugin holds. */
  get subscriptions(): number {
    return this.liveSubscriptions;
  }

  /** Runs `fn` when the plugin disconnects (in reverse order of registration). */
  onDisconnect(fn: () => void | Promise<void>): void {
    if (this.isDisconnected) void fn();
    else this.cleanups.push(fn);
  }

  /** Releases everything the plugin holds. Idempotent. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      this.controller.abort();
      for (const fn of this.cleanups.splice(0).reverse()) {
        try {
          await fn();
        } catch (err) {
          this.logger.warn({ err: String(err) }, 'cleanup failed');
        }
      }
      this.workspace.close();
      this.tempRoot?.close();
      rmSync(this.tempHostPath, { recursive: true, force: true });
    })();
    return this.disposed;
  }
}
