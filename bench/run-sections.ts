/**
 * Runs sections repetition by repetition with the sides interleaved: rep 1
 * of every side, then rep 2, each repetition starting from a different side,
 * so drift of the machine hits every side alike. A failed job is recorded
 * and the run goes on; its metrics are then missing, never made up.
 */
import type { Report } from './job.js';
import { Measurements } from './measurements.js';
import { runJob, type RunContext } from './run-job.js';
import type { Section, SectionContext } from './section.js';
import { sideName } from './sides.js';

export interface SectionsRun {
  measurements: Measurements;
  failures: string[];
  /** What each side's runners confirmed about themselves and their peers, each different answer once. */
  checks: Record<string, Report['checks'][]>;
}

export async function runSections(list: Section[], ctx: SectionContext, runCtx: RunContext, progress: (line: string) => void): Promise<SectionsRun> {
  const measurements = new Measurements();
  const failures: string[] = [];
  const checks = new Map<string, Map<string, Report['checks']>>();
  for (const section of list) {
    const reps = section.reps(ctx.settings);
    for (let rep = 0; rep < reps; rep++) {
      const planned = await section.plan(ctx);
      const shift = rep % Math.max(1, planned.length);
      for (const { side, job, collect } of [...planned.slice(shift), ...planned.slice(0, shift)]) {
        const name = sideName(side);
        const started = Date.now();
        try {
          const report = await runJob(side, job, runCtx);
          measurements.addAll(collect(report));
          const seen = checks.get(name) ?? new Map();
          checks.set(name, seen.set(JSON.stringify(report.checks), report.checks));
          progress(`${section.id} ${rep + 1}/${reps} ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
        } catch (err) {
          const line = `${section.id}, repetition ${rep + 1}, ${name}: ${(err as Error).message}`;
          failures.push(line);
          progress(`FAILED ${line}`);
        }
      }
    }
  }
  return { measurements, failures, checks: Object.fromEntries([...checks].map(([side, seen]) => [side, [...seen.values()]])) };
}
