/**
 * `hst build`: bundles each TypeScript plugin into one ES module with
 * esbuild, written where plugin.yaml's `command` points. A bundle starts
 * without resolving and loading a tree of files and needs no node_modules
 * beside it. What only some hosts need (gRPC for a host that is not hst,
 * X.509 for AutoMTLS) stays in chunks under `hst-chunks/`, loaded when asked for.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { build, type Message, type Plugin } from 'esbuild';
import { pluginCandidates } from '../manager/discovery.js';
import { BUNDLE_BANNER, typescriptSource } from '../manager/runtime.js';
import { parseManifest } from '../security/manifest.js';
import { MANIFEST_FILE, readManifestBytes } from '../security/signature.js';
import { errorMessage } from './output.js';
import { repoRoot } from './paths.js';

/** Where the on-demand chunks go, beside the entry; emptied before each build. */
export const CHUNK_DIR = 'hst-chunks';

/** Node versions hst supports; esbuild lowers nothing they run natively. */
const NODE_TARGET = 'node20';


export class BuildError extends Error {
  override readonly name = 'BuildError';
}

export interface BundleOptions {
  /** The module to start from (TypeScript or JavaScript). */
  entry: string;
  /** The file to write; its directory also gets CHUNK_DIR. */
  output: string;
  /** Names the plugin in errors. */
  label: string;
}

export interface Bundled {
  output: string;
  bytes: number;
  chunks: number;
}

/** Bundles one entry; a compile error becomes a BuildError naming the file and line. */
export async function bundle({ entry, output, label }: BundleOptions): Promise<Bundled> {
  const outdir = dirname(output);
  rmSync(join(outdir, CHUNK_DIR), { recursive: true, force: true });
  const name = basename(output, extname(output));
  const result = await build({
    entryPoints: { [name]: entry },
    outdir,
    outExtension: { '.js': extname(output) },
    chunkNames: `${CHUNK_DIR}/[name]-[hash]`,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: NODE_TARGET,
    // Whitespace and syntax only: names stay, so a plugin's stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // Output files may use `require` for Node's built-ins and CommonJS dependencies (an ES module has none of its own);
    // the sandbox also knows a bundle by it.
    banner: { js: BUNDLE_BANNER },
    metafile: true,
    logLevel: 'silent',
    plugins: [hstFallback],
  }).catch((err: { errors?: Message[] }) => {
    throw new BuildError(`${label}: ${(err.errors ?? []).map(describe).join('; ') || String(err)}`);
  });
  const outputs = Object.keys(result.metafile.outputs);
  return { output, bytes: statSync(output).size, chunks: outputs.length - 1 };
}

/**
 * 'hst' and 'hst/...' resolve as the plugin's project resolves them (its own
 * node_modules, or the application's), and else to this hst, by the package's
 * self-reference: a plugin outside any project still builds, against the SDK
 * of the host that builds it.
 */
const hstFallback: Plugin = {
  name: 'hst-fallback',
  setup(b) {
    b.onResolve({ filter: /^hst(?:\/|$)/ }, async (args) => {
      if (args.pluginData === 'hst-fallback') return undefined;
      const own = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'hst-fallback' });
      if (own.errors.length === 0) return own;
      const ours = await b.resolve(args.path, { kind: args.kind, resolveDir: repoRoot, pluginData: 'hst-fallback' });
      return ours.errors.length === 0 ? ours : own;
    });
  },
};

function describe(message: Message): string {
  const at = message.location ? `${message.location.file}:${message.location.line}: ` : '';
  return `${at}${message.text}`;
}

/**
 * Bundles the plugin in `dir`: its manifest's command `X.js` (or `.mjs`) is
 * built from `X.ts` (or `.mts`) beside it. Only `runtime: node` plugins with a
 * TypeScript entry are bundled; anything else is a BuildError saying why.
 */
export async function bundlePlugin(dir: string): Promise<Bundled> {
  if (!existsSync(join(dir, MANIFEST_FILE))) {
    throw new BuildError(`${dir}: no ${MANIFEST_FILE} here; name a plugin's directory, or give --plugin-dir ${dir} to build every plugin in it`);
  }
  const manifest = parseManifest(await readManifestBytes(dir), join(dir, MANIFEST_FILE));
  const label = `plugin ${manifest.name} (${join(dir, MANIFEST_FILE)})`;
  if (manifest.runtime !== 'node') throw new BuildError(`${label}: runtime ${manifest.runtime} has nothing for hst build to bundle`);
  const output = resolve(dir, manifest.command);
  if (extname(output) === '.cjs') throw new BuildError(`${label}: hst build makes ES modules; name the command ${basename(output, '.cjs')}.js or .mjs instead of ${manifest.command}`);
  const source = typescriptSource(output);
  if (source === output || !existsSync(source)) {
    throw new BuildError(`${label}: no TypeScript entry ${relative(process.cwd(), source) || source} for command ${manifest.command}; hst build bundles one`);
  }
  if (extname(output) === '.js' && !isModuleScope(dirname(output))) {
    throw new BuildError(`${label}: ${manifest.command} would be an ES module, but no package.json above it says "type": "module"; add one, or name the command ${basename(output, '.js')}.mjs`);
  }
  return bundle({ entry: source, output, label });
}

/** Whether Node reads `.js` files in `dir` as ES modules: the nearest package.json says so. */
function isModuleScope(dir: string): boolean {
  for (let at = resolve(dir); ; at = dirname(at)) {
    const pkg = join(at, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(at) === at) return false;
  }
}

/** The plugin directories under `pluginDirs` that hold TypeScript sources: what `hst build` with no arguments builds. */
function buildablePlugins(pluginDirs: string[], warnings: string[]): string[] {
  return pluginDirs
    .flatMap((root) => pluginCandidates(root, warnings))
    .filter((c) => readdirSync(c.dir).some((f) => /\.m?ts$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.test.ts')))
    .map((c) => c.dir);
}

/** `hst build`: one line per plugin built, one line per failure; exit 1 when any failed. */
export async function buildCommand(dirs: string[], discover: boolean, quiet: boolean): Promise<{ exitCode: number; output: string }> {
  const unreadable: string[] = [];
  const targets = discover ? buildablePlugins(dirs, unreadable) : dirs;
  if (unreadable.length > 0) return { exitCode: 1, output: unreadable.map((warning) => `hst build: ${warning}\n`).join('') };
  if (targets.length === 0) {
    return discover ? { exitCode: 0, output: quiet ? '' : `no TypeScript plugins in ${dirs.join(', ')}\n` } : { exitCode: 2, output: 'hst build: no plugin directory given\n' };
  }
  const lines: string[] = [];
  let failed = 0;
  for (const dir of targets) {
    const started = performance.now();
    try {
      const built = await bundlePlugin(dir);
      const ms = Math.round(performance.now() - started);
      if (!quiet) lines.push(`built ${relative(process.cwd(), built.output) || built.output}: ${(built.bytes / 1024).toFixed(0)} KiB, and ${built.chunks} chunks in ${CHUNK_DIR}/ (${ms} ms)`);
    } catch (err) {
      failed++;
      lines.push(`hst build: ${errorMessage(err)}`);
    }
  }
  return { exitCode: failed > 0 ? 1 : 0, output: lines.length > 0 ? `${lines.join('\n')}\n` : '' };
}
