/**
 * How each plugin runtime is started, and whether it can be on this machine:
 * node plugins run on this very node; python plugins need python3 with the
 * SDK's packages; binaries need their file, built and executable.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PluginCommand, PluginSandboxOptions } from '../host/plugin-client.js';
import type { Manifest } from '../security/manifest.js';
import { installedPackage, packageRoot, PYTHON_SDK_INSTALL } from '../util/package-root.js';

export interface RuntimeOptions {
  /** The node executable for node plugins; default the one running the host. */
  nodeCommand?: string;
  /** The python executable for python plugins, by name or path; default `python3`. */
  pythonCommand?: string;
}

/** Everything sdk/python imports beyond the standard library. */
const PYTHON_CHECK = `
import sys
print(sys.executable)
try:
    import grpc, grpc_health.v1.health, grpc_reflection.v1alpha.reflection, cryptography
except ImportError as e:
    print("missing " + str(e.name))
    sys.exit(0)
print("ok")
`;

type PythonCheck = { executable: string } | { problem: string };

const pythonChecks = new Map<string, Promise<PythonCheck>>();

/**
 * Asks the python once for its real executable (a pyenv shim or a venv
 * wrapper needs an environment the plugin does not get) and for the SDK's
 * packages. Only successes are remembered, so a later `pip install` is seen.
 */
function checkPython(command: string): Promise<PythonCheck> {
  let check = pythonChecks.get(command);
  if (!check) {
    check = new Promise<PythonCheck>((resolve) =>
      execFile(command, ['-c', PYTHON_CHECK], { timeout: 15_000, encoding: 'utf8' }, (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve({ problem: `${command} not found` });
        if (err) return resolve({ problem: `${command} failed: ${stderr.trim().split('\n').pop() || err.message}` });
        const [executable = '', verdict = ''] = stdout.trim().split('\n');
        if (verdict.startsWith('missing ')) return resolve({ problem: `${PYTHON_SDK_INSTALL} (no module ${verdict.slice('missing '.length)})` });
        resolve(verdict === 'ok' && executable.startsWith('/') ? { executable } : { problem: `${command} did not report its executable` });
      }),
    );
    pythonChecks.set(command, check);
    void check.then((c) => 'problem' in c && pythonChecks.delete(command));
  }
  return check;
}

function entryOf(manifest: Manifest): string {
  return join(manifest.dir, manifest.command);
}

/** Why this plugin cannot run here (shown as `unavailable: <reason>`), or undefined. */
export async function runtimeProblem(manifest: Manifest, options: RuntimeOptions = {}): Promise<string | undefined> {
  const entry = entryOf(manifest);
  const found = await stat(entry).catch(() => undefined);
  if (manifest.runtime === 'binary') {
    if (!found) return `${manifest.command} not found; ${buildHint(manifest)}`;
    if (!found.isFile()) return `${manifest.command} is not a file`;
    const executable = await access(entry, constants.X_OK).then(
      () => true,
      () => false,
    );
    return executable ? undefined : `${manifest.command} is not executable (chmod +x ${manifest.command})`;
  }
  if (!found) return `${manifest.command} not found${manifest.runtime === 'node' ? `; ${buildHint(manifest)}` : ''}`;
  if (manifest.runtime === 'python') {
    const python = await checkPython(options.pythonCommand ?? 'python3');
    if ('problem' in python) return python.problem;
  }
  return undefined;
}

/** The TypeScript file `hst build` makes a `.js` (or `.mjs`) entry from; the entry itself when it is neither. */
export function typescriptSource(entry: string): string {
  return entry.replace(/\.(m?)js$/, '.$1ts');
}

/**
 * How to build a plugin whose command is missing: the repository's scripts for
 * its own plugins, else what the plugin's directory shows (a Go module, an npm
 * project, a TypeScript entry for hst build).
 */
function buildHint(manifest: Manifest): string {
  if (!relative(packageRoot, manifest.dir).startsWith('..')) return manifest.runtime === 'node' ? 'run npm run build' : 'run npm run build:plugins';
  const dir = manifest.dir;
  if (manifest.runtime === 'binary' && existsSync(join(dir, 'go.mod'))) return `build it: cd ${dir} && go build -o ${manifest.command} .`;
  if (manifest.runtime === 'node' && existsSync(join(dir, 'package.json'))) return `build it: cd ${dir} && npm install && npm run build`;
  if (manifest.runtime === 'node' && existsSync(typescriptSource(entryOf(manifest)))) return `build it: hst build ${dir}`;
  return 'build it (its README says how)';
}

/** Host paths a sandboxed plugin of this runtime must read besides its own directory. */
function runtimeReadOnlyPaths(manifest: Manifest): string[] {
  if (manifest.runtime === 'node') return isBundle(entryOf(manifest)) ? [] : hstClosure();
  if (manifest.runtime === 'python') return [join(packageRoot, 'sdk', 'python')].filter((path) => existsSync(path));
  return [];
}

/** The first bytes of every module `hst build` writes: a bundle carries hst inside and loads nothing of it. */
export const BUNDLE_BANNER = "import { createRequire as __hstCreateRequire } from 'node:module'; const require = __hstCreateRequire(import.meta.url);";

function isBundle(entry: string): boolean {
  const head = Buffer.alloc(BUNDLE_BANNER.length);
  let fd: number | undefined;
  try {
    fd = openSync(entry, 'r');
    return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('utf8') === BUNDLE_BANNER;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

let closure: string[] | undefined;

/**
 * What an unbundled Node plugin importing 'hst' may load: hst's package.json
 * and dist, and the directory of each package in hst's dependency closure,
 * found as Node finds them (the nearest node_modules up the tree). Not the
 * node_modules they sit in: installed in an application, that holds the
 * application's packages too. npm's tools do not answer "where is each
 * dependency installed" without a lockfile walk, so this is written here.
 */
function hstClosure(): string[] {
  if (closure) return closure;
  const found = new Set<string>([join(packageRoot, 'package.json'), join(packageRoot, 'dist')]);
  const visit = (dir: string): void => {
    let pkg: { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      return;
    }
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const at = installedPackage(dir, name);
      if (at === undefined || found.has(at)) continue;
      found.add(at);
      // A link (npm link, pnpm's store) is read through its target.
      const real = realpathSync(at);
      if (real !== at) found.add(real);
      visit(real);
    }
  };
  visit(packageRoot);
  closure = [...found].filter((path) => existsSync(path));
  return closure;
}

export interface LaunchPlan {
  command: PluginCommand;
  /** The sandbox request for PluginClient, when the plugin is to be sandboxed. */
  sandbox?: PluginSandboxOptions;
}

export interface LaunchRequest {
  /** The plugin's private working directory. */
  workDir: string;
  /** Sandbox it, requiring these layers (an empty list takes what the machine offers); undefined: no sandbox. */
  sandboxRequire?: PluginSandboxOptions['require'];
  /** The verified copy of the plugin's directory, mounted in its place inside the sandbox. */
  verifiedCopy?: string;
}

/** The PluginClient command (and sandbox) that runs this plugin; call after runtimeProblem found none. */
export async function launchPlan(manifest: Manifest, request: LaunchRequest, options: RuntimeOptions = {}): Promise<LaunchPlan> {
  const entry = entryOf(manifest);
  let interpreter: string | undefined;
  if (manifest.runtime === 'node') interpreter = options.nodeCommand ?? process.execPath;
  if (manifest.runtime === 'python') {
    const python = await checkPython(options.pythonCommand ?? 'python3');
    if ('problem' in python) throw new Error(`plugin ${JSON.stringify(manifest.name)} is unavailable: ${python.problem}`);
    interpreter = python.executable;
  }
  if (request.sandboxRequire === undefined) {
    // Unsandboxed the entry is an argument of the interpreter; the sandbox takes the entry and wraps the interpreter itself.
    return { command: { path: interpreter ?? entry, args: [...(interpreter ? [entry] : []), ...manifest.args], cwd: request.workDir } };
  }
  const { memoryMb, cpuSeconds, maxOpenFiles } = manifest.resources;
  return {
    command: { path: entry, args: [...manifest.args] },
    sandbox: {
      runtime: manifest.runtime,
      pluginDir: manifest.dir,
      ...(request.verifiedCopy ? { pluginDirSource: request.verifiedCopy } : {}),
      readOnlyPaths: runtimeReadOnlyPaths(manifest),
      workDir: request.workDir,
      ...(interpreter ? { interpreter } : {}),
      resources: {
        ...(memoryMb !== undefined ? { memoryMb } : {}),
        ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
        ...(maxOpenFiles !== undefined ? { maxOpenFiles } : {}),
      },
      ...(request.sandboxRequire.length > 0 ? { require: request.sandboxRequire } : {}),
    },
  };
}
