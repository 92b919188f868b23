/**
 * What the demo and the TUI give the example plugins to work with: the
 * plugins built, a scratch workspace they share seeded with a few files,
 * the HST_DEMO_* variables hostdemo reads, a local page for hostdemo's http
 * command with the net grant it needs, and arguments that make each
 * command show something.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { ManifestCommand } from '../security/manifest.js';
import type { Policy } from '../security/policy.js';
import type { Cli } from './output.js';
import { repoRoot } from './paths.js';
import { makeDirs } from '../util/make-dirs.js';

export const WORKSPACE_FILES: Record<string, string> = {
  'README.md': '# A scratch workspace\n\nThe hst demo plugins list, read and describe these files.\nNothing here is precious.\n',
  'notes.txt': 'Plugins see this workspace only through the host.\nEvery call is checked against plugin.yaml\nand written to the audit log.\n',
  'src/main.ts': "import { greet } from './greet.js';\n\nconsole.log(greet('hst'));\n",
  'src/greet.ts': 'export const greet = (name: string) => `hello, ${name}`;\n',
  'data/numbers.csv': 'n,square\n1,1\n2,4\n3,9\n',
};

/** Arguments that make each example command show something; other commands run with their defaults. */
const SAMPLE_ARGS: Record<string, Record<string, Record<string, string>>> = {
  filelister: { save: { path: 'src', out: 'listings/filelister.txt' }, head: { path: 'README.md', lines: '3' }, cat: { path: 'notes.txt' } },
  colorlister: { tree: { depth: '2' }, stats: { path: 'README.md' }, scan: { rounds: '2', interval: '50' } },
  golister: { save: { out: 'listings/golister.txt' } },
  pylelister: { save: { out: 'listings/pylelister.txt' } },
};

/** The workspace every plugin shares, inside the host's data directory. */
export function workspaceOf(dataDir: string): string {
  return join(dataDir, 'workspace');
}

/** Writes the demo's files into the workspace (over earlier copies); returns how many. */
export function seedWorkspace(workspace: string): number {
  for (const [path, text] of Object.entries(WORKSPACE_FILES)) {
    makeDirs(join(workspace, path, '..'));
    writeFileSync(join(workspace, path), text);
  }
  return Object.keys(WORKSPACE_FILES).length;
}

/** hostdemo's env suite reads HST_DEMO_* from the host's environment. */
export function setDemoEnvironment(): void {
  process.env.HST_DEMO_GREETING ??= 'hello';
  process.env.HST_DEMO_NAME ??= 'Ada';
}

/** The sample arguments of every example command; hostdemo fetches `url`. */
export function sampleArgs(url: string): Record<string, Record<string, Record<string, string>>> {
  return { ...SAMPLE_ARGS, hostdemo: { all: { url }, http: { url } } };
}

/** The arguments a command requires that neither its manifest nor `args` supply. */
export function missingArgs(command: ManifestCommand, args: Record<string, string>): string[] {
  return command.args.filter((a) => a.required && a.default === undefined && !Object.hasOwn(args, a.name)).map((a) => a.name);
}

/**
 * What hostdemo's http command fetches: a page on loopback, so no network is
 * needed. hostdemo's manifest grants no network: the operator (this host)
 * grants the one address, on `policy`.
 */
export async function startDemoHttpServer(policy: Policy): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => response.end('hello from the demo host\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  policy.grant('hostdemo', `net:127.0.0.1:${port}`);
  return { server, url: `http://127.0.0.1:${port}/` };
}

/** scripts/build-plugins.mjs, in the repository this hst runs from. */
export const BUILD_SCRIPT = join(repoRoot, 'scripts', 'build-plugins.mjs');

/** The repository's example plugins, unless --plugin-dir names others; only the examples are built first. */
export function demoPlugins(cli: Cli): { pluginDirs: string[]; build: boolean } {
  const examples = join(repoRoot, 'plugins');
  const pluginDirs = cli.pluginDirsGiven ? cli.pluginDirs : [examples];
  return { pluginDirs, build: pluginDirs.some((dir) => resolve(dir) === examples) };
}

/**
 * Runs scripts/build-plugins.mjs, handing its output (stdout and stderr) to
 * `onOutput` as it comes (a Go build takes a moment). Resolves with its exit
 * code; an abort kills it. Without the script (hst run from elsewhere) it
 * resolves undefined at once.
 */
export async function buildPlugins(onOutput: (text: string) => void, signal?: AbortSignal): Promise<number | null | undefined> {
  if (!existsSync(BUILD_SCRIPT)) return undefined;
  const child = spawn(process.execPath, [BUILD_SCRIPT], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
  child.on('error', () => undefined); // an abort: 'close' still comes
  child.stdout.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return code;
}
