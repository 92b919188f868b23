/**
 * Section 4: a large file streamed to the plugin through host services
 * Filesystem/ReadFileStream (64 KiB chunks), against the same plugin
 * process reading the same file itself with its language's own file API in
 * the same chunk size (the floor: no host, no gRPC). The file is read once
 * untimed first, so both read from the page cache.
 */
import { streamFile } from '../fixtures.js';
import type { TaskResult } from '../job.js';
import { required, type Section } from '../section.js';
import { sizeName } from '../settings.js';
import { available, floorGo, floorNode, metricName, pluginCommand, tsGo, tsTs, tsTsGrpc, type Side } from '../sides.js';
import { median } from '../stats.js';
import { pluginTarget } from '../target.js';
import { join } from 'node:path';

const MiB = 1024 * 1024;
/** Whose direct read each plugin side is measured against. */
const directReadOf = new Map<Side, Side>([
  [tsTs, floorNode],
  [tsTsGrpc, floorNode],
  [tsGo, floorGo],
]);
/**
 * The sides whose plugin also times that direct read: one per floor, so each
 * floor has one value a repetition. ts->ts/grpc runs the same plugin program
 * as ts->ts, and a program reads a file no differently for how its host reached it.
 */
const floorReaders = new Set<Side>([tsTs, tsGo]);
const pluginSides = [tsTs, tsTsGrpc, tsGo];

export const streamSection: Section = {
  id: 'stream',
  title: 'Streaming a file to the plugin',
  columns: [...pluginSides, floorNode, floorGo],
  rows: (settings) => {
    const size = sizeName(settings.stream.bytes);
    return [
      { id: `stream.read-file-stream.${size}`, label: `host services ReadFileStream, ${size}`, unit: 'MiB/s' },
      { id: `stream.fs-read.${size}`, label: `the plugin reading the file itself, ${size}`, unit: 'MiB/s' },
    ];
  },
  reps: (settings) => settings.reps,
  async plan({ settings, layout, toolchains, fixtures }) {
    const { bytes, reads } = settings.stream;
    const size = sizeName(bytes);
    const workspace = fixtures.workspace(bytes);
    const file = streamFile(bytes);
    const rate = (result: TaskResult | undefined, what: string) => {
      // A short read would look fast: every timed read must have delivered the whole file.
      if (result?.bytes !== bytes * reads) throw new Error(`${what} delivered ${result?.bytes ?? 0} bytes in ${reads} reads of ${bytes}`);
      return bytes / MiB / (median(required(result.samplesNs, what)) / 1e9);
    };
    return pluginSides
      .filter((side) => available(side, toolchains))
      .map((side) => {
        const floor = directReadOf.get(side) as Side;
        const readsFloor = floorReaders.has(side);
        return {
          side,
          job: {
            target: pluginTarget(side, pluginCommand(side.plugin ?? 'ts', layout, toolchains), { hostServices: { workspace } }),
            tasks: [
              { kind: 'drive', op: 'read-file-stream', path: file, warmup: 1, calls: reads, inFlight: 1, durationMs: 0 },
              ...(readsFloor ? [{ kind: 'drive', op: 'fs-read', path: join(workspace, file), warmup: 1, calls: reads, inFlight: 1, durationMs: 0 } as const] : []),
            ],
          },
          collect: ({ results }) => [
            { pair: side.pair, metric: `stream.read-file-stream.${size}`, value: rate(results[0], 'ReadFileStream'), unit: 'MiB/s' },
            ...(readsFloor ? [{ pair: floor.pair, metric: metricName(floor, `stream.fs-read.${size}`), value: rate(results[1], 'fs read'), unit: 'MiB/s' }] : []),
          ],
        };
      });
  },
  ratio: {
    label: '× the plugin’s own read',
    baseline: (side, row) => {
      const floor = directReadOf.get(side);
      return floor && row.id.startsWith('stream.read-file-stream.')
        ? { pair: floor.pair, metric: metricName(floor, row.id.replace('read-file-stream', 'fs-read')) }
        : undefined;
    },
  },
};
