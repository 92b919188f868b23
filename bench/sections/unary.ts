/**
 * Sections 1 and 7: the host->plugin call with a 64 B payload, one at a
 * time (p50/p99) and with 1, 8, 32 and 128 calls in flight (calls/s); once
 * in plain text with the floor beside it, once with AutoMTLS on (which the
 * native transport of ts->ts does without).
 */
import type { Task } from '../job.js';
import { callsPerSecond, latencies, versusGoGo, type Section } from '../section.js';
import { available, floorGo, floorNode, floorTarget, pluginCommand, pluginPairs } from '../sides.js';
import { pluginTarget } from '../target.js';

const PAYLOAD = 64;
/** Why the ts->ts column of the AutoMTLS table is no slower than its plain one. */
const NATIVE_HAS_NO_TLS =
  'ts->ts runs on hst’s native transport, a socket pair only the two processes hold, which has no TLS: with AutoMTLS on its calls are the same as without. ts->ts/grpc is the same pair over TLS.';

function unary(autoMTLS: boolean): Section {
  const id = autoMTLS ? 'unary-mtls' : 'unary';
  const columns = autoMTLS ? pluginPairs : [...pluginPairs, floorNode, floorGo];
  return {
    id,
    title: autoMTLS ? '64 B host->plugin call, AutoMTLS on' : '64 B host->plugin call',
    columns,
    rows: (settings) => [
      { id: `${id}.p50`, label: 'latency p50, one call at a time', unit: 'µs' },
      { id: `${id}.p99`, label: 'latency p99, one call at a time', unit: 'µs' },
      ...settings.throughput.inFlight.map((n) => ({ id: `${id}.x${n}`, label: `throughput, ${n} in flight`, unit: 'calls/s' })),
    ],
    reps: (settings) => settings.reps,
    async plan({ settings, layout, toolchains }) {
      const { latency, throughput } = settings;
      const tasks: Task[] = [
        { kind: 'latency', payload: PAYLOAD, ...latency },
        ...throughput.inFlight.map((inFlight): Task => ({ kind: 'throughput', payload: PAYLOAD, inFlight, warmupMs: throughput.warmupMs, durationMs: throughput.durationMs })),
      ];
      return columns
        .filter((side) => available(side, toolchains))
        .map((side) => ({
          side,
          job: {
            target: side.plugin ? pluginTarget(side, pluginCommand(side.plugin, layout, toolchains), { autoMTLS }) : floorTarget(layout),
            tasks,
          },
          collect: ({ results }) => [
            ...latencies(side, id, results[0]),
            ...throughput.inFlight.map((n, i) => callsPerSecond(side, `${id}.x${n}`, results[i + 1])),
          ],
        }));
    },
    ratio: versusGoGo,
    ...(autoMTLS ? { note: NATIVE_HAS_NO_TLS } : {}),
  };
}

export const unarySection = unary(false);
export const unaryMtlsSection = unary(true);
