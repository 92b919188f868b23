/**
 * Section 2: throughput by payload size. Each call carries the payload to
 * the plugin and the plugin sends it back; MiB/s counts the payload once per
 * call (the bytes the host sent, equal to the bytes it got back).
 */
import type { Task } from '../job.js';
import { callsPerSecond, versusGoGo, type Section } from '../section.js';
import { sizeName } from '../settings.js';
import { available, floorGo, floorNode, floorTarget, pluginCommand, pluginPairs } from '../sides.js';
import { pluginTarget } from '../target.js';

const MiB = 1024 * 1024;
const columns = [...pluginPairs, floorNode, floorGo];

export const payloadSection: Section = {
  id: 'payload',
  title: 'Echo throughput by payload size',
  columns,
  rows: (settings) =>
    settings.payload.sizes.map((size) => ({ id: `payload.${sizeName(size)}`, label: `${sizeName(size)} each way, ${settings.payload.inFlight} in flight`, unit: 'MiB/s' })),
  reps: (settings) => settings.reps,
  async plan({ settings, layout, toolchains }) {
    const { sizes, inFlight, warmupMs, durationMs } = settings.payload;
    const tasks = sizes.map((payload): Task => ({ kind: 'throughput', payload, inFlight, warmupMs, durationMs }));
    return columns
      .filter((side) => available(side, toolchains))
      .map((side) => ({
        side,
        job: {
          target: side.plugin ? pluginTarget(side, pluginCommand(side.plugin, layout, toolchains)) : floorTarget(layout),
          tasks,
        },
        collect: ({ results }) =>
          sizes.map((size, i) => {
            const rate = callsPerSecond(side, `payload.${sizeName(size)}`, results[i]);
            return { ...rate, value: (rate.value * size) / MiB, unit: 'MiB/s' };
          }),
      }));
  },
  ratio: versusGoGo,
};
