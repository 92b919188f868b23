/**
 * go-plugin's broker multiplexing (GRPCBrokerMultiplex) against the same
 * side without it: a 64 B call one at a time, 64 B calls 32 in flight, and
 * 1 MiB echoes 8 in flight. With multiplexing every gRPC connection is a
 * yamux stream of one connection; go->go shows what that costs go-plugin
 * itself.
 */
import type { Task } from '../job.js';
import type { Measurement } from '../measurements.js';
import { callsPerSecond, latencies, type Row, type Section } from '../section.js';
import { available, goGo, goTs, pluginCommand, tsGo, tsTsGrpc } from '../sides.js';
import { pluginTarget } from '../target.js';

const MiB = 1024 * 1024;
const IN_FLIGHT = 32;
const modes = [false, true] as const;
const name = (multiplex: boolean) => (multiplex ? 'on' : 'off');

export const multiplexSection: Section = {
  id: 'multiplex',
  title: 'Broker multiplexing off and on',
  columns: [tsGo, goTs, tsTsGrpc, goGo],
  rows: (settings) =>
    modes.flatMap((multiplex): Row[] => [
      { id: `multiplex.${name(multiplex)}.p50`, label: `64 B call p50, multiplexing ${name(multiplex)}`, unit: 'µs' },
      { id: `multiplex.${name(multiplex)}.x${IN_FLIGHT}`, label: `64 B calls, ${IN_FLIGHT} in flight, multiplexing ${name(multiplex)}`, unit: 'calls/s' },
      { id: `multiplex.${name(multiplex)}.1MiB`, label: `1 MiB echo, ${settings.payload.inFlight} in flight, multiplexing ${name(multiplex)}`, unit: 'MiB/s' },
    ]),
  reps: (settings) => settings.reps,
  async plan({ settings, layout, toolchains }) {
    const { latency, throughput, payload } = settings;
    const tasks: Task[] = [
      { kind: 'latency', payload: 64, ...latency },
      { kind: 'throughput', payload: 64, inFlight: IN_FLIGHT, warmupMs: throughput.warmupMs, durationMs: throughput.durationMs },
      { kind: 'throughput', payload: MiB, inFlight: payload.inFlight, warmupMs: payload.warmupMs, durationMs: payload.durationMs },
    ];
    return multiplexSection.columns
      .filter((side) => available(side, toolchains))
      .flatMap((side) =>
        modes.map((multiplex) => ({
          side,
          job: { target: pluginTarget(side, pluginCommand(side.plugin ?? 'ts', layout, toolchains), { multiplex }), tasks },
          collect: ({ results }): Measurement[] => {
            const id = `multiplex.${name(multiplex)}`;
            const [p50] = latencies(side, id, results[0]);
            const big = callsPerSecond(side, `${id}.1MiB`, results[2]);
            return [p50 as Measurement, callsPerSecond(side, `${id}.x${IN_FLIGHT}`, results[1]), { ...big, value: big.value, unit: 'MiB/s' }];
          },
        })),
      );
  },
  ratio: {
    label: '× multiplexing off',
    baseline: (side, row) => (row.id.startsWith('multiplex.on.') ? { pair: side.pair, metric: row.id.replace('multiplex.on.', 'multiplex.off.') } : undefined),
  },
  note: 'Each cell with multiplexing on is compared with the same pair without it, in the same run. The 1 MiB row counts the payload once per call.',
};
