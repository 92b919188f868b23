/**
 * The one set of host services every managed plugin shares, under the
 * capability policy and the audit log: state in the host's data directory
 * (KV database, audit/audit.jsonl), never in a plugin's workspace.
 */
import type { Logger } from '../log.js';
import { allHostServices } from '../host-services/catalog.js';
import { HostServices } from '../host-services/host-services.js';
import type { HostServiceModule } from '../host-services/operation.js';
import type { PermissionRequestHandler } from '../host-services/permissions.js';
import { AuditLog, auditLogPath } from '../security/audit.js';
import { guardHostServices } from '../security/guard.js';
import { Policy, type OperatorPolicy } from '../security/policy.js';

export interface GuardedHostOptions {
  dataDir: string;
  logger: Logger;
  policy?: OperatorPolicy;
  onPermissionRequest?: PermissionRequestHandler;
  allowHardLinks?: boolean;
  /** The application's own host services, served next to hst's. */
  modules?: HostServiceModule<any>[];
}

export class GuardedHost {
  readonly hostServices: HostServices;
  readonly policy: Policy;
  readonly audit: AuditLog;
  /** The verified sha256 of each plugin's command, for its audit records. */
  private readonly commandDigests = new Map<string, string>();
  private closing: Promise<void> | undefined;

  constructor(options: GuardedHostOptions) {
    this.hostServices = new HostServices({ modules: [...allHostServices, ...(options.modules ?? [])], dataDir: options.dataDir, logger: options.logger, allowHardLinks: options.allowHardLinks ?? false });
    this.policy = new Policy(options.policy);
    this.audit = new AuditLog({ path: auditLogPath(options.dataDir) });
    guardHostServices({
      hostServices: this.hostServices,
      policy: this.policy,
      audit: this.audit,
      binarySha256: (plugin) => this.commandDigests.get(plugin),
      ...(options.onPermissionRequest ? { onPermissionRequest: options.onPermissionRequest } : {}),
    });
  }

  /** Before a plugin (re)starts: its manifest's capabilities and the digest its calls are audited with. */
  admit(plugin: string, capabilities: readonly string[], commandSha256: string | undefined): void {
    this.policy.setManifest(plugin, capabilities);
    if (commandSha256) this.commandDigests.set(plugin, commandSha256);
    else this.commandDigests.delete(plugin);
  }

  /** Releases what every plugin held, then closes the audit log. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.hostServices.close().finally(() => this.audit.close());
    return this.closing;
  }
}
