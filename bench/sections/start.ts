/**
 * Section 5: from starting a plugin to its first successful call. Each
 * repetition makes a fresh copy of each plugin (see Fixtures.freshPlugin)
 * and a fresh host process; the first start of that copy in that host is
 * "cold", the starts after it "warm". The page cache is not dropped (that
 * needs root and slows the whole machine), so the runtime itself (node, the
 * Go runtime in the binary, python and its installed packages) is usually
 * cached: cold means a never-run plugin and a host that has started nothing
 * yet, not a cold machine. The Node floor is a bare Node process that listens,
 * takes the host's connection and echoes one message: what any Node plugin
 * pays before it does anything of its own.
 */
import type { TaskResult } from '../job.js';
import { versusGoGo, versusNodeFloor, type Planned, type Section } from '../section.js';
import { available, floorNode, floorTarget, metricName, pluginPairs, tsPython } from '../sides.js';
import { pluginTarget } from '../target.js';
import { median } from '../stats.js';

const NS_PER_MS = 1e6;

/** The start times of a start task: the first (cold) and at least one after it. */
function startSamples(result: TaskResult | undefined): number[] {
  const samples = result?.samplesNs ?? [];
  if (samples.length < 2) throw new Error('the runner reported too few starts');
  return samples;
}

export const startSection: Section = {
  id: 'start',
  title: 'Start to first successful call',
  columns: [...pluginPairs, floorNode],
  rows: () => [
    { id: 'start.cold', label: 'cold: first start of a fresh copy', unit: 'ms' },
    { id: 'start.warm', label: 'warm: the starts after it (median)', unit: 'ms' },
    { id: 'start.mtls.warm', label: 'warm, AutoMTLS on (median)', unit: 'ms' },
    { id: 'start.python.cold', label: 'Python plugin (hst SDK) under the hst host, cold', unit: 'ms' },
    { id: 'start.python.warm', label: 'Python plugin (hst SDK) under the hst host, warm', unit: 'ms' },
  ],
  reps: (settings) => settings.reps,
  async plan({ settings, layout, toolchains, fixtures }) {
    const starts = [...pluginPairs, tsPython, floorNode]
      .filter((side) => available(side, toolchains))
      .map((side) => {
        const prefix = side.plugin === 'python' ? 'start.python' : 'start';
        const target = side.floor ? floorTarget(layout) : pluginTarget(side, fixtures.freshPlugin(side.plugin ?? 'ts'));
        return {
          side,
          job: { target, tasks: [{ kind: 'start', starts: 1 + settings.start.warm }] },
          collect: ({ results }) => {
            const [cold, ...warm] = startSamples(results[0]);
            return [
              { pair: side.pair, metric: metricName(side, `${prefix}.cold`), value: (cold as number) / NS_PER_MS, unit: 'ms' },
              { pair: side.pair, metric: metricName(side, `${prefix}.warm`), value: median(warm) / NS_PER_MS, unit: 'ms' },
            ];
          },
        } satisfies Planned;
      });
    // What AutoMTLS adds: both certificates made, the handshake's field parsed, TLS on the connection (none on the native one).
    const withTls = pluginPairs
      .filter((side) => available(side, toolchains))
      .map((side) => ({
        side,
        job: { target: pluginTarget(side, fixtures.freshPlugin(side.plugin ?? 'ts'), { autoMTLS: true }), tasks: [{ kind: 'start', starts: 1 + settings.start.warm }] },
        collect: ({ results }) => {
          const [, ...warm] = startSamples(results[0]);
          return [{ pair: side.pair, metric: 'start.mtls.warm', value: median(warm) / NS_PER_MS, unit: 'ms' }];
        },
      }) satisfies Planned);
    return [...starts, ...withTls];
  },
  ratio: {
    label: versusGoGo.label,
    // The Python plugin's start compares with go-plugin's own Go plugin start, like the rest.
    baseline: (side, row) => versusGoGo.baseline(side, { ...row, id: row.id.replace('.python', '') }),
  },
  alsoRatio: versusNodeFloor,
};
