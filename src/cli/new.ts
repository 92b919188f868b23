/**
 * `hst new <name> --lang ts|go|python [--dir ./plugins]`: a plugin as a
 * project of its own (manifest, source, test, build files, README) on the
 * SDK shipped in this hst package, which `hst run <name> hello` can call as
 * soon as it is built. It returns the exit code and output instead of
 * exiting, as the other commands here do: 0 created, 2 refused (a bad name or
 * language, a directory that exists, a missing SDK), 1 writing failed.
 */
import { lstatSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ManifestError, parseManifest } from '../security/manifest.js';
import { installedPackage, packageRoot as hstPackage } from '../util/package-root.js';
import type { PluginLanguage, Skeleton, TemplateContext } from './templates/common.js';
import { goSkeleton } from './templates/go.js';
import { pythonSkeleton } from './templates/python.js';
import { typescriptSkeleton } from './templates/typescript.js';
import { makeDirs } from '../util/make-dirs.js';

export interface NewPluginOptions {
  name: string;
  lang: PluginLanguage;
  /** The directory the plugin's directory is made in (`--dir`, `./plugins` by default on the command line). */
  dir: string;
}

export interface NewPluginResult {
  exitCode: number;
  output: string;
}

const skeletons: Record<PluginLanguage, (ctx: TemplateContext) => Skeleton> = {
  ts: typescriptSkeleton,
  go: goSkeleton,
  python: pythonSkeleton,
};

/** What `hst new --list` shows: each template, what it makes and what building it needs. */
const TEMPLATE_SUMMARIES: Record<PluginLanguage, string> = {
  ts: "TypeScript: serve() from hst/plugin, bundled by hst build into one file; needs only Node",
  go: "Go: a Go module on go-plugin and hst's Go SDK (hostconn), taken from this package; needs Go",
  python: "Python: on hst's Python SDK (hst_plugin), pip-installed from this package; needs python3",
};

/** `hst new --list`: one line per template, in the order --lang takes them. */
export function templateList(): string {
  const width = Math.max(...Object.keys(skeletons).map((l) => l.length));
  return `${(Object.keys(skeletons) as PluginLanguage[]).map((lang) => `${lang.padEnd(width)}  ${TEMPLATE_SUMMARIES[lang]}`).join('\n')}\n`;
}

export async function newPlugin(opts: NewPluginOptions): Promise<NewPluginResult> {
  // The language comes from the command line unchecked.
  const make = Object.hasOwn(skeletons, opts.lang) ? skeletons[opts.lang] : undefined;
  if (!make) return refused(`unknown language ${JSON.stringify(opts.lang)}; choose one of ${Object.keys(skeletons).join(', ')}`);

  const packageRoot = realpathSync(hstPackage);
  let pluginsDir: string;
  try {
    pluginsDir = realPathOf(resolve(opts.dir));
  } catch (err) {
    return refused((err as Error).message);
  }
  const pluginDir = join(pluginsDir, opts.name);
  const skeleton = make({ name: opts.name, pluginDir, pluginsDir, packageRoot, hstInstalled: installedPackage(pluginsDir, 'hst') !== undefined });

  // The manifest's own rule decides the name, before anything under it is looked at on disk.
  const nameProblem = checkManifest(skeleton);
  if (nameProblem) return refused(nameProblem);
  if (exists(pluginsDir) && !statSync(pluginsDir).isDirectory()) return refused(`${shown(pluginsDir)} is not a directory`);
  for (const dir of skeleton.dirs) {
    if (exists(dir)) return refused(`${shown(dir)} already exists; choose another name or remove it`);
  }
  for (const need of skeleton.needs) {
    if (!exists(need.path)) return refused(`${need.what} is missing: ${need.path}`);
  }

  const created: string[] = [];
  try {
    for (const dir of skeleton.dirs) {
      makeDirs(dirname(dir));
      // Not recursive: a directory that appeared since the check is refused, not reused.
      mkdirSync(dir);
      created.push(dir);
    }
    for (const file of skeleton.files) {
      makeDirs(dirname(file.path));
      writeFileSync(file.path, file.content, { flag: 'wx', ...(file.mode !== undefined ? { mode: file.mode } : {}) });
    }
  } catch (err) {
    // Nothing half-made stays behind.
    for (const dir of created) rmSync(dir, { recursive: true, force: true });
    const { code, path, message } = err as NodeJS.ErrnoException;
    if (code === 'EEXIST' && path && skeleton.dirs.includes(path)) return refused(`${shown(path)} already exists; choose another name or remove it`);
    return { exitCode: 1, output: `error: ${message}\n` };
  }

  return {
    exitCode: 0,
    output:
      `created the ${skeleton.language} plugin ${opts.name} in ${shown(pluginDir)}:\n` +
      skeleton.files.map((f) => `  ${shown(f.path)}\n`).join('') +
      'next:\n' +
      [`cd ${shown(pluginDir)}`, ...skeleton.next].map((line) => `  ${line}\n`).join(''),
  };
}

function refused(message: string): NewPluginResult {
  return { exitCode: 2, output: `error: ${message}\n` };
}

/** Why the skeleton's plugin.yaml is not valid: for a bad name, what the name must be. */
function checkManifest(skeleton: Skeleton): string | undefined {
  const file = skeleton.files.find((f) => basename(f.path) === 'plugin.yaml');
  if (!file) throw new Error(`the ${skeleton.language} skeleton has no plugin.yaml`);
  try {
    parseManifest(file.content, 'plugin.yaml');
    return undefined;
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    const name = err.issues.find((issue) => issue.field === 'name');
    return name ? `invalid plugin name: ${name.problem}; expected ${name.expected}` : err.message;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/** The real path of a path that may not exist yet: its nearest existing ancestor resolved, the rest appended. */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    const parent = dirname(path);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) throw err;
    return join(realPathOf(parent), basename(path));
  }
}

/** A path for messages: relative to the working directory when inside it, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel || '.';
}
