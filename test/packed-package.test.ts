/**
 * hst as a user gets it: `npm pack`, the tarball installed into an empty
 * project in a temporary directory, and from there, with no file of this
 * checkout: `npx hst new` for TypeScript, Go and Python, each built and
 * tested as its README says; an application's own host script with
 * PluginManager running all three (sandboxed as the machine allows); and
 * `npx hst run`. npm and pip install from their caches or registries, as
 * they would for a user; better-sqlite3 and hst's launcher are compiled
 * there. It takes minutes, so it runs once, in the first configuration.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goToolchain, pythonPeer, repo } from './support/peers.js';
import { succeeds } from './support/assertions.js';

const go = goToolchain();
const python = pythonPeer();
const skip = 'skip' in go ? go.skip : 'skip' in python ? python.skip : false;

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'hst-packed-')));
after(() => rmSync(scratch, { recursive: true, force: true }));
const app = join(scratch, 'app');
const venv = join(scratch, 'venv');
/** What `files` lists in each plugin's workspace. */
const workspace = join(scratch, 'workspace');

/** The environment of someone working in the application: its virtual environment active, nothing pointing into this checkout. */
function userEnv(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _, INIT_CWD: __, ...env } = process.env;
  // The outer npm's settings for this run go; where node-gyp finds this Node's headers stays (CI's other Node versions).
  for (const key of Object.keys(env)) if (key.startsWith('npm_') && key !== 'npm_config_nodedir') delete env[key];
  return { ...env, PATH: `${join(venv, 'bin')}:${env.PATH ?? ''}`, VIRTUAL_ENV: venv };
}

/** Runs one command as the user would; it must succeed. Its stdout, then its stderr. */
function step(cwd: string, command: string, args: string[]): string {
  const { stdout, stderr } = succeeds(cwd, command, args, userEnv());
  return stdout + stderr;
}

function stdoutOf(cwd: string, command: string, args: string[]): string {
  return succeeds(cwd, command, args, userEnv()).stdout;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path).map((f) => join(name, f)) : [name];
  });
}

const npmQuiet = ['--prefer-offline', '--no-audit', '--no-fund'];

describe('the npm package, installed into an empty project', { skip, timeout: 15 * 60_000 }, () => {
  let installed: string;

  before(
    () => {
      mkdirSync(join(workspace, 'docs'), { recursive: true });
      writeFileSync(join(workspace, 'notes.txt'), 'remember\n');
      // dist/ is already built by npm test: packing must not rebuild it under the other tests' feet.
      const tarball = join(scratch, stdoutOf(repo, 'npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', scratch]).trim().split('\n').pop() as string);
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2)}\n`);
      step(app, 'npm', ['install', ...npmQuiet, tarball]);
      installed = join(app, 'node_modules', 'hst');
      step(scratch, 'python3', ['-m', 'venv', '--system-site-packages', venv]);
    },
    { timeout: 10 * 60_000 },
  );

  it('ships what a user needs and no tests', () => {
    const shipped = files(installed);
    for (const need of ['package.json', 'README.md', 'dist/src/bundle/host.js', 'dist/dashboard/index.html', 'dist/native/hst-sandbox', 'dist/native/hst-fs.node', 'sdk/go/go.mod', 'sdk/go/hostconn/hostconn.go', 'sdk/python/pyproject.toml', 'sdk/python/hst_plugin/__init__.py', 'proto/hst/host/v1/filesystem.proto', 'docs/manifest.md']) {
      assert.ok(shipped.includes(need), `${need} is not in the package`);
    }
    const unwanted = shipped.filter((f) => /\.test\.|_test\.go$|(^|\/)tests?\/|(^|\/)fixtures\/|^bench\/|^dist\/bench\/|__pycache__|\.egg-info/.test(f));
    assert.deepEqual(unwanted, []);
  });

  it('npx hst new --lang ts: npm install, npm test and npm run typecheck in the new project', () => {
    step(app, 'npx', ['hst', 'new', 'greeter', '--lang', 'ts']);
    const dir = join(app, 'plugins', 'greeter');
    assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies.hst, 'file:../../node_modules/hst');
    step(dir, 'npm', ['install', ...npmQuiet]);
    step(dir, 'npm', ['test']);
    step(dir, 'npm', ['run', 'typecheck']);
    assert.match(stdoutOf(dir, process.execPath, ['--test', '--test-reporter=tap', 'build/main.test.js']), /^# pass 3$/m);
  });

  it('npx hst new --lang go: the SDK from the package by a replace; go test and go build in the new module', () => {
    step(app, 'npx', ['hst', 'new', 'gopher', '--lang', 'go']);
    const dir = join(app, 'plugins', 'gopher');
    assert.match(readFileSync(join(dir, 'go.mod'), 'utf8'), /^replace hst\.local\/sdk => \.\.\/\.\.\/node_modules\/hst\/sdk\/go$/m);
    assert.match(step(dir, 'go', ['test', './...']), /^ok\s+gopher\s/m);
    step(dir, 'go', ['build', '-o', 'bin/gopher', '.']);
  });

  it('npx hst new --lang python: pip installs the SDK from the package; its unittest passes', () => {
    const made = stdoutOf(app, 'npx', ['hst', 'new', 'snake', '--lang', 'python']);
    const dir = join(app, 'plugins', 'snake');
    const install = /^ {2}(pip install \S+)$/m.exec(made)?.[1];
    assert.equal(install, 'pip install ../../node_modules/hst/sdk/python', made);
    step(dir, 'pip', ['install', '--quiet', ...(install as string).split(' ').slice(2)]);
    assert.match(step(dir, 'python', ['-m', 'unittest']), /Ran 4 tests.*\n\nOK\n$/s);
  });

  it("the application's own host runs all three with PluginManager, sandboxed, and npx hst run calls them", () => {
    writeFileSync(
      join(app, 'host.js'),
      `import { PluginManager, silentLogger } from 'hst/host';

const manager = new PluginManager({ pluginDirs: ['plugins'], dataDir: '.hst', workspace: () => process.argv[2], logger: silentLogger, health: { intervalMs: 0 } });
const report = {};
try {
  for (const name of ['greeter', 'gopher', 'snake']) {
    const info = await manager.start(name);
    const runs = [];
    for (const [command, args] of [['hello', { name: 'Ada' }], ['files', {}]]) {
      let output = '';
      let result;
      for await (const event of manager.runCommand(name, command, args)) {
        if ('output' in event) output += event.output;
        else if ('result' in event) result = event.result;
      }
      runs.push({ output, result });
    }
    report[name] = { sandboxed: Boolean(info.sandbox), runs };
  }
} finally {
  await manager.shutdown();
}
console.log(JSON.stringify(report));
`,
    );
    const report = JSON.parse(stdoutOf(app, process.execPath, ['host.js', workspace]));
    for (const name of ['greeter', 'gopher', 'snake']) {
      assert.deepEqual(
        report[name],
        {
          sandboxed: true,
          runs: [
            { output: 'hello, Ada\n', result: { value: { greeting: 'hello, Ada' }, exitCode: 0 } },
            { output: 'docs/\nnotes.txt\n', result: { value: { files: ['docs/', 'notes.txt'] }, exitCode: 0 } },
          ],
        },
        name,
      );
    }
    for (const name of ['greeter', 'gopher', 'snake']) {
      assert.equal(stdoutOf(app, 'npx', ['hst', '--plugin-dir', 'plugins', 'run', name, 'hello', 'name=Grace']), 'hello, Grace\n');
    }
    assert.equal(existsSync(join(app, 'node_modules', 'hst', 'node_modules')), false, 'hst was installed with its own copy of its dependencies');
  });
});
