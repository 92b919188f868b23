/**
 * Section 3: plugin->host calls through the broker. Our TypeScript host
 * serves hst's host services (HostServices + establishHostServices); the
 * plugin, TypeScript (on the native transport and on gRPC) or Go, calls Filesystem/Stat and ReadFile of a 4 KiB
 * file and times those calls itself. The plain host->plugin Echo of the same
 * process pair is measured in the same job, as the yardstick.
 */
import type { DriveOp, Task } from '../job.js';
import { SMALL_FILE } from '../fixtures.js';
import { callsPerSecond, latencies, type Section } from '../section.js';
import { available, pluginCommand, tsGo, tsTs, tsTsGrpc } from '../sides.js';
import { pluginTarget } from '../target.js';

const columns = [tsTs, tsTsGrpc, tsGo];
const calls: Array<{ name: string; label: string; op?: DriveOp }> = [
  { name: 'echo', label: 'host->plugin Echo 64 B (yardstick)' },
  { name: 'stat', label: 'plugin->host Filesystem/Stat', op: 'stat' },
  { name: 'read-4KiB', label: 'plugin->host Filesystem/ReadFile, 4 KiB', op: 'read-file' },
];

export const callbackSection: Section = {
  id: 'callback',
  title: 'Plugin->host calls through the broker (hst host services)',
  columns,
  rows: (settings) =>
    calls.flatMap(({ name, label }) => [
      { id: `callback.${name}.p50`, label: `${label}: p50`, unit: 'µs' },
      { id: `callback.${name}.p99`, label: `${label}: p99`, unit: 'µs' },
      { id: `callback.${name}.x${settings.callback.inFlight}`, label: `${label}: ${settings.callback.inFlight} in flight`, unit: 'calls/s' },
    ]),
  reps: (settings) => settings.reps,
  async plan({ settings, layout, toolchains, fixtures }) {
    const { warmup, calls: count, inFlight, durationMs } = settings.callback;
    const workspace = fixtures.workspace(settings.stream.bytes);
    const tasks = calls.flatMap(({ op }): Task[] =>
      op
        ? [
            { kind: 'drive', op, path: SMALL_FILE, warmup, calls: count, inFlight: 1, durationMs: 0 },
            { kind: 'drive', op, path: SMALL_FILE, warmup: 0, calls: 0, inFlight, durationMs },
          ]
        : [
            { kind: 'latency', payload: 64, warmup, calls: count },
            { kind: 'throughput', payload: 64, inFlight, warmupMs: 0, durationMs },
          ],
    );
    return columns
      .filter((side) => available(side, toolchains))
      .map((side) => ({
        side,
        job: { target: pluginTarget(side, pluginCommand(side.plugin ?? 'ts', layout, toolchains), { hostServices: { workspace } }), tasks },
        collect: ({ results }) =>
          calls.flatMap(({ name }, i) => [
            ...latencies(side, `callback.${name}`, results[2 * i]),
            callsPerSecond(side, `callback.${name}.x${inFlight}`, results[2 * i + 1]),
          ]),
      }));
  },
  ratio: {
    label: '× the same pair’s Echo',
    baseline: (side, row) => {
      const [, name, stat] = row.id.split('.');
      return name === 'echo' ? undefined : { pair: side.pair, metric: `callback.echo.${stat}` };
    },
  },
};
