/**
 * `npm run bench -- --profile`: the ts->ts 64 B call (on hst's native
 * transport, as ts->ts runs), one at a time, with both the host
 * (bench/runner.js) and the plugin under node --cpu-prof, and the self time
 * of each inside the timed calls only (start-up and warm-up excluded), by
 * category and by function.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, categories, type ProfileBreakdown } from './cpu-profile.js';
import { formatNumber } from './markdown.js';
import { runJob, type RunContext } from './run-job.js';
import type { Settings } from './settings.js';
import { tsTs } from './sides.js';
import { pluginTarget } from './target.js';
import { quantile } from './stats.js';

/** Profiled calls per run: several times a latency run, so the profile holds enough samples. */
const CALLS_FACTOR = 4;
/** A sample every 250 µs (the default is 1 ms): a call takes a few hundred. */
const SAMPLE_INTERVAL_US = 250;
const TOP_FUNCTIONS = 12;

export async function runProfile(ctx: RunContext, settings: Settings, progress: (line: string) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hst-bench-profile-'));
  try {
    const cpuProf = (name: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`, `--cpu-prof-interval=${SAMPLE_INTERVAL_US}`];
    const calls = settings.latency.calls * CALLS_FACTOR;
    progress(`profiling ${calls} ts->ts 64 B calls`);
    const report = await runJob(
      tsTs,
      {
        target: pluginTarget(tsTs, [process.execPath, ...cpuProf('plugin'), join(ctx.layout.distBench, 'plugin.js')]),
        tasks: [{ kind: 'latency', payload: 64, warmup: settings.latency.warmup, calls }],
      },
      { ...ctx, nodeArgs: cpuProf('host') },
    );
    const result = report.results[0];
    const [from, to] = result?.windowUs ?? [0, 0];
    if (!result?.samplesNs || to <= from) throw new Error('the runner reported no timed window');
    const files = readdirSync(dir);
    for (const name of ['host', 'plugin']) if (!files.includes(`${name}.cpuprofile`)) throw new Error(`no ${name} profile was written`);
    const host = analyze(join(dir, 'host.cpuprofile'), from, to);
    const plugin = analyze(join(dir, 'plugin.cpuprofile'), from, to);
    return render(calls, report.checks.transport ?? '?', quantile(result.samplesNs, 0.5) / 1e3, host, plugin);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function busyUs(b: ProfileBreakdown): number {
  return [...b.byCategory].filter(([c]) => c !== 'idle').reduce((sum, [, us]) => sum + us, 0);
}

function render(calls: number, transport: string, p50Us: number, host: ProfileBreakdown, plugin: ProfileBreakdown): string {
  const hostBusy = busyUs(host);
  const pluginBusy = busyUs(plugin);
  const pct = (us: number, of: number) => `${((us / of) * 100).toFixed(1)} %`;
  const perCall = (us: number) => `${formatNumber(us / calls)} µs`;
  const out = [
    `${calls.toLocaleString('en-US')} sequential 64 B Echo calls, ts->ts (protocol ${transport}), p50 ${formatNumber(p50Us)} µs while profiled (profiling slows calls down). ` +
      'Self time inside the timed calls only; native frames count for their nearest JavaScript caller.',
    '',
    '| category | host: share of busy time | host: CPU per call | plugin: share of busy time | plugin: CPU per call |',
    '|---|---:|---:|---:|---:|',
    ...categories
      .filter((c) => c !== 'idle')
      .map((c) => {
        const h = host.byCategory.get(c) ?? 0;
        const p = plugin.byCategory.get(c) ?? 0;
        return `| ${c} | ${pct(h, hostBusy)} | ${perCall(h)} | ${pct(p, pluginBusy)} | ${perCall(p)} |`;
      }),
    `| **busy, total** | ${pct(hostBusy, host.windowUs)} of the time | ${perCall(hostBusy)} | ${pct(pluginBusy, plugin.windowUs)} of the time | ${perCall(pluginBusy)} |`,
  ];
  for (const [name, b, busy] of [['host', host, hostBusy], ['plugin', plugin, pluginBusy]] as const) {
    out.push(
      '',
      `Top functions by self time, ${name} ("reached through": the nearest caller outside Node's own code, for most of that time):`,
      '',
      '| function | where | category | share of busy time | reached through |',
      '|---|---|---|---:|---|',
    );
    for (const f of b.functions.filter((f) => f.category !== 'idle').slice(0, TOP_FUNCTIONS)) {
      out.push(`| \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.category} | ${pct(f.us, busy)} | ${f.via ? `\`${f.via}\`` : ''} |`);
    }
  }
  return out.join('\n');
}
