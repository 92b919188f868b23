/**
 * What the TypeScript runner needs from the side it runs: the Node floor
 * (floor-client.ts) or hst's PluginClient (bench-plugin-client.ts). The
 * runner imports only the one its job names, so the floor's host process
 * holds none of hst and the host's memory figures count only what hst loads.
 */
import type { Member } from './fleet.js';
import type { Report, Task, TaskResult } from './job.js';

export type Echo = (payload: Buffer) => Promise<unknown>;

export interface Connected {
  echo: Echo;
  /** Plugin->host load the plugin drives itself; only a plugin side has it. */
  drive?: (task: Extract<Task, { kind: 'drive' }>) => Promise<TaskResult>;
  close(): Promise<void>;
}

export interface RunnerSide {
  /** What answers on the host side, for the report. */
  host: string;
  /** One long-lived peer for latency, throughput and drive tasks; what it confirms about itself goes into checks. */
  connect(checks: Report['checks']): Promise<Connected>;
  /** One process of a start or fleet task. */
  startMember(): Promise<Member>;
}
