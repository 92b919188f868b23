/**
 * `hst list` and `hst run` through the real command line, on a plugin
 * directory made here (a runnable plugin, a broken manifest, a binary that
 * was never built) and on the example plugins.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { alive, repo } from '../support/peers.js';

const scratch = mkdtempSync(join(tmpdir(), 'hst-cli-'));
const pluginDir = join(scratch, 'plugins');
const dataDir = join(scratch, 'data');
after(() => rmSync(scratch, { recursive: true, force: true }));

function hst(...args: string[]) {
  return spawnSync(join(repo, 'hst'), ['--plugin-dir', pluginDir, '--data-dir', dataDir, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** A usage error is one line naming what was wrong, never a stack trace. */
function assertCleanError(stderr: string, message: string): void {
  assert.equal(stderr, `error: ${message}\n`);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

function writePlugin(name: string, manifest: string, main?: string): void {
  mkdirSync(join(pluginDir, name), { recursive: true });
  writeFileSync(join(pluginDir, name, 'plugin.yaml'), manifest);
  if (main !== undefined) writeFileSync(join(pluginDir, name, 'main.js'), main);
}

before(() => {
  const sdk = JSON.stringify(pathToFileURL(join(repo, 'dist', 'src', 'index.js')).href);
  writePlugin(
    'exits',
    `name: exits
version: 2.1.0
description: Echoes and exits with chosen codes
runtime: node
command: main.js
handshake:
  protocol_versions: [1]
  magic_cookie_key: HST_PLUGIN
  magic_cookie_value: exits
capabilities: [kv, temp]
commands:
  - name: echo
    help: Prints text, once per time
    args:
      - name: text
        required: true
      - name: times
        type: int
        default: "1"
        pattern: ^[0-9]+$
  - name: exit
    help: Ends with an exit code
    args:
      - name: code
        default: "0"
        pattern: ^[0-9]+$
`,
    `import { CommandError, serve } from ${sdk};
await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'exits' },
  plugins: {},
  commands: {
    echo: ({ args, values, output, progress }) => {
      for (let i = 1; i <= Number(args.times); i++) {
        progress('echo ' + i + ' of ' + args.times);
        output(args.text + '\\n');
      }
      return { text: args.text, times: Number(args.times), typedTimes: values.times };
    },
    exit: ({ args, output }) => {
      output('exiting with ' + args.code + '\\n');
      if (args.code !== '0') throw new CommandError('asked to exit with ' + args.code, Number(args.code));
      return { code: 0 };
    },
  },
});
`,
  );
  writePlugin('broken', 'name: broken\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: broken\ncapabilities: [fs.delete:**]\n');
  writePlugin('needsbin', 'name: needsbin\nversion: 0.3.0\nruntime: binary\ncommand: bin/needsbin\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: needsbin\n');
});

describe('hst list', () => {
  it('shows every plugin with its state, and why a plugin will not run', () => {
    const res = hst('list');
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr, '', 'logs go to the log file, not the terminal');
    const lines = res.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME +STATUS +RUNTIME +LANGUAGE +VERSION +PID +RESTARTS +CAPS +SANDBOX +SIGNATURE +COMMANDS$/);
    assert.match(res.stdout, /^broken +invalid +- +- +- +- +0 +0 +- +- +-$/m);
    // The manifest error with its file:line:col, under the plugin's row.
    assert.match(res.stdout, new RegExp(`^  ${escape(join(pluginDir, 'broken', 'plugin.yaml'))}:8:16: capabilities\\[0\\]: .*fs\\.delete`, 'm'));
    assert.match(res.stdout, /^exits +discovered +node +javascript +2\.1\.0 +- +0 +2 +auto +unsigned +echo, exit$/m);
    assert.match(res.stdout, /^needsbin +unavailable +binary +- +0\.3\.0 +- +0 +0 +- +unsigned +-\n {2}bin\/needsbin not found; build it \(its README says how\)$/m);
    assert.doesNotMatch(res.stdout, /\u001b\[/, 'no colours when stdout is not a terminal');
    assert.ok(existsSync(join(dataDir, 'logs', 'hst.log')), 'the discovery warnings are in the log file');
  });

  it('--json gives the PluginInfo of every plugin', () => {
    const res = hst('list', '--json');
    assert.equal(res.status, 0, res.stderr);
    const plugins = JSON.parse(res.stdout) as Array<Record<string, any>>;
    assert.deepEqual(
      plugins.map((p) => [p.name, p.status]),
      [
        ['broken', 'invalid'],
        ['exits', 'discovered'],
        ['needsbin', 'unavailable'],
      ],
    );
    const [broken, exits, needsbin] = plugins;
    assert.match(broken?.lastError, /broken\/plugin\.yaml:8:16: capabilities\[0\]/);
    assert.equal(needsbin?.lastError, 'bin/needsbin not found; build it (its README says how)');
    assert.equal(exits?.version, '2.1.0');
    assert.equal(exits?.runtime, 'node');
    assert.equal(exits?.language, 'javascript');
    assert.deepEqual(exits?.capabilities, ['kv', 'temp']);
    assert.deepEqual(
      exits?.commands.map((c: { name: string }) => c.name),
      ['echo', 'exit'],
    );
    assert.equal(exits?.restarts, 0);
    assert.equal(exits?.pid, undefined, 'discovered, not started');
  });

  it('--start starts them and shows their pids; they are stopped again afterwards', () => {
    const human = hst('list', '--start');
    assert.equal(human.status, 0, human.stderr);
    // What isolates it here: bwrap, or hst's launcher where bwrap is missing, with the kernel filters on top.
    assert.match(human.stdout, /^exits +running +node +javascript +2\.1\.0 +\d+ +0 +2 +(bwrap|hst-sandbox)(\+seccomp)?(\+landlock)? +unsigned +echo, exit$/m);
    const json = hst('list', '--start', '--json');
    assert.equal(json.status, 0, json.stderr);
    const exits = (JSON.parse(json.stdout) as Array<{ name: string; status: string; pid?: number }>).find((p) => p.name === 'exits');
    assert.equal(exits?.status, 'running');
    assert.ok(typeof exits?.pid === 'number' && exits.pid > 0);
    assert.equal(alive(exits.pid), false, 'the plugin was shut down with the command');
  });

  it('a data directory that cannot be made (under /proc) fails at once, in one line, instead of spinning', () => {
    const res = spawnSync(join(repo, 'hst'), ['--plugin-dir', pluginDir, '--data-dir', '/proc/hst-data', 'run', 'exits', 'echo', 'text=x'], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    assert.equal(res.signal, null, 'hst had to be killed');
    assert.equal(res.status, 1);
    assertCleanError(res.stderr, "ENOENT: no such file or directory, mkdir '/proc/hst-data'");
  });

  it('--sandbox off runs plugins unconfined and says so in the list and the audit log', () => {
    const human = hst('--sandbox', 'off', 'list', '--start');
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^exits +running +node +javascript +2\.1\.0 +\d+ +0 +2 +OFF \(operator\) +unsigned +echo, exit$/m);
    const audit = readFileSync(join(dataDir, 'audit', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.ok(
      audit.some((r) => r.plugin === 'exits' && r.event === 'sandbox' && /sandbox off/.test(JSON.stringify(r))),
      'the audit log records that the operator turned the sandbox off',
    );
    const refused = hst('--sandbox', 'sometimes', 'list');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /--sandbox <mode>' argument 'sometimes' is invalid. Allowed choices are auto, require, off/);
  });
});

describe('hst audit', () => {
  it('shows a plugin\'s records, and says so when the log has none of a plugin of that name', () => {
    assert.equal(hst('--sandbox', 'off', 'run', 'exits', 'echo', 'text=x').status, 0);
    const own = hst('audit', '--plugin', 'exits');
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /allow +exits +sandbox/);
    const misspelt = hst('audit', '--plugin', 'exit');
    assert.equal(misspelt.status, 2);
    assert.equal(misspelt.stdout, '');
    assert.match(misspelt.stderr, /^error: no audit records of plugin "exit" in .*audit\.jsonl; it has records of exits\n$/);
  });
});

describe('hst run', () => {
  it('streams the output and exits 0; positional values take the manifest order', () => {
    const named = hst('run', 'exits', 'echo', 'text=hello', 'times=2');
    assert.equal(named.status, 0, named.stderr);
    assert.equal(named.stdout, 'hello\nhello\n');
    assert.equal(named.stderr, '', 'no progress lines when stderr is not a terminal');
    const positional = hst('run', 'exits', 'echo', 'hi', '3');
    assert.equal(positional.stdout, 'hi\nhi\nhi\n');
    const mixed = hst('run', 'exits', 'echo', 'times=2', 'both');
    assert.equal(mixed.stdout, 'both\nboth\n');
  });

  it("exits with the command's exit code", () => {
    const ok = hst('run', 'exits', 'exit');
    assert.equal(ok.status, 0);
    for (const code of [1, 3, 42]) {
      const res = hst('run', 'exits', 'exit', String(code));
      assert.equal(res.status, code, res.stderr);
      assert.equal(res.stdout, `exiting with ${code}\nasked to exit with ${code}\n`);
    }
  });

  it('refuses bad arguments with exit 2 and one line naming the plugin, the command and the argument', () => {
    const cases: Array<[string[], string]> = [
      [['exits', 'exit', 'code=abc'], 'plugin "exits" command "exit": argument "code" = "abc" does not match ^[0-9]+$'],
      [['exits', 'echo'], 'plugin "exits" command "echo": argument "text" is required'],
      [['exits', 'echo', 'text=a', 'loud=yes'], 'plugin "exits" command "echo": unknown argument "loud"; it takes text, times'],
      [['exits', 'echo', 'a', '2', 'extra'], 'plugin "exits" command "echo": unexpected value "extra"; it takes text, times'],
      [['exits', 'echo', 'text=a', 'text=b'], 'plugin "exits" command "echo": argument "text" is given twice'],
      [['exits', 'shout'], 'plugin "exits" has no command "shout"; its commands: echo, exit'],
      [['nobody', 'echo'], `no plugin named "nobody" in ${pluginDir} (found: broken, exits, needsbin)`],
    ];
    for (const [args, message] of cases) {
      const res = hst('run', ...args);
      assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      assertCleanError(res.stderr, message);
    }
  });

  it('says why a plugin that will not run cannot, with exit 1', () => {
    const unavailable = hst('run', 'needsbin', 'anything');
    assert.equal(unavailable.status, 1);
    assertCleanError(unavailable.stderr, 'plugin "needsbin" is unavailable: bin/needsbin not found; build it (its README says how)');
    const invalid = hst('run', 'broken', 'anything');
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /^error: plugin "broken" is invalid: .*broken\/plugin\.yaml:8:16: capabilities\[0\]/);
    assert.doesNotMatch(invalid.stderr, /\n\s+at /);
  });

  it('a Node plugin that exits at start is reported by its exit code and stderr, once, not as a file to chmod', () => {
    const dir = join(scratch, 'quitting');
    mkdirSync(join(dir, 'quitter'), { recursive: true });
    writeFileSync(join(dir, 'quitter', 'plugin.yaml'), 'name: quitter\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: q\ncommands:\n  - { name: go, help: go }\n');
    writeFileSync(join(dir, 'quitter', 'main.js'), "process.stderr.write('cannot start: no config\\n'); process.exit(3);\n", { mode: 0o644 });
    const res = spawnSync(join(repo, 'hst'), ['--plugin-dir', dir, '--data-dir', dataDir, 'run', 'quitter', 'go'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /exited with code 3 before completing the handshake/);
    assert.doesNotMatch(res.stderr, /not executable|chmod/);
    assert.equal(res.stderr.split('cannot start: no config').length - 1, 1, res.stderr);
  });

  it("--help shows the command's help, usage and arguments from its manifest, or the plugin's commands", () => {
    const command = hst('run', 'exits', 'echo', '--help');
    assert.equal(command.status, 0, command.stderr);
    assert.equal(
      command.stdout,
      [
        'exits echo: Prints text, once per time',
        '',
        'usage: hst run exits echo <text> [times]',
        '',
        'arguments (name=value, or values in this order):',
        '  text   required',
        '  times  int, default "1", matching ^[0-9]+$',
        '',
      ].join('\n'),
    );
    const plugin = hst('run', 'exits', '-h');
    assert.equal(plugin.status, 0, plugin.stderr);
    assert.match(plugin.stdout, /^exits: Echoes and exits with chosen codes\n\ncommands:\n  echo  Prints text, once per time\n  exit  Ends with an exit code\n/);
    const unknown = hst('run', 'exits', 'shout', '--help');
    assert.equal(unknown.status, 2);
    assertCleanError(unknown.stderr, 'plugin "exits" has no command "shout"; its commands: echo, exit');
    assert.match(hst('run', '--help').stdout, /^Usage: hst run <plugin> <command> \[args\.\.\.\]/);
  });

  it('a typed argument reaches the plugin typed, and text that is not of its type is refused naming the type', () => {
    const res = hst('--json', 'run', 'exits', 'echo', 'hi', 'times=02');
    assert.deepEqual(JSON.parse(res.stdout), { text: 'hi', times: 2, typedTimes: 2 });
    const refused = hst('run', 'exits', 'echo', 'hi', 'times=-1');
    assert.equal(refused.status, 2);
    assertCleanError(refused.stderr, 'plugin "exits" command "echo": argument "times" = "-1" does not match ^[0-9]+$');
  });

  it('--json prints only the result', () => {
    const res = hst('run', 'exits', 'echo', 'hi', '2', '--json');
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { text: 'hi', times: 2, typedTimes: 2 });
    const failed = hst('--json', 'run', 'exits', 'exit', '5');
    assert.equal(failed.status, 5);
    assert.deepEqual(JSON.parse(failed.stdout), { error: 'asked to exit with 5' });
  });

  it("--workspace runs it on a directory of the user's: the help's first example works on a fresh data directory", () => {
    const help = hst('run', '--help').stdout;
    const example = /^ {2}hst run (--workspace \. filelister head README\.md lines=5)/m.exec(help)?.[1];
    assert.ok(example, help);
    const here = mkdtempSync(join(scratch, 'here-'));
    writeFileSync(join(here, 'README.md'), Array.from({ length: 8 }, (_, i) => `line ${i + 1}\n`).join(''));
    const fresh = spawnSync(join(repo, 'hst'), ['--plugin-dir', join(repo, 'plugins'), '--data-dir', join(here, '.hst'), 'run', ...example.split(' ')], { cwd: here, encoding: 'utf8', timeout: 60_000 });
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.equal(fresh.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    const missing = hst('run', '--workspace', join(here, 'nowhere'), 'exits', 'echo', 'x');
    assert.equal(missing.status, 2);
    assertCleanError(missing.stderr, `--workspace ${join(here, 'nowhere')} is not a directory`);
  });

  it('runs an example plugin in its workspace; only that plugin is started, and the log stays out of the output', () => {
    const examples = join(repo, 'plugins');
    const dataDir = join(scratch, 'examples-data');
    const workspace = join(dataDir, 'workspaces', 'filelister');
    mkdirSync(join(workspace, 'docs'), { recursive: true });
    writeFileSync(join(workspace, 'docs', 'a.txt'), 'first\nsecond\nthird\n');
    const run = (...args: string[]) => spawnSync(join(repo, 'hst'), ['--plugin-dir', examples, '--data-dir', dataDir, 'run', 'filelister', ...args], { encoding: 'utf8' });

    const listed = run('list', 'docs', '--json');
    assert.equal(listed.status, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), { path: 'docs', entries: [{ name: 'a.txt', type: 'file', size: 19 }] });
    const head = run('head', 'docs/a.txt', 'lines=2');
    assert.equal(head.stdout, 'first\nsecond\n');

    const refused = run('save', 'out=listing.txt');
    assert.equal(refused.status, 1);
    assert.match(refused.stdout, /PERMISSION_DENIED: .*Filesystem\/WriteFile listing\.txt: denied by default deny/);
    assert.equal(existsSync(join(workspace, 'listing.txt')), false);

    const log = readFileSync(join(dataDir, 'logs', 'hst.log'), 'utf8');
    const started = log
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; plugin?: string })
      .filter((entry) => entry.msg.startsWith('starting a plugin without a valid signature'));
    assert.ok(started.length >= 3, log);
    assert.deepEqual(new Set(started.map((entry) => entry.plugin)), new Set(['filelister']), 'no other plugin was started');
    assert.doesNotMatch(listed.stdout + head.stdout + head.stderr, /"level"/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
