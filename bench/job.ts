/**
 * What the orchestrator asks of a runner process, and what it reports back.
 * A runner is a host (bench/runner.ts on hst's PluginClient, or
 * interop/go/cmd/bench-host on go-plugin's Client) or a floor client
 * (bench/runner.ts without a plugin, or interop/go/cmd/bench-floor). The Go
 * runners read and write the same JSON, so every side gets the same tasks
 * and measures them with its own clock.
 */
import type { NATIVE_PROTOCOL } from '../src/protocol/constants.js';
import type { AtSyscalls } from '../src/security/at-syscalls.js';

/** The protocol a plugin's handshake names: hst's native transport ('hst1') or go-plugin's gRPC. */
export type TransportProtocol = typeof NATIVE_PROTOCOL | 'grpc';

/** A plugin the runner starts and talks to as a host. */
export interface PluginTarget {
  kind: 'plugin';
  command: string[];
  autoMTLS: boolean;
  /** TypeScript runner: PluginClient's `native` option; absent, hst's default applies. */
  native?: boolean;
  /**
   * TypeScript runner: the protocol every start must end up on. A plugin on
   * the other one fails the job: the figures would be filed under the wrong side.
   */
  protocol: TransportProtocol;
  /** go-plugin's broker multiplexing (PluginClient `multiplex`, GRPCBrokerMultiplex in Go); absent, off. */
  multiplex?: boolean;
  /** Serve hst's host services to the plugin (TypeScript runner only), confined to this directory. */
  hostServices?: { workspace: string };
}

/** A bare unix-socket echo peer the runner starts itself: the floor. */
export interface FloorTarget {
  kind: 'floor';
  /** The TypeScript runner's echo peer, bench/floor-echo.js (the Go floor has its own). */
  echo: string;
}

export type DriveOp = 'stat' | 'read-file' | 'read-file-stream' | 'fs-read';

export type Task =
  /** `calls` Echo calls of `payload` bytes one at a time, each timed, after `warmup` untimed ones. */
  | { kind: 'latency'; payload: number; warmup: number; calls: number }
  /** `inFlight` Echo calls kept going for `durationMs` (after `warmupMs` of the same), counted. */
  | { kind: 'throughput'; payload: number; inFlight: number; warmupMs: number; durationMs: number }
  /** The plugin's own calls (Bench.Drive): latency mode when durationMs is 0, else throughput mode. */
  | { kind: 'drive'; op: DriveOp; path: string; warmup: number; calls: number; inFlight: number; durationMs: number }
  /** Start the plugin, make the first Echo call, stop it: `starts` times, each start timed up to the answer. */
  | { kind: 'start'; starts: number }
  /**
   * Start `plugins` plugins, `warmup` Echo calls to each, let them idle `settleMs`, take memory,
   * then keep one call in flight to each for `durationMs`, each call timed.
   */
  | { kind: 'fleet'; plugins: number; warmup: number; settleMs: number; durationMs: number };

export interface Job {
  target: PluginTarget | FloorTarget;
  tasks: Task[];
}

export interface TaskResult {
  /** Durations of single calls or starts, in nanoseconds. */
  samplesNs?: number[];
  /** TypeScript runner, latency: when the timed calls began and ended, in µs of CLOCK_MONOTONIC (the clock of --cpu-prof). */
  windowUs?: [number, number];
  calls?: number;
  elapsedNs?: number;
  /** Payload bytes received by whoever made the calls. */
  bytes?: number;
  /** fleet: the host process before any plugin, with all of them idle, and each plugin idle. */
  hostRssBeforeBytes?: number;
  hostRssBytes?: number;
  hostPssBytes?: number;
  pluginRssBytes?: number[];
  pluginPssBytes?: number[];
}

export interface Report {
  results: TaskResult[];
  /** What the runner could confirm about itself and its peer, recorded in the results' meta. */
  checks: {
    /** e.g. "hst PluginClient (gRPC on node:http2)" or "go-plugin v1.8.0 (grpc-go v1.81.0)". */
    host: string;
    /** As the plugin reported it (Bench.Info): language, runtime, and whether its connection is TLS. */
    plugin?: { language: string; runtime: string; tls: boolean };
    /** TypeScript host: the protocol the plugin's handshake named (every start of the job was held to it). */
    transport?: TransportProtocol;
    /** Go host: go-plugin logged that it configured AutoMTLS. */
    autoMTLSLogged?: boolean;
    /** Whether the connection ran multiplexed (TypeScript: the plugin's handshake said so; Go: go-plugin logged it). */
    multiplexed?: boolean;
    /** TypeScript host serving host services: how its confined walk reached names (at-syscalls.ts). */
    confinement?: AtSyscalls['via'];
  };
}
