/**
 * `npm run bench -- --smoke` runs every section once, minimally, and writes
 * what the full benchmark writes: results in the published schema, the
 * meta file, and the Markdown tables. Timings are reported, never asserted.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sections } from '../../bench/sections/all.js';
import { pairs, sideName } from '../../bench/sides.js';
import { dist, goPeers, inTempDir, pythonPeer, repo } from '../support/peers.js';

const run = promisify(execFile);
// In CI both must be there (these throw); elsewhere the benchmark leaves their sides out.
const withGo = 'bin' in goPeers();
const withPython = 'python' in pythonPeer();

it('the smoke-sized benchmark writes valid results and prints a table per section', () =>
  inTempDir(async (dir) => {
    const { stdout } = await run(process.execPath, [join(dist, 'bench', 'main.js'), '--smoke', '--out', dir], { cwd: repo, maxBuffer: 16 * 1024 * 1024 });

    const results = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Array<Record<string, unknown>>;
    assert.ok(Array.isArray(results) && results.length > 0, 'latest.json holds no results');
    for (const r of results) {
      assert.deepEqual(Object.keys(r).sort(), ['metric', 'pair', 'unit', 'value'], JSON.stringify(r));
      assert.ok((pairs as readonly unknown[]).includes(r.pair), `unknown pair in ${JSON.stringify(r)}`);
      assert.ok(typeof r.metric === 'string' && r.metric.length > 0 && typeof r.unit === 'string' && r.unit.length > 0, JSON.stringify(r));
      assert.ok(typeof r.value === 'number' && Number.isFinite(r.value) && r.value > 0, `not a finite positive value: ${JSON.stringify(r)}`);
    }
    const has = (pair: string, metric: string) => results.some((r) => r.pair === pair && r.metric === metric);
    for (const section of sections) assert.ok(results.some((r) => String(r.metric).startsWith(`${section.id}.`)), `no results for section ${section.id}`);
    const measuredPairs = withGo ? ['ts->ts', 'ts->ts/grpc', 'ts->go', 'go->ts', 'go->go'] : ['ts->ts', 'ts->ts/grpc'];
    for (const pair of measuredPairs) {
      for (const metric of ['unary.p50', 'unary-mtls.x32', 'payload.1MiB', 'start.cold', 'memory.busy.n1.p99']) assert.ok(has(pair, metric), `${pair} has no ${metric}`);
    }
    assert.ok(has('floor', 'unary.p50.node'));
    assert.equal(has('floor', 'unary.p50.go'), withGo);
    for (const pair of ['ts->ts', 'ts->ts/grpc']) assert.ok(has(pair, 'callback.stat.p50') && has(pair, 'stream.read-file-stream.1MiB'), `${pair} has no callback or stream figures`);
    assert.ok(has('floor', 'stream.fs-read.1MiB.node'));
    assert.equal(has('ts->ts', 'start.python.cold'), withPython);

    const meta = JSON.parse(readFileSync(join(dir, 'latest.meta.json'), 'utf8'));
    assert.deepEqual(meta.failures, []);
    assert.deepEqual(meta.leftoverProcesses, []);
    assert.ok(meta.machine.cores > 0 && meta.machine.node === process.version);
    assert.ok(meta.spread.every((s: { n: number; min: number; max: number }) => s.n === 1 && s.min <= s.max));
    // ts->ts is hst's default, the native transport; ts->ts/grpc the same programs on gRPC.
    const transports = (side: string) => new Set((meta.checks[side] as Array<{ transport?: string }>).map((c) => c.transport));
    assert.deepEqual(transports('ts->ts'), new Set(['hst1']));
    assert.deepEqual(transports('ts->ts/grpc'), new Set(['grpc']));
    // The bundled runner serves host services as an application's host would: its confined walk on the openat addon.
    const confinement = new Set((meta.checks['ts->ts'] as Array<{ confinement?: string }>).map((c) => c.confinement).filter(Boolean));
    assert.deepEqual(confinement, new Set(['openat']));
    // The multiplexing section ran each side both ways, and each host confirmed which way it ran.
    for (const side of ['ts->go', 'go->ts', 'ts->ts/grpc', 'go->go'].filter((s) => withGo || s === 'ts->ts/grpc')) {
      const muxed = new Set((meta.checks[side] as Array<{ multiplexed?: boolean }>).map((c) => c.multiplexed));
      assert.ok(muxed.has(true) && muxed.has(false), `${side}: multiplexed checks ${[...muxed].join(', ')}`);
    }

    for (const section of sections) {
      const table = stdout.split(`### ${section.title}\n`)[1];
      assert.ok(table, `no table for ${section.id}`);
      const lines = table.trim().split('\n');
      // The section's own columns, in its order (those whose toolchain is missing left out).
      const header = (lines[0] ?? '').split(' | ').slice(2).map((c) => c.replace(/ \|$/, ''));
      assert.deepEqual(header, section.columns.map(sideName).filter((c) => header.includes(c)), `${section.id}: header ${lines[0]}`);
      assert.ok(header.length > 0);
      assert.match(lines[1] ?? '', /^\|---\|---\|(---:\|)+$/);
      assert.match(lines[2] ?? '', /^\| \S.* \| \S+ \| \d/, `${section.id}: no figures in its first row`);
    }
  }));
