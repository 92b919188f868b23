/**
 * The results as Markdown: one table per section, a row per metric, a column
 * per side; each figure with its spread over repetitions and its ratio to
 * the section's baseline (go->go unless the section says otherwise).
 */
import type { Machine } from './machine.js';
import type { Result, ResultSpread } from './measurements.js';
import type { Section } from './section.js';
import type { Settings } from './settings.js';
import { metricName, sideName, type Side } from './sides.js';

export interface RunSummary {
  mode: string;
  settings: Settings;
  machine: Machine;
  results: Result[];
  spreads: ResultSpread[];
  sections: Section[];
  missing: string[];
  failures: string[];
}

export function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(1)}×`;
}

export function renderMarkdown(run: RunSummary): string {
  const key = (pair: string, metric: string) => `${pair}\t${metric}`;
  const values = new Map(run.results.map((r) => [key(r.pair, r.metric), r.value]));
  const spreads = new Map(run.spreads.map((s) => [key(s.pair, s.metric), s.spread]));
  const m = run.machine;
  const out: string[] = [
    `Measured ${m.date.slice(0, 10)} (${run.mode} run) on ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, Linux ${m.kernel}; ` +
      `Node ${m.node}, @bufbuild/protobuf ${m.protobufEs}` +
      (m.go ? `, ${m.go}, go-plugin ${m.goPlugin ?? '?'}` : '') +
      (m.python ? `, Python ${m.python} with grpcio ${m.grpcio}` : '') +
      `. Other work on the machine: ${Math.round(m.busyBeforeStart * 100)} % of the cores just before the run` +
      (m.otherWork ? `, ${Math.round(m.otherWork.shareOfCores * 100)} % during it (${m.otherWork.coreSeconds} core-seconds)` : '') +
      `; load average ${m.loadAverageStart.join(' ')} at the start` +
      (m.loadAverageEnd ? `, ${m.loadAverageEnd.join(' ')} at the end.` : '.'),
    '',
    `Each figure is the median of ${run.settings.reps} repetitions (memory: ${run.settings.memory.reps}), ± half the min–max range as a share of it; ` +
      'the ratio in parentheses divides it by the baseline named under each table. For latencies, times and memory lower is better; for calls/s and MiB/s higher is.',
  ];
  if (run.missing.length > 0) out.push('', ...run.missing.map((line) => `**Not measured:** ${line}`));
  if (run.failures.length > 0) out.push('', ...run.failures.map((line) => `**Failed:** ${line}`));
  for (const section of run.sections) {
    out.push('', `### ${section.title}`, '', `| | unit | ${section.columns.map(sideName).join(' | ')} |`, `|---|---|${section.columns.map(() => '---:').join('|')}|`);
    for (const row of section.rows(run.settings)) {
      const cells = section.columns.map((side) => cell(side, row.id));
      if (cells.every((c) => c === '—')) continue;
      out.push(`| ${row.label} | ${row.unit} | ${cells.join(' | ')} |`);
    }
    out.push('', `_Ratio: ${section.ratio.label}${section.alsoRatio ? `; then ${section.alsoRatio.label}` : ''}._`);
    if (section.note) out.push('', `_${section.note}_`);

    function cell(side: Side, rowId: string): string {
      const metric = metricName(side, rowId);
      const value = values.get(key(side.pair, metric));
      if (value === undefined) return '—';
      const s = spreads.get(key(side.pair, metric));
      const plusMinus = s && s.n > 1 ? ` ±${Math.round(((s.max - s.min) / 2 / value) * 100)}%` : '';
      const ratios = [section.ratio, section.alsoRatio].flatMap((ratio) => {
        const base = ratio?.baseline(side, { id: rowId, label: '', unit: '' });
        const baseValue = base && values.get(key(base.pair, base.metric));
        return baseValue ? [formatRatio(value / baseValue)] : [];
      });
      return `${formatNumber(value)}${plusMinus}${ratios.length > 0 ? ` (${ratios.join('; ')})` : ''}`;
    }
  }
  return out.join('\n');
}
