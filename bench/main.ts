/**
 * `npm run bench`: hst measured against go-plugin itself and against bare
 * unix sockets. See docs/benchmarks.md for what is measured and how. Prints
 * progress on stderr and the results table on stdout; writes
 * latest.json and latest.meta.json; a full run also regenerates the
 * results block of docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { replaceBlock } from './docs-block.js';
import { Fixtures } from './fixtures.js';
import { killLeftovers } from './leftovers.js';
import { watchMachine } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { parseOptions, usage, UsageError, type Options } from './options.js';
import { runProfile } from './profile.js';
import { runSections } from './run-sections.js';
import type { RunContext } from './run-job.js';
import { sections } from './sections/all.js';
import { settingsFor } from './settings.js';
import { BUNDLED_PLUGIN, BUNDLED_RUNNER, type Layout } from './sides.js';
import { bundle } from '../src/cli/build.js';
import { findToolchains } from './toolchains.js';

const distBench = dirname(fileURLToPath(import.meta.url));
const repo = join(distBench, '..', '..');
const layout: Layout = { repo, distBench };
const docsFile = join(repo, 'docs', 'benchmarks.md');
/** No job of even a full run comes near this; a runner still going is stuck. */
const JOB_TIMEOUT_MS = 10 * 60_000;

const runId = randomBytes(8).toString('hex');
const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

let options: Options;
try {
  options = parseOptions(process.argv.slice(2), join(repo, 'bench', 'results'), sections.map((s) => s.id));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(err.message ? `bench: ${err.message}\n${usage}\n` : `${usage}\n`);
  process.exit(err.message ? 2 : 0);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    const killed = killLeftovers(runId);
    progress(`interrupted; stopped ${killed.length} process(es)`);
    process.exit(130);
  });
}

try {
  process.exitCode = options.profile ? await profile(options) : await measure(options);
} catch (err) {
  progress((err as Error).message);
  process.exitCode = 1;
} finally {
  const leftovers = killLeftovers(runId);
  if (leftovers.length > 0) progress(`stopped ${leftovers.length} process(es) still running: ${leftovers.map((l) => l.command).join('; ')}`);
}

async function measure(options: Options): Promise<number> {
  const began = Date.now();
  // The sections run the plugin as hst build ships it, and the runner bundled the same way; the profile runs both unbundled, to name hst's files.
  await bundle({ entry: join(distBench, 'plugin.js'), output: join(distBench, BUNDLED_PLUGIN), label: 'the bench plugin' });
  await bundle({ entry: join(distBench, 'runner.js'), output: join(distBench, BUNDLED_RUNNER), label: 'the bench runner' });
  const toolchains = findToolchains(repo);
  for (const line of toolchains.missing) progress(`not measured: ${line}`);
  const settings = settingsFor[options.mode];
  const chosen = options.sections.length > 0 ? sections.filter((s) => options.sections.includes(s.id)) : sections;
  const watch = await watchMachine(repo, toolchains);
  const fixtures = new Fixtures(layout, toolchains);
  const runCtx: RunContext = { layout, toolchains, runId, timeoutMs: JOB_TIMEOUT_MS, bundled: true };
  let run;
  try {
    run = await runSections(chosen, { settings, layout, toolchains, fixtures }, runCtx, progress);
  } finally {
    fixtures.close();
  }
  const machine = watch.finish();
  const leftovers = killLeftovers(runId);
  const results = run.measurements.results();
  const spreads = run.measurements.spreads();

  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const meta = {
    mode: options.mode,
    sections: chosen.map((s) => s.id),
    durationSeconds: Math.round((Date.now() - began) / 1000),
    machine,
    settings,
    notMeasured: toolchains.missing,
    failures: run.failures,
    checks: run.checks,
    leftoverProcesses: leftovers,
    notes: [
      'value = median over repetitions; spread = min, quartiles, max and every repetition, in the same unit',
      'ts->ts is hst host and plugin on hst’s native transport (the default between them); ts->ts/grpc is the same two programs on go-plugin’s gRPC (PluginClient native: false); checks.<side>.transport says which one each job got',
      'start.python.* sit under ts->ts: the host is hst, the plugin is on the hst Python SDK (which speaks gRPC: the native transport is offered to plugins run by Node only)',
      'floor metrics end in .node (two Node processes) or .go (two Go processes)',
    ],
    spread: spreads.map(({ pair, metric, unit, spread }) => ({ pair, metric, unit, ...spread })),
  };
  writeFileSync(join(options.outDir, 'latest.meta.json'), `${JSON.stringify(meta, null, 2)}\n`);

  const markdown = renderMarkdown({ mode: options.mode, settings, machine, results, spreads, sections: chosen, missing: toolchains.missing, failures: run.failures });
  process.stdout.write(`${markdown}\n`);
  if (options.writeDocs) {
    replaceBlock(docsFile, 'results', markdown);
    progress(`wrote the results into ${docsFile}`);
  }
  progress(`done in ${meta.durationSeconds} s; results in ${options.outDir}`);
  if (leftovers.length > 0) progress(`${leftovers.length} process(es) were still running and have been stopped`);
  return run.failures.length > 0 || leftovers.length > 0 ? 1 : 0;
}

async function profile(options: Options): Promise<number> {
  // ts->ts only: no other toolchain is needed.
  const markdown = await runProfile({ layout, toolchains: { missing: [] }, runId, timeoutMs: JOB_TIMEOUT_MS }, settingsFor[options.mode], progress);
  process.stdout.write(`${markdown}\n`);
  if (options.writeDocs) {
    replaceBlock(docsFile, 'profile', markdown);
    progress(`wrote the profile into ${docsFile}`);
  }
  return 0;
}
