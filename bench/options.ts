/**
 * `npm run bench -- [flags]`: what to run and where results go. Three sizes
 * of the same benchmark: full (the published numbers), --quick (minutes) and
 * --smoke (seconds: every section once, minimally, for the test suite).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

export type Mode = 'full' | 'quick' | 'smoke';

export interface Options {
  mode: Mode;
  /** Where latest.json and latest.meta.json go. */
  outDir: string;
  writeDocs: boolean;
  /** Only the --cpu-prof breakdown of the ts->ts unary path. */
  profile: boolean;
  /** Run only these sections (all when empty). */
  sections: string[];
}

export const usage = `usage: npm run bench -- [--quick | --smoke] [--out <dir>] [--write-docs] [--sections a,b] [--profile]
  --quick        a few minutes: fewer repetitions, shorter runs, a 32 MiB stream
  --smoke        every section once, minimally (for the test suite)
  --out <dir>    where latest.json and latest.meta.json go (default bench/results)
  --write-docs   regenerate the results block of docs/benchmarks.md (a full run does so by default)
  --sections     comma-separated subset: unary, unary-mtls, payload, multiplex, callback, stream, start, memory
  --profile      profile the ts->ts 64 B call under --cpu-prof instead (with --write-docs: into the docs)`;

export class UsageError extends Error {}

export function parseOptions(argv: string[], defaultOutDir: string, knownSections: readonly string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        smoke: { type: 'boolean', default: false },
        out: { type: 'string' },
        'write-docs': { type: 'boolean', default: false },
        sections: { type: 'string' },
        profile: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) throw new UsageError('');
  if (values.quick && values.smoke) throw new UsageError('--quick and --smoke are different sizes: pick one');
  if (values.out === '') throw new UsageError('--out needs a directory');
  const sections = values.sections ? values.sections.split(',').map((s) => s.trim()) : [];
  const unknown = sections.filter((s) => !knownSections.includes(s));
  if (unknown.length > 0) throw new UsageError(`--sections: unknown section ${unknown.join(', ')} (known: ${knownSections.join(', ')})`);
  const mode: Mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  return {
    mode,
    outDir: resolve(values.out ?? defaultOutDir),
    // Only a full run of every section is worth publishing unasked.
    writeDocs: values['write-docs'] || (mode === 'full' && sections.length === 0 && !values.profile && values.out === undefined),
    profile: values.profile,
    sections,
  };
}
