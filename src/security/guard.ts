/**
 * Puts a HostServices under a Policy and an AuditLog: every call is decided
 * by the policy and recorded with the rule that decided it; grants and
 * revocations are recorded too; plugins can ask about their own permissions.
 */
import type { HostServices } from '../host-services/host-services.js';
import { permissionsService, type PermissionRequestHandler } from '../host-services/permissions.js';
import type { AuditLog } from './audit.js';
import type { Policy } from './policy.js';

export interface GuardOptions {
  hostServices: HostServices;
  policy: Policy;
  audit: AuditLog;
  /** sha256 of each plugin's executable, by plugin name, for audit records. */
  binarySha256?: (plugin: string) => string | undefined;
  /** Decides a plugin's run-time Permissions.Request; without it every request is refused. */
  onPermissionRequest?: PermissionRequestHandler;
}

export function guardHostServices(options: GuardOptions): void {
  const { hostServices, policy, audit } = options;
  hostServices.setAuthorizer(policy.authorize);
  hostServices.addModule(permissionsService(policy, options.onPermissionRequest));
  hostServices.on('connect', (caller) => policy.attach(caller));
  hostServices.on('call', (record) => audit.recordCall(record, options.binarySha256?.(record.owner)));
  policy.on('change', (change) =>
    audit.write({
      time: new Date().toISOString(),
      plugin: change.plugin,
      instance: '',
      op: `Policy/${change.action === 'grant' ? 'Grant' : 'Revoke'}`,
      capability: change.capability,
      resource: change.capability,
      decision: 'allow',
      rule: 'host',
      request_id: '',
      duration_us: 0,
      event: change.action,
    }),
  );
}
