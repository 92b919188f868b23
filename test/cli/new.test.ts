/**
 * `hst new`: each language's skeleton is a project of its own in a temporary
 * directory, set up, built and tested as its README says, and answers `hello`
 * and `files` through PluginManager as `hst run` runs it, under its
 * manifest's one capability. (test/packed-package.test.ts does the same from
 * the npm package installed in an empty project.)
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildCommand } from '../../src/cli/build.js';
import { newPlugin } from '../../src/cli/new.js';
import { MemoryLogger } from '../../src/log.js';
import { PluginManager, type PluginManagerOptions } from '../../src/manager/manager.js';
import { loadManifest } from '../../src/security/manifest.js';
import { discoverPlugins } from '../../src/manager/discovery.js';
import { goToolchain, pythonPeer, repo } from '../support/peers.js';
import { succeeds } from '../support/assertions.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-new-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** What `files` lists: the workspace every plugin here gets. */
const workspace = join(scratch, 'workspace');
mkdirSync(join(workspace, 'docs'), { recursive: true });
writeFileSync(join(workspace, 'notes.txt'), 'remember\n');

const python = pythonPeer();
const go = goToolchain();

let dirs = 0;
/** A fresh directory for plugins, outside the repository. */
function pluginsDir(): string {
  return mkdtempSync(join(scratch, `plugins-${++dirs}-`));
}

async function create(name: string, lang: 'ts' | 'go' | 'python', dir: string): Promise<string> {
  const made = await newPlugin({ name, lang, dir });
  assert.equal(made.exitCode, 0, made.output);
  return made.output;
}

interface Run {
  output: string;
  value: unknown;
  exitCode: number;
}

async function run(manager: PluginManager, name: string, command: string, args: Record<string, string> = {}): Promise<Run> {
  const result: Run = { output: '', value: undefined, exitCode: -1 };
  for await (const event of manager.runCommand(name, command, args)) {
    if ('output' in event) result.output += event.output;
    else if ('result' in event) ({ value: result.value, exitCode: result.exitCode } = event.result);
  }
  return result;
}

function manager(dir: string, options: PluginManagerOptions = {}): PluginManager {
  return new PluginManager({
    pluginDirs: [dir],
    dataDir: mkdtempSync(join(scratch, 'data-')),
    sandbox: 'off',
    logger: new MemoryLogger(),
    health: { intervalMs: 0 },
    workspace: () => workspace,
    ...('python' in python ? { pythonCommand: python.python } : {}),
    ...options,
  });
}

/** The plugin answers both commands through the host, holds only fs.read:**, and a refused host call fails `files`. */
async function checkCommands(dir: string, name: string, language: string, options: PluginManagerOptions = {}): Promise<void> {
  const manifest = await loadManifest(join(dir, name, 'plugin.yaml'));
  assert.deepEqual(manifest.capabilities, ['fs.read:**']);
  assert.deepEqual(manifest.handshake, { protocolVersions: [1], magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' });
  assert.deepEqual(
    manifest.commands.map((c) => [c.name, c.args.map((a) => [a.name, a.default])]),
    [
      ['hello', [['name', 'world']]],
      ['files', []],
    ],
  );

  const m = manager(dir, options);
  try {
    assert.deepEqual(await run(m, name, 'hello'), { output: 'hello, world\n', value: { greeting: 'hello, world' }, exitCode: 0 });
    assert.deepEqual(await run(m, name, 'hello', { name: 'Ada' }), { output: 'hello, Ada\n', value: { greeting: 'hello, Ada' }, exitCode: 0 });
    assert.deepEqual(await run(m, name, 'files'), { output: 'docs/\nnotes.txt\n', value: { files: ['docs/', 'notes.txt'] }, exitCode: 0 });
    assert.equal(m.info(name)?.language, language);
  } finally {
    await m.shutdown();
  }

  const denied = manager(dir, { ...options, policy: { deny: ['fs.read:**'] } });
  try {
    const refused = await run(denied, name, 'files');
    assert.equal(refused.exitCode, 1, JSON.stringify(refused));
    assert.match(refused.output, /Filesystem\/ReadDir \.: denied by fs\.read:\*\*\n$/);
    assert.match((refused.value as { error: string }).error, /Filesystem\/ReadDir \.: denied by fs\.read:\*\*$/);
  } finally {
    await denied.shutdown();
  }
}

/** Why the plugin is unavailable before it is built: the hint names its own build. */
async function unbuilt(dir: string, name: string): Promise<string | undefined> {
  const { plugins } = await discoverPlugins({ pluginDirs: [dir], signaturePolicy: 'off' });
  const found = plugins.find((p) => p.name === name);
  assert.equal(found?.status, 'unavailable');
  return found?.problem;
}

/** Runs a command of a skeleton's README in its directory; it must succeed. What it printed, stdout then stderr. */
function step(cwd: string, command: string, args: string[]): string {
  const { stdout, stderr } = succeeds(cwd, command, args);
  return stdout + stderr;
}

describe('hst new: refusals', () => {
  it('refuses a name the manifest would refuse, before anything is written', async () => {
    const dir = pluginsDir();
    for (const name of ['Upper', '-dash', 'a/b', '../escape', 'a b', '', 'x'.repeat(64)]) {
      const made = await newPlugin({ name, lang: 'ts', dir });
      assert.equal(made.exitCode, 2, name);
      assert.match(made.output, /^error: invalid plugin name: .* is not a plugin name; expected a plugin name of a-z, 0-9 and "-"/, name);
    }
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(existsSync(join(scratch, 'escape')), false);
  });

  it('refuses an unknown language', async () => {
    const dir = pluginsDir();
    const made = await newPlugin({ name: 'rusty', lang: 'rust' as 'ts', dir });
    assert.deepEqual(made, { exitCode: 2, output: 'error: unknown language "rust"; choose one of ts, go, python\n' });
    assert.deepEqual(readdirSync(dir), []);
  });

  it('refuses a plugin directory that exists, and leaves it as it was', async () => {
    const dir = pluginsDir();
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'mine.txt'), 'keep');
    for (const lang of ['ts', 'go', 'python'] as const) {
      const made = await newPlugin({ name: 'taken', lang, dir });
      assert.equal(made.exitCode, 2, made.output);
      assert.match(made.output, /^error: .*taken already exists; choose another name or remove it\n$/);
    }
    assert.deepEqual(readdirSync(join(dir, 'taken')), ['mine.txt']);
    assert.equal(readFileSync(join(dir, 'taken', 'mine.txt'), 'utf8'), 'keep');
  });

  it('refuses a --dir that is a file', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    const made = await newPlugin({ name: 'fine', lang: 'python', dir: file });
    assert.deepEqual(made, { exitCode: 2, output: `error: ${file} is not a directory\n` });
  });

  it('takes a name YAML would read as a number, and quotes it in the manifest', async () => {
    const dir = pluginsDir();
    await create('123', 'python', dir);
    assert.equal((await loadManifest(join(dir, '123', 'plugin.yaml'))).name, '123');
  });
});

describe('hst new --lang ts', () => {
  it('a project of its own: npm install, npm test and npm run typecheck work in it, and hst runs the bundle', async () => {
    const dir = pluginsDir();
    const pluginDir = join(dir, 'greeter');
    const output = await create('greeter', 'ts', dir);
    assert.match(output, new RegExp(`next:\\n  cd ${pluginDir}\\n  npm install\\n  npm test\\n  npx hst --plugin-dir \\.\\. run greeter hello\\n$`));
    assert.deepEqual(readdirSync(pluginDir).sort(), ['.gitignore', 'README.md', 'main.test.ts', 'main.ts', 'package.json', 'plugin.yaml', 'tsconfig.json']);
    const pkg = JSON.parse(readFileSync(join(pluginDir, 'package.json'), 'utf8'));
    assert.equal(pkg.type, 'module');
    assert.match(pkg.devDependencies.hst, /^file:/);
    assert.equal(resolve(pluginDir, pkg.devDependencies.hst.slice('file:'.length)), realpathSync(repo), 'hst is the package that made the plugin');
    assert.match(readFileSync(join(pluginDir, 'main.ts'), 'utf8'), /import \{ hostServices, serve \} from 'hst\/plugin';/);

    assert.equal(await unbuilt(dir, 'greeter'), `main.js not found; build it: cd ${realpathSync(pluginDir)} && npm install && npm run build`);
    step(pluginDir, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund']);
    step(pluginDir, 'npm', ['test']);
    step(pluginDir, 'npm', ['run', 'typecheck']);
    // npm test's own summary is for people: count the passes from TAP.
    assert.match(step(pluginDir, process.execPath, ['--test', '--test-reporter=tap', 'build/main.test.js']), /^# pass 3$/m);
    assert.ok(readFileSync(join(pluginDir, 'main.js'), 'utf8').length > 0);
    await checkCommands(dir, 'greeter', 'typescript');
  });
});

describe('hst build', () => {
  it('bundles a skeleton never installed into one module that runs with nothing beside it: hst comes from the hst that builds it', async () => {
    const dir = pluginsDir();
    const pluginDir = join(dir, 'bundled');
    await create('bundled', 'ts', dir);
    const built = await buildCommand([pluginDir], false, false);
    assert.equal(built.exitCode, 0, built.output);
    assert.match(built.output, /^built .*bundled\/main\.js: \d+ KiB, and \d+ chunks in hst-chunks\/ \(\d+ ms\)\n$/);
    const bundle = readFileSync(join(pluginDir, 'main.js'), 'utf8');
    assert.doesNotMatch(bundle, /from\s*["']hst/, 'the bundle still imports hst');
    assert.equal(existsSync(join(pluginDir, 'node_modules')), false);
    await checkCommands(dir, 'bundled', 'typescript');
  });

  it('names the file and line of an error, the plugin whose entry is not TypeScript, and exits 1', async () => {
    const dir = pluginsDir();
    await create('broken', 'ts', dir);
    await create('notts', 'python', dir);
    await create('common', 'ts', dir);
    const manifest = join(dir, 'common', 'plugin.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('command: main.js', 'command: main.cjs'));
    writeFileSync(join(dir, 'broken', 'main.ts'), "import { noSuchThing } from 'hst/plugin';\nnoSuchThing();\n");
    const built = await buildCommand([join(dir, 'broken'), join(dir, 'notts'), join(dir, 'common')], false, false);
    assert.equal(built.exitCode, 1);
    const lines = built.output.trimEnd().split('\n');
    assert.equal(lines.length, 3, built.output);
    assert.match(lines[2] as string, /^hst build: plugin common \(.*plugin\.yaml\): hst build makes ES modules; name the command main\.js or \.mjs instead of main\.cjs$/);
    assert.match(lines[0] as string, /^hst build: plugin broken \(.*plugin\.yaml\): .*main\.ts:1: No matching export in .* for import "noSuchThing"$/);
    assert.match(lines[1] as string, /^hst build: plugin notts \(.*plugin\.yaml\): runtime python has nothing for hst build to bundle$/);
    assert.ok(!existsSync(join(dir, 'broken', 'main.js')), 'a failed build writes nothing');
  });

  it('as a command: one line per plugin, exit 1 on a failure, and a plugin directory that is not there is said so', () => {
    const dir = pluginsDir();
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(repo, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
    const missing = cli('--plugin-dir', join(dir, 'nope'), 'build');
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, `hst build: plugin directory ${join(dir, 'nope')} does not exist\n`);
    const notPlugin = cli('build', dir);
    assert.equal(notPlugin.status, 1);
    assert.match(notPlugin.stderr, /^hst build: .*plugin\.yaml.*\n$/s);
    assert.doesNotMatch(notPlugin.stderr, /\n\s+at /, 'a stack trace');
  });

  it('with no directory, builds every TypeScript plugin in the plugin directories and says when there is none', async () => {
    const dir = pluginsDir();
    assert.deepEqual(await buildCommand([dir], true, false), { exitCode: 0, output: `no TypeScript plugins in ${dir}\n` });
    await create('one', 'ts', dir);
    await create('two', 'python', dir);
    const built = await buildCommand([dir], true, true);
    assert.deepEqual(built, { exitCode: 0, output: '' });
    assert.ok(existsSync(join(dir, 'one', 'main.js')));
  });
});

describe('hst new --lang go', { skip: 'skip' in go ? go.skip : false }, () => {
  it('a Go module of its own on the SDK in this package: go test and go build work in it, and it runs', async () => {
    const dir = pluginsDir();
    const pluginDir = join(dir, 'gopher');
    const output = await create('gopher', 'go', dir);
    assert.match(output, new RegExp(`next:\\n  cd ${pluginDir}\\n  go build -o bin/gopher \\.\\n  hst --plugin-dir \\.\\. run gopher hello\\n  go test \\./\\.\\.\\.\\n$`));
    assert.deepEqual(readdirSync(pluginDir).sort(), ['.gitignore', 'README.md', 'go.mod', 'go.sum', 'main.go', 'main_test.go', 'plugin.yaml']);
    const goMod = readFileSync(join(pluginDir, 'go.mod'), 'utf8');
    assert.match(goMod, /^module gopher\n/);
    const replaced = /^replace hst\.local\/sdk => (.+)$/m.exec(goMod)?.[1];
    assert.equal(resolve(pluginDir, replaced ?? ''), join(realpathSync(repo), 'sdk', 'go'), goMod);
    assert.equal((await loadManifest(join(pluginDir, 'plugin.yaml'))).command, 'bin/gopher');

    assert.equal(await unbuilt(dir, 'gopher'), `bin/gopher not found; build it: cd ${realpathSync(pluginDir)} && go build -o bin/gopher .`);
    assert.match(step(pluginDir, 'go', ['test', './...']), /^ok\s+gopher\s/m);
    step(pluginDir, 'go', ['build', '-o', 'bin/gopher', '.']);
    await checkCommands(dir, 'gopher', 'go');
  });
});

describe('hst new --lang python', { skip: 'skip' in python ? python.skip : false }, () => {
  it('installs the SDK with pip (-e here) into a virtual environment, passes its unittest, runs on that python', async () => {
    const dir = pluginsDir();
    const pluginDir = join(dir, 'snake');
    const output = await create('snake', 'python', dir);
    assert.deepEqual(readdirSync(pluginDir).sort(), ['.gitignore', 'README.md', 'main.py', 'plugin.yaml', 'test_main.py']);
    const install = /^ {2}(pip install \S+)$/m.exec(output)?.[1] ?? '';
    assert.equal(resolve(pluginDir, install.slice('pip install '.length)), join(realpathSync(repo), 'sdk', 'python'), output);
    assert.doesNotMatch(readFileSync(join(pluginDir, 'main.py'), 'utf8'), /sys\.path/);

    // The machine's python keeps its packages (grpcio from CI's pip install); the SDK goes into the environment only.
    const venv = join(scratch, 'venv');
    step(scratch, 'python' in python ? python.python : 'python3', ['-m', 'venv', '--system-site-packages', venv]);
    const bin = join(venv, 'bin');
    step(pluginDir, join(bin, 'pip'), ['install', '--quiet', '-e', install.slice('pip install '.length)]);
    assert.match(step(pluginDir, join(bin, 'python'), ['-m', 'unittest']), /Ran 4 tests.*\n\nOK\n$/s);
    await checkCommands(dir, 'snake', 'python', { pythonCommand: join(bin, 'python3') });
  });
});
