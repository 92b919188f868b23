/**
 * Typed clients for every host-services domain, on the plugin's one
 * connection to the host. `const host = await hostServices();` then
 * `await host.filesystem.readFile({ path: 'notes.txt' })`.
 */
import { EnvironmentDefinition } from '../gen/hst/host/v1/environment.js';
import { EventsDefinition } from '../gen/hst/host/v1/events.js';
import { FilesystemDefinition } from '../gen/hst/host/v1/filesystem.js';
import { FileHandlesDefinition } from '../gen/hst/host/v1/handles.js';
import { HttpDefinition } from '../gen/hst/host/v1/http.js';
import { KeyValueDefinition } from '../gen/hst/host/v1/kv.js';
import { LogDefinition } from '../gen/hst/host/v1/log.js';
import { ProcessesDefinition } from '../gen/hst/host/v1/processes.js';
import { SystemDefinition } from '../gen/hst/host/v1/system.js';
import { TempDefinition } from '../gen/hst/host/v1/temp.js';
import type { Client, ServiceDefinition } from '../rpc/definition.js';
import { hostConnection } from './host-connection.js';

export const hostServiceDefinitions = {
  filesystem: FilesystemDefinition,
  handles: FileHandlesDefinition,
  environment: EnvironmentDefinition,
  processes: ProcessesDefinition,
  temp: TempDefinition,
  system: SystemDefinition,
  kv: KeyValueDefinition,
  events: EventsDefinition,
  log: LogDefinition,
  http: HttpDefinition,
} as const;

type Definitions = typeof hostServiceDefinitions;

export type HostServiceClients = { [K in keyof Definitions]: Client<Definitions[K]> } & {
  /** The host's id for this plugin instance. */
  clientId: string;
};

let clients: Promise<HostServiceClients> | undefined;

/** Waits for the host to establish host services, then gives typed clients for every domain. */
export function hostServices(timeoutMs?: number): Promise<HostServiceClients> {
  clients ??= hostConnection(timeoutMs).then(({ connection, clientId }) => {
    const out: Record<string, unknown> = { clientId };
    for (const [name, definition] of Object.entries(hostServiceDefinitions)) out[name] = connection.client(definition);
    return out as HostServiceClients;
  });
  // A failed wait may be retried later (the host can still establish).
  clients.catch(() => (clients = undefined));
  return clients;
}

/**
 * A typed client for any other service the host serves on the same
 * connection, such as one the application added next to hst's
 * (`hostServiceClient(NotesDefinition)`): same identity, policy and audit.
 */
export async function hostServiceClient<D extends ServiceDefinition>(definition: D, timeoutMs?: number): Promise<Client<D>> {
  const { connection } = await hostConnection(timeoutMs);
  return connection.client(definition);
}

/**
 * A typed client for a service another plugin provides, which this plugin's
 * manifest `requires:`. The host relays each call to the provider (starting
 * it first, waiting out its restarts), under its policy and audit log; the
 * provider sees who calls in the `hst-consumer` metadata the host sets.
 */
export const requiredService: <D extends ServiceDefinition>(definition: D, timeoutMs?: number) => Promise<Client<D>> = hostServiceClient;
