/**
 * Permissions: a plugin asking about its own capabilities. Bound to the
 * host's Policy; requests go to the host application's handler, and a
 * plugin can never grant itself anything.
 */
import { PermissionsDefinition } from '../gen/hst/host/v1/permissions.js';
import { Code, RpcError } from '../rpc/status.js';
import { capabilityKinds, CapabilityError, parseCapabilityString } from '../security/capability.js';
import type { Policy } from '../security/policy.js';
import { hostService } from './operation.js';

/** Decides a plugin's run-time request; resolve true to grant. */
export type PermissionRequestHandler = (request: { plugin: string; capability: string; reason: string }) => boolean | Promise<boolean>;

export function permissionsService(policy: Policy, onRequest?: PermissionRequestHandler) {
  return hostService({
    definition: PermissionsDefinition,
    operations: {
      query: { capability: 'permissions', resource: (r) => `${r.kind}:${r.resource}` },
      request: { capability: 'permissions', resource: (r) => r.capability },
      list: { capability: 'permissions' },
    },
    create: (caller) => ({
      query: ({ kind, resource }) => {
        if (!capabilityKinds().includes(kind)) {
          throw new RpcError(Code.INVALID_ARGUMENT, `Permissions/Query: unknown capability kind ${JSON.stringify(kind)}`);
        }
        return policy.decide(caller.owner, kind, resource);
      },
      request: async ({ capability, reason }) => {
        try {
          parseCapabilityString(capability);
        } catch (err) {
          throw new RpcError(Code.INVALID_ARGUMENT, `Permissions/Request: ${(err as CapabilityError).message}`);
        }
        const granted = (await onRequest?.({ plugin: caller.owner, capability, reason })) === true;
        if (granted) policy.grant(caller.owner, capability);
        return { granted };
      },
      list: () => ({ capabilities: policy.effective(caller.owner) }),
    }),
  });
}
