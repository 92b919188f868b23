/** Resource limits every host service enforces per plugin, each with a clear error when hit. */
export interface Limits {
  /** Open file handles per plugin. */
  maxOpenHandles: number;
  /** Largest single read (ReadFile, Read, ReadAt) in bytes. */
  maxReadBytes: number;
  /** Largest single write in bytes. */
  maxWriteBytes: number;
  /** Chunk size of streamed reads. */
  streamChunkBytes: number;
  /** Exec: default and largest timeout. */
  execTimeoutMs: number;
  maxExecTimeoutMs: number;
  /** Exec/ProcessOutput: stdout and stderr kept per process, each. */
  maxOutputBytes: number;
  /** Spawned processes alive at once per plugin. */
  maxProcesses: number;
  /** Entries returned by one ReadDir/Glob/Walk/List. */
  maxEntries: number;
  /** Live subscriptions and watches per plugin. */
  maxSubscriptions: number;
  /** Largest KV value and event payload in bytes. */
  maxValueBytes: number;
}

export const defaultLimits: Limits = {
  maxOpenHandles: 256,
  maxReadBytes: 16 * 1024 * 1024,
  maxWriteBytes: 16 * 1024 * 1024,
  streamChunkBytes: 64 * 1024,
  execTimeoutMs: 30_000,
  maxExecTimeoutMs: 10 * 60_000,
  maxOutputBytes: 1024 * 1024,
  maxProcesses: 32,
  maxEntries: 10_000,
  maxSubscriptions: 64,
  maxValueBytes: 1024 * 1024,
};
