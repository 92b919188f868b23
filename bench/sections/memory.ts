/**
 * Section 6: memory, and latency under load. A fresh host process starts N
 * plugins of one kind (N = 1, 10, 50 in a full run), warms each up, lets
 * them idle, and takes the memory of itself and of every plugin; then it
 * keeps one call in flight to every plugin at once and times each call.
 * RSS totals count pages shared between processes (the node binary, shared
 * libraries) once per process; the PSS total divides them and is the honest
 * sum. The Node floor runs the same with bare Node echo processes (see the
 * start section) in place of plugins.
 */
import type { TaskResult } from '../job.js';
import type { Measurement } from '../measurements.js';
import { callsPerSecond, latencies, required, versusGoGo, versusNodeFloor, type Row, type Section } from '../section.js';
import type { Settings } from '../settings.js';
import { available, floorNode, floorTarget, metricName, pluginCommand, pluginPairs, type Side } from '../sides.js';
import { pluginTarget } from '../target.js';
import { median } from '../stats.js';

const MiB = 1024 * 1024;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function rows(settings: Settings): Row[] {
  const [first] = settings.memory.counts;
  return [
    { id: 'memory.plugin-rss', label: `one idle plugin, RSS (of the ${first}-plugin run)`, unit: 'MiB' },
    { id: 'memory.host-rss.n0', label: 'host process before any plugin, RSS', unit: 'MiB' },
    ...settings.memory.counts.flatMap((n) => {
      const plugins = n === 1 ? '1 plugin' : `${n} plugins`;
      return [
        { id: `memory.host-rss.n${n}`, label: `${plugins}: host process RSS`, unit: 'MiB' },
        { id: `memory.total-rss.n${n}`, label: `${plugins}: host + plugins, RSS summed`, unit: 'MiB' },
        { id: `memory.total-pss.n${n}`, label: `${plugins}: host + plugins, PSS summed`, unit: 'MiB' },
        { id: `memory.busy.n${n}.p50`, label: `${plugins} busy: call latency p50`, unit: 'µs' },
        { id: `memory.busy.n${n}.p99`, label: `${plugins} busy: call latency p99`, unit: 'µs' },
        { id: `memory.busy.n${n}.calls`, label: `${plugins} busy: calls/s, all together`, unit: 'calls/s' },
      ];
    }),
  ];
}

function measure(side: Side, n: number, first: boolean, r: TaskResult | undefined): Measurement[] {
  const mib = (metric: string, bytes: number): Measurement => ({ pair: side.pair, metric: metricName(side, metric), value: bytes / MiB, unit: 'MiB' });
  const host = required(r?.hostRssBytes, 'host RSS');
  const plugins = required(r?.pluginRssBytes, 'plugin RSS');
  if (plugins.length !== n) throw new Error(`asked for ${n} plugins, measured ${plugins.length}`);
  return [
    ...(first ? [mib('memory.plugin-rss', median(plugins)), mib('memory.host-rss.n0', required(r?.hostRssBeforeBytes, 'host RSS before'))] : []),
    mib(`memory.host-rss.n${n}`, host),
    mib(`memory.total-rss.n${n}`, host + sum(plugins)),
    mib(`memory.total-pss.n${n}`, required(r?.hostPssBytes, 'host PSS') + sum(required(r?.pluginPssBytes, 'plugin PSS'))),
    ...latencies(side, `memory.busy.n${n}`, r),
    callsPerSecond(side, `memory.busy.n${n}.calls`, r),
  ];
}

export const memorySection: Section = {
  id: 'memory',
  title: 'Memory, and latency with many plugins busy',
  columns: [...pluginPairs, floorNode],
  rows,
  reps: (settings) => settings.memory.reps,
  async plan({ settings, layout, toolchains }) {
    const { counts, warmup, settleMs, durationMs } = settings.memory;
    return counts.flatMap((n, i) =>
      [...pluginPairs, floorNode]
        .filter((side) => available(side, toolchains))
        .map((side) => ({
          side,
          job: {
            target: side.floor ? floorTarget(layout) : pluginTarget(side, pluginCommand(side.plugin ?? 'ts', layout, toolchains)),
            tasks: [{ kind: 'fleet', plugins: n, warmup, settleMs, durationMs }],
          },
          collect: ({ results }) => measure(side, n, i === 0, results[0]),
        })),
    );
  },
  ratio: versusGoGo,
  alsoRatio: versusNodeFloor,
};
