#!/usr/bin/env node
// Builds the plugins under plugins/ (and examples/*/plugins/) that need building outside tsc:
//   node scripts/build-plugins.mjs [name...]     (npm run build:plugins)
// - runtime binary: the Go source in interop/go/cmd/<name> (the one Go module,
//   with go-plugin and the generated hst code) is built into the manifest's
//   `command` path. Without Go this is skipped with a note.
// - runtime python: nothing to build; checks that the SDK's packages import,
//   and says how to install them when they do not.
// - runtime node: compiled and bundled (hst build) by `npm run build`.
// - a Go command named hst-plugin-<name> in interop/go/cmd is a plugin found by
//   its file's name, without a manifest: built into examples/modules/plugins/.
// Skipping for a missing toolchain exits 0; a failed build exits 1.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pluginsDirs = [join(repo, 'plugins'), join(repo, 'examples', 'notes', 'plugins'), join(repo, 'examples', 'modules', 'plugins')];
const goModule = join(repo, 'interop', 'go');
const python = process.env.PYTHON ?? 'python3';
// What sdk/python imports at run time (requirements.txt).
const PYTHON_MODULES = ['grpc', 'grpc_health', 'grpc_reflection', 'google.protobuf', 'cryptography'];

const shown = (path) => relative(process.cwd(), path) || '.';

/** Plugin name -> its directory, over every plugins directory. */
const dirs = new Map();
/** Plugins found by their file's name: what their manifest would say. */
const named = new Map();
function discover() {
  for (const pluginsDir of pluginsDirs.filter((d) => existsSync(d))) {
    for (const d of readdirSync(pluginsDir, { withFileTypes: true })) {
      if (d.isDirectory() && existsSync(join(pluginsDir, d.name, 'plugin.yaml'))) dirs.set(d.name, join(pluginsDir, d.name));
    }
  }
  for (const d of readdirSync(join(goModule, 'cmd'), { withFileTypes: true })) {
    if (d.isDirectory() && d.name.startsWith('hst-plugin-')) {
      dirs.set(d.name, join(repo, 'examples', 'modules', 'plugins'));
      named.set(d.name, { runtime: 'binary', command: d.name });
    }
  }
  return [...dirs.keys()].sort();
}

function manifestOf(name) {
  if (named.has(name)) return named.get(name);
  const file = join(dirs.get(name), 'plugin.yaml');
  const manifest = parse(readFileSync(file, 'utf8'));
  if (typeof manifest?.runtime !== 'string' || typeof manifest?.command !== 'string') {
    throw new Error(`${shown(file)}: needs runtime and command`);
  }
  return manifest;
}

let goAvailable;
function hasGo() {
  goAvailable ??= spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
  return goAvailable;
}

let pythonProblem;
/** Why the Python SDK cannot run here, or '' when it can. */
function pythonSdkProblem() {
  if (pythonProblem !== undefined) return pythonProblem;
  if (spawnSync(python, ['--version'], { stdio: 'ignore' }).status !== 0) return (pythonProblem = `${python} is not installed`);
  const check = spawnSync(python, ['-c', `import ${PYTHON_MODULES.join(', ')}`], { encoding: 'utf8' });
  if (check.status === 0) return (pythonProblem = '');
  const missing = /No module named '([^']+)'/.exec(check.stderr)?.[1];
  const what = missing ? `the Python package ${missing} is missing` : 'the Python SDK packages do not import';
  return (pythonProblem = `${what}; install them with: ${python} -m pip install -r ${shown(join(repo, 'sdk', 'python', 'requirements.txt'))}`);
}

/** Each returns a line describing the outcome, or throws on a real failure. */
const builders = {
  binary(name, manifest) {
    const source = join(goModule, 'cmd', name);
    if (!existsSync(source)) return `skipped: no Go source in ${shown(source)}`;
    if (!hasGo()) return 'skipped: Go is not installed (https://go.dev/dl/); the plugin cannot start until it is built';
    const out = join(dirs.get(name), manifest.command);
    const build = spawnSync('go', ['build', '-o', out, `./cmd/${name}`], { cwd: goModule, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`go build ./cmd/${name} failed:\n${build.stderr || build.error?.message}`);
    return `built ${shown(out)}`;
  },
  python() {
    const problem = pythonSdkProblem();
    return problem ? `skipped: ${problem}` : 'ready: the Python SDK packages import';
  },
  node() {
    return 'bundled by `npm run build` (hst build)';
  },
};

const all = discover();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`no plugin ${unknown.join(', ')} in ${pluginsDirs.map(shown).join(', ')}; there are ${all.join(', ') || 'none'}`);
  process.exit(2);
}
const names = wanted.length > 0 ? wanted : all;
let failed = 0;
for (const [i, name] of names.entries()) {
  const started = Date.now();
  // The name goes out before a build starts, so a slow one shows what it is doing.
  process.stdout.write(`[${i + 1}/${names.length}] ${name}: `);
  try {
    const manifest = manifestOf(name);
    const build = builders[manifest.runtime];
    if (!build) throw new Error(`unknown runtime ${JSON.stringify(manifest.runtime)}`);
    console.log(`${manifest.runtime}, ${build(name, manifest)} (${Date.now() - started} ms)`);
  } catch (err) {
    failed++;
    console.log('FAILED');
    console.error(err instanceof Error ? err.message : String(err));
  }
}
if (failed > 0) {
  console.error(`${failed} of ${names.length} plugins failed to build`);
  process.exit(1);
}
