/**
 * How each plugin runtime is started, and whether it can be on this machine:
 * node plugins run on this very node; python plugins need python3 with the
 * SDK's packages; binaries need their file, built and executable.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginCommand, PluginSandboxOptions } from '../host/plugin-client.js';
import type { Manifest } from '../security/manifest.js';

export interface RuntimeOptions {
  /** The node executable for node plugins; default the one running the host. */
  nodeCommand?: string;
  /** The python executable for python plugins, by name or path; default `python3`. */
  pythonCommand?: string;
}

/** The hst package: dist/src/manager/ is three levels below it. */
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const PYTHON_SDK_HINT = 'pip install -r sdk/python/requirements.txt';
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
        if (verdict.startsWith('missing ')) return resolve({ problem: `${PYTHON_SDK_HINT} (no module ${verdict.slice('missing '.length)})` });
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
    if (!found) return `${manifest.command} not found; run npm run build:plugins`;
    if (!found.isFile()) return `${manifest.command} is not a file`;
    const executable = await access(entry, constants.X_OK).then(
      () => true,
      () => false,
    );
    return executable ? undefined : `${manifest.command} is not executable (chmod +x ${manifest.command})`;
  }
  if (!found) return `${manifest.command} not found${manifest.runtime === 'node' ? '; run npm run build' : ''}`;
  if (manifest.runtime === 'python') {
    const python = await checkPython(options.pythonCommand ?? 'python3');
    if ('problem' in python) return python.problem;
  }
  return undefined;
}

/** Host paths a sandboxed plugin of this runtime must read besides its own directory. */
function runtimeReadOnlyPaths(manifest: Manifest): string[] {
  const paths: string[] = [];
  if (manifest.runtime === 'node') {
    // TS plugins import 'hst' (the package's self-reference): its package.json, its dist and its dependencies.
    paths.push(join(packageRoot, 'package.json'), join(packageRoot, 'dist'), join(packageRoot, 'node_modules'));
    // Installed as a dependency, hst's own dependencies sit beside it.
    if (basename(dirname(packageRoot)) === 'node_modules') paths.push(dirname(packageRoot));
  } else if (manifest.runtime === 'python') {
    paths.push(join(packageRoot, 'sdk', 'python'));
  }
  return paths.filter((path) => existsSync(path));
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
