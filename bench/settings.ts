/**
 * How much of everything each mode measures. Every side of a section gets
 * the same settings: same payloads, same calls in flight, same durations.
 */
import type { Mode } from './options.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Settings {
  /** Repetitions of every section but memory; each repetition starts fresh processes. */
  reps: number;
  /**
   * Sequential calls: untimed warm-up, then timed calls. The TypeScript sides
   * need several thousand calls before V8 has optimised the call path; with
   * fewer, their p50 comes out up to twice as high.
   */
  latency: { warmup: number; calls: number };
  /** Calls kept in flight, each count for `durationMs` after `warmupMs`. */
  throughput: { inFlight: number[]; warmupMs: number; durationMs: number };
  payload: { sizes: number[]; inFlight: number; warmupMs: number; durationMs: number };
  callback: { warmup: number; calls: number; inFlight: number; durationMs: number };
  stream: { bytes: number; reads: number };
  /** Starts per repetition after the cold one. */
  start: { warm: number };
  memory: { reps: number; counts: number[]; warmup: number; settleMs: number; durationMs: number };
}

const payloadSizes = [64, 4 * KiB, 64 * KiB, MiB];

export const settingsFor: Record<Mode, Settings> = {
  full: {
    reps: 5,
    latency: { warmup: 10_000, calls: 5000 },
    throughput: { inFlight: [1, 8, 32, 128], warmupMs: 500, durationMs: 2000 },
    payload: { sizes: payloadSizes, inFlight: 8, warmupMs: 300, durationMs: 1500 },
    callback: { warmup: 5000, calls: 3000, inFlight: 32, durationMs: 2000 },
    stream: { bytes: 256 * MiB, reads: 3 },
    start: { warm: 5 },
    memory: { reps: 3, counts: [1, 10, 50], warmup: 1000, settleMs: 1000, durationMs: 3000 },
  },
  quick: {
    reps: 3,
    latency: { warmup: 4000, calls: 1000 },
    throughput: { inFlight: [1, 8, 32, 128], warmupMs: 100, durationMs: 300 },
    payload: { sizes: payloadSizes, inFlight: 8, warmupMs: 50, durationMs: 250 },
    callback: { warmup: 1500, calls: 500, inFlight: 32, durationMs: 400 },
    stream: { bytes: 32 * MiB, reads: 2 },
    start: { warm: 3 },
    memory: { reps: 1, counts: [1, 10, 50], warmup: 100, settleMs: 300, durationMs: 500 },
  },
  smoke: {
    reps: 1,
    latency: { warmup: 10, calls: 20 },
    throughput: { inFlight: [1, 8, 32, 128], warmupMs: 0, durationMs: 50 },
    payload: { sizes: payloadSizes, inFlight: 8, warmupMs: 0, durationMs: 50 },
    callback: { warmup: 5, calls: 20, inFlight: 32, durationMs: 50 },
    stream: { bytes: MiB, reads: 1 },
    start: { warm: 1 },
    memory: { reps: 1, counts: [1, 2], warmup: 5, settleMs: 50, durationMs: 100 },
  },
};

/** 64 -> "64B", 4096 -> "4KiB", 268435456 -> "256MiB": how sizes appear in metric names. */
export function sizeName(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return `${bytes}B`;
}
