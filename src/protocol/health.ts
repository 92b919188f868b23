/**
 * grpc.health.v1.Health, served by every plugin. go-plugin hosts ping the
 * service name "plugin"; grpc-go also answers "" for the whole server.
 */
import { HealthCheckResponse_ServingStatus as Status, type HealthDefinition } from '../gen/grpc/health/v1/health.js';
import type { ServiceImplementation } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { HEALTH_SERVICE } from './constants.js';

export class HealthService {
  private readonly statuses = new Map<string, Status>([
    ['', Status.SERVING],
    [HEALTH_SERVICE, Status.SERVING],
  ]);
  private readonly watchers = new Set<() => void>();

  setStatus(service: string, status: Status): void {
    this.statuses.set(service, status);
    for (const notify of this.watchers) notify();
  }

  implementation(): ServiceImplementation<HealthDefinition> {
    const statuses = this.statuses;
    const watchers = this.watchers;
    return {
      check: ({ service }) => {
        const status = statuses.get(service);
        if (status === undefined) throw new RpcError(Code.NOT_FOUND, `unknown service ${JSON.stringify(service)}`);
        return { status };
      },
      list: () => ({
        statuses: Object.fromEntries([...statuses].map(([name, status]) => [name, { status }])),
      }),
      async *watch({ service }, ctx) {
        let last: Status | undefined;
        while (!ctx.signal.aborted) {
          const current = statuses.get(service) ?? Status.SERVICE_UNKNOWN;
          if (current !== last) {
            last = current;
            yield { status: current };
          }
          await new Promise<void>((resolve) => {
            const wake = () => {
              watchers.delete(wake);
              ctx.signal.removeEventListener('abort', wake);
              resolve();
            };
            watchers.add(wake);
            ctx.signal.addEventListener('abort', wake);
          });
        }
      },
    };
  }
}
