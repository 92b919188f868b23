/** What every plugin's handlers share: the data directory, and singletons such as the KV store. */
import type { Logger } from '../log.js';
import type { Limits } from './limits.js';

export interface HostContext {
  /** Host-owned directory for persistent state (the KV database lives here). */
  readonly dataDir: string;
  readonly logger: Logger;
  readonly limits: Limits;
  /** Environment plugins may read through the Environment service (never the host's own, unless given). */
  readonly env: Readonly<Record<string, string>>;
  /** One shared instance per key for the life of the host services; closed with them when it has a close(). */
  shared<T extends object>(key: string, create: () => T): T;
}
