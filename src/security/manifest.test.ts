import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapabilityError } from './capability.js';
import {
  loadManifest,
  ManifestError,
  MAX_MANIFEST_BYTES,
  parseCapability,
  parseDuration,
  parseManifest,
  type ManifestIssue,
} from './manifest.js';

// Tests run from dist/src/security; the YAML fixtures are not compiled, so read them from the source tree.
const fixtures = fileURLToPath(new URL('../../../test/fixtures/manifests/', import.meta.url));
const fixture = (name: string) => join(fixtures, name);

/** A valid manifest of 7 lines: whatever is appended starts on line 8. */
const BASE = `name: demo
version: 1.0.0
runtime: binary
command: bin/demo
handshake:
  magic_cookie_key: HST_PLUGIN
  magic_cookie_value: demo
`;

function manifestError(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ManifestError, `expected a ManifestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ManifestError');
}

async function manifestErrorAsync(promise: Promise<unknown>): Promise<ManifestError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ManifestError, `expected a ManifestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ManifestError');
}

/** The only issue reported for `text`. */
function soleIssue(text: string): ManifestIssue {
  const err = manifestError(() => parseManifest(text, 'plugin.yaml'));
  assert.equal(err.issues.length, 1, err.message);
  return err.issues[0]!;
}

function assertIssue(
  text: string,
  want: { field: string; problem: RegExp; expected?: RegExp; line?: number; column?: number },
): void {
  const issue = soleIssue(text);
  assert.equal(issue.field, want.field, JSON.stringify(issue));
  assert.match(issue.problem, want.problem);
  if (want.expected) assert.match(issue.expected, want.expected);
  if (want.line !== undefined) assert.equal(issue.line, want.line, JSON.stringify(issue));
  if (want.column !== undefined) assert.equal(issue.column, want.column, JSON.stringify(issue));
}

describe('manifest: valid files', () => {
  it('round-trips every field of a full manifest to the object', async () => {
    const file = fixture('full.yaml');
    assert.deepEqual(await loadManifest(file), {
      name: 'git-tools',
      version: '1.4.0-rc.1+build.7',
      description: 'Git helpers for the workspace',
      runtime: 'node',
      command: 'dist/main.js',
      args: ['--color', 'never'],
      handshake: { protocolVersions: [1, 2], magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'd3f1a7c0' },
      capabilities: [
        'fs.read:src/**',
        'fs.write:$tmp/**',
        'deny:fs.read:secrets/**',
        'env:GIT_*',
        'env:HOME',
        'exec:/usr/bin/git',
        'net:github.com:443',
        'net:*.githubusercontent.com',
        'kv',
        'temp',
        'system',
        'process.spawn',
        'events.publish:git.*.changed',
        'events.subscribe:workspace.>',
        'log',
      ],
      requires: ['kv'],
      provides: ['git'],
      commands: [
        { name: 'status', help: 'Show the working tree status', args: [] },
        {
          name: 'log',
          help: 'Show commit logs',
          usage: 'git-tools log --limit N [ref]',
          args: [
            { name: 'ref', help: 'Where to start', required: false, default: 'HEAD', type: 'string' },
            { name: 'limit', required: true, pattern: '^[0-9]+$', type: 'string' },
          ],
        },
      ],
      exports: [],
      routes: [],
      widgets: [],
      resources: { memoryMb: 256, callTimeoutMs: 90_000, cpuSeconds: 120, maxOpenFiles: 512 },
      dir: fixtures.replace(/\/$/, ''),
      file,
    });
  });

  it('fills defaults for a minimal manifest and leaves optional objects out', async () => {
    const m = await loadManifest(fixture('minimal.yaml'));
    assert.equal(m.description, '');
    assert.deepEqual(m.args, []);
    assert.deepEqual(m.handshake.protocolVersions, [1]);
    assert.deepEqual(m.capabilities, []);
    assert.deepEqual(m.requires, []);
    assert.deepEqual(m.provides, []);
    assert.deepEqual(m.commands, []);
    assert.deepEqual(m.resources, {});
    assert.equal('signature' in m, false);
    assert.equal(m.command, './bin/hello');
  });

  it('resolves dir and file from a relative file name', () => {
    const m = parseManifest(BASE, 'plugins/demo/plugin.yaml');
    assert.equal(m.file, join(process.cwd(), 'plugins/demo/plugin.yaml'));
    assert.equal(m.dir, join(process.cwd(), 'plugins/demo'));
  });

  it('gives each manifest its own default lists', () => {
    const a = parseManifest(BASE, 'a.yaml');
    a.capabilities.push('log');
    assert.deepEqual(parseManifest(BASE, 'b.yaml').capabilities, []);
  });

  it('accepts a few anchors and aliases', () => {
    const m = parseManifest(`${BASE}requires: &services [kv, git]\nprovides: *services\n`, 'plugin.yaml');
    assert.deepEqual(m.requires, ['kv', 'git']);
    assert.deepEqual(m.provides, ['kv', 'git']);
  });

  it('accepts .mjs/.cjs entries for node and .py for python', () => {
    for (const [runtime, command] of [
      ['node', 'main.mjs'],
      ['node', 'lib/main.cjs'],
      ['python', 'plugin/main.py'],
      ['binary', 'plugin'],
    ]) {
      const m = parseManifest(
        BASE.replace('runtime: binary', `runtime: ${runtime}`).replace('bin/demo', command!),
        'plugin.yaml',
      );
      assert.equal(m.runtime, runtime);
      assert.equal(m.command, command);
    }
  });
});

describe('manifest: error format', () => {
  it('names file:line:col, the field and the expectation', async () => {
    const file = fixture('bad-capability.yaml');
    const err = await manifestErrorAsync(loadManifest(file));
    assert.equal(
      err.message,
      `${file}:12:5: capabilities[2]: "fs.raed:x" is not a capability; expected one of fs.read:<glob>, fs.write:<glob>, ` +
        'env:<NAME|PREFIX_*>, exec:<absolute path>, net:<host[:port]|*.domain>, kv, temp, system, process.spawn, ' +
        'events.publish:<topic glob>, events.subscribe:<topic glob>, log, service:<full.Service.Name>/<method glob>, http.route:<path glob>',
    );
    assert.equal(err.file, file);
    assert.equal(err.line, 12);
    assert.equal(err.column, 5);
    assert.equal(err.field, 'capabilities[2]');
    assert.match(err.expected, /^one of fs\.read:<glob>/);
  });

  it('lists every issue, one per line, in file order', () => {
    const err = manifestError(() =>
      parseManifest('command: /abs\nname: Bad Name\nversion: "1"\nruntime: ruby\n', 'p.yaml'),
    );
    const lines = err.message.split('\n');
    assert.equal(lines.length, err.issues.length);
    for (const line of lines) assert.match(line, /^p\.yaml:\d+:\d+: [^:]+: .+; expected .+$/);
    assert.deepEqual(
      err.issues.map((i) => `${i.line}:${i.column} ${i.field}`),
      ['1:1 handshake', '1:10 command', '2:7 name', '3:10 version', '4:10 runtime'],
    );
    assert.equal(err.field, 'handshake', 'the properties describe the first issue');
  });

  it('caps the message but keeps every issue', () => {
    const text = Array.from({ length: 30 }, (_, i) => `unknown${i}: 1`).join('\n');
    const err = manifestError(() => parseManifest(text, 'p.yaml'));
    assert.equal(err.issues.length, 35); // 30 unknown keys and 5 missing required fields
    const lines = err.message.split('\n');
    assert.equal(lines.length, 21);
    assert.equal(lines[20], '... and 15 more');
  });
});

describe('manifest: YAML-level problems', () => {
  it('reports a syntax error with its position', async () => {
    const file = fixture('malformed.yaml');
    const err = await manifestErrorAsync(loadManifest(file));
    assert.equal(err.line, 4);
    assert.equal(err.column, 1);
    assert.equal(err.field, '(yaml)');
    assert.match(err.problem, /Flow sequence/);
    assert.equal(err.expected, 'valid YAML');
    assert.ok(err.message.startsWith(`${file}:4:1: (yaml): `));
  });

  it('reports an unterminated string', () => {
    assertIssue('name: "demo\n', { field: '(yaml)', problem: /quote/, expected: /valid YAML/, line: 2, column: 1 });
  });

  it('refuses duplicate keys at the second occurrence', async () => {
    const err = await manifestErrorAsync(loadManifest(fixture('duplicate-keys.yaml')));
    assert.equal(err.issues.length, 1);
    assert.deepEqual([err.line, err.column, err.field, err.problem], [10, 3, 'resources.memory_mb', 'duplicate key']);
    assert.match(err.expected, /each key at most once/);
  });

  it('refuses duplicate top-level keys, quoted or not', () => {
    assertIssue(`${BASE}"name": again\n`, { field: 'name', problem: /duplicate key/, line: 8, column: 1 });
  });

  it('refuses an alias bomb without expanding it', async () => {
    const err = await manifestErrorAsync(loadManifest(fixture('alias-bomb.yaml')));
    assert.equal(err.issues.length, 1, err.message);
    assert.deepEqual([err.line, err.column, err.field], [9, 9, 'x1[0]']);
    assert.match(err.problem, /aliases expand the document too much/);
    assert.match(err.expected, /at most 16 alias expansions/);
  });

  it('refuses a top level that is not a mapping', async () => {
    const list = await manifestErrorAsync(loadManifest(fixture('top-level-list.yaml')));
    assert.deepEqual(
      [list.line, list.column, list.field, list.problem],
      [1, 1, '(manifest)', 'the top level is a list'],
    );
    assert.match(list.expected, /a mapping/);
    assertIssue('just a string\n', { field: '(manifest)', problem: /the top level is a scalar/, line: 1, column: 1 });
    assertIssue('', { field: '(manifest)', problem: /the file is empty/ });
    assertIssue('# only a comment\n', { field: '(manifest)', problem: /the file is empty/ });
  });

  it('refuses a second document', () => {
    assertIssue(`${BASE}---\nname: other\n`, {
      field: '(manifest)',
      problem: /second YAML document/,
      line: 8,
      column: 1,
    });
  });

  it('refuses explicit tags, standard or custom', () => {
    assertIssue(`${BASE}description: !!binary aGk=\n`, {
      field: 'description',
      problem: /the tag !!binary is not allowed/,
      line: 8,
    });
    assertIssue(`${BASE}description: !shell x\n`, {
      field: 'description',
      problem: /the tag !shell is not allowed/,
      line: 8,
    });
  });

  it('refuses deep nesting, including nesting deep enough to exhaust the parser', () => {
    assertIssue(`${BASE}args: ${'['.repeat(40)}${']'.repeat(40)}\n`, {
      field: `args${'[0]'.repeat(16)}`,
      problem: /nests too deeply/,
      expected: /at most 16 levels/,
      line: 8,
    });
    const err = manifestError(() =>
      parseManifest(`${BASE}args: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`, 'p.yaml'),
    );
    assert.equal(err.issues.length, 1, 'a stack overflow is reported once');
    assert.match(err.problem, /nests too deeply/);
  });

  it('reports an unknown key at the key, with the accepted keys', () => {
    assertIssue(`${BASE}colour: red\n`, {
      field: 'colour',
      problem: /^unknown key$/,
      expected:
        /^one of name, version, description, runtime, command, args, handshake, capabilities, requires, provides, commands, exports, routes, widgets, resources$/,
      line: 8,
      column: 1,
    });
  });

  it('suggests snake_case and near misses for unknown keys', async () => {
    const err = await manifestErrorAsync(loadManifest(fixture('unknown-key.yaml')));
    assert.deepEqual(
      err.issues.map((i) => [i.line, i.column, i.field, i.problem]),
      [
        [9, 3, 'resources.memoryMb', 'unknown key (keys are snake_case: memory_mb)'],
        [10, 1, 'capabilites', 'unknown key (did you mean capabilities?)'],
      ],
    );
    assert.equal(err.expected, 'one of memory_mb, call_timeout, cpu, max_open_files');
  });

  it('treats __proto__ as an unknown key, not a prototype', () => {
    assertIssue(`${BASE}__proto__: {name: evil}\n`, { field: '__proto__', problem: /unknown key/, line: 8 });
  });

  it('reports wrong types with the value as written', () => {
    assertIssue(BASE.replace('1.0.0', '1.0'), {
      field: 'version',
      problem: /^1\.0 is a number$/,
      expected: /semver/,
      line: 2,
      column: 10,
    });
    assertIssue(`${BASE}args:\n  flag: true\n`, {
      field: 'args',
      problem: /is a mapping/,
      expected: /a list of strings/,
      line: 9,
      column: 3,
    });
    assertIssue(`${BASE}args: [--port, 8080]\n`, {
      field: 'args[1]',
      problem: /^8080 is a number$/,
      expected: /quote numbers/,
      line: 8,
      column: 16,
    });
    assertIssue(`${BASE}resources:\n  memory_mb: lots\n`, {
      field: 'resources.memory_mb',
      problem: /"lots" is a string/,
    });
    assertIssue(`${BASE}capabilities: log\n`, {
      field: 'capabilities',
      problem: /"log" is a string/,
      expected: /a list/,
    });
    assertIssue(`${BASE}description:\n`, { field: 'description', problem: /no value given/, line: 8, column: 1 });
  });

  it('reports a missing required field at its parent', () => {
    assertIssue(BASE.replace('  magic_cookie_key: HST_PLUGIN\n', ''), {
      field: 'handshake.magic_cookie_key',
      problem: /^missing$/,
      expected: /environment variable name/,
      line: 5,
      column: 1,
    });
    assertIssue(BASE.replace('runtime: binary\n', ''), { field: 'runtime', problem: /^missing$/, line: 1, column: 1 });
  });
});

describe('manifest: field rules', () => {
  it('name', () => {
    for (const name of ['a', 'demo', 'git-tools', '0day', 'a'.repeat(63)]) {
      assert.equal(parseManifest(BASE.replace('name: demo', `name: ${name}`), 'p.yaml').name, name);
    }
    for (const name of ['Demo', '-demo', 'my_plugin', 'my plugin', 'a'.repeat(64), '"é"', '""']) {
      assertIssue(BASE.replace('name: demo', `name: ${name}`), {
        field: 'name',
        problem: /is not a plugin name/,
        expected: /a-z, 0-9/,
        line: 1,
        column: 7,
      });
    }
  });

  it('version is strict semver 2.0', () => {
    for (const v of [
      '0.0.0',
      '1.2.3',
      '10.20.30',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-0.3.7',
      '1.0.0-x.7.z.92',
      '1.0.0+20130313144700',
      '1.0.0-beta+exp.sha.5114f85',
      '1.0.0-x-y-z.--',
    ]) {
      assert.equal(parseManifest(BASE.replace('1.0.0', JSON.stringify(v)), 'p.yaml').version, v);
    }
    for (const v of [
      '1',
      '1.2',
      'v1.2.3',
      '01.2.3',
      '1.02.3',
      '1.2.03',
      '1.2.3-',
      '1.2.3-01',
      '1.2.3-a..b',
      '1.2.3+',
      '1.2.3+a..b',
      '1.2.3.4',
      '1.2.3-a_b',
      ' 1.2.3',
    ]) {
      assertIssue(BASE.replace('1.0.0', JSON.stringify(v)), {
        field: 'version',
        problem: /is not a semver 2.0 version/,
        expected: /"1\.2\.3"/,
        line: 2,
      });
    }
  });

  it('runtime is one of node, binary, python', () => {
    assertIssue(BASE.replace('runtime: binary', 'runtime: ruby'), {
      field: 'runtime',
      problem: /^"ruby" is not a runtime$/,
      expected: /^one of node, binary, python$/,
      line: 3,
      column: 10,
    });
  });

  it('command is a clean relative path', () => {
    const cases: Array<[string, RegExp]> = [
      ['/usr/bin/demo', /is absolute/],
      ['../demo', /".." segment/],
      ['bin/../../demo', /".." segment/],
      ['bin//demo', /empty segment/],
      ['bin/', /empty segment/],
      ['"bin\\\\demo"', /backslash/],
      ['"bin/\\0demo"', /NUL/],
      ['""', /empty/],
      ['.', /names a directory/],
    ];
    for (const [command, problem] of cases) {
      assertIssue(BASE.replace('bin/demo', command), {
        field: 'command',
        problem,
        expected: /relative to the manifest directory/,
        line: 4,
        column: 10,
      });
    }
  });

  it('command matches the runtime', () => {
    assertIssue(BASE.replace('runtime: binary', 'runtime: node'), {
      field: 'command',
      problem: /is not a node entry point/,
      expected: /\.js, \.mjs or \.cjs/,
      line: 4,
    });
    assertIssue(BASE.replace('runtime: binary', 'runtime: python'), {
      field: 'command',
      problem: /is not a python entry point/,
      expected: /\.py/,
    });
  });

  it('args are strings without NUL', () => {
    assertIssue(`${BASE}args: ["a\\0b"]\n`, { field: 'args[0]', problem: /NUL/, line: 8, column: 8 });
  });

  it('handshake', () => {
    assert.deepEqual(
      parseManifest(BASE.replace('handshake:\n', 'handshake:\n  protocol_versions: [3, 1]\n'), 'p.yaml').handshake
        .protocolVersions,
      [3, 1],
    );
    assertIssue(BASE.replace('HST_PLUGIN', '""'), {
      field: 'handshake.magic_cookie_key',
      problem: /is not an environment variable name/,
      line: 6,
      column: 21,
    });
    assertIssue(BASE.replace('HST_PLUGIN', 'HST-PLUGIN'), {
      field: 'handshake.magic_cookie_key',
      problem: /is not an environment variable name/,
    });
    assertIssue(BASE.replace('magic_cookie_value: demo', 'magic_cookie_value: ""'), {
      field: 'handshake.magic_cookie_value',
      problem: /empty/,
      line: 7,
      column: 23,
    });
    assertIssue(BASE.replace('magic_cookie_value: demo', 'magic_cookie_value: 42'), {
      field: 'handshake.magic_cookie_value',
      problem: /42 is a number/,
    });
    const versions = (v: string) => BASE.replace('handshake:\n', `handshake:\n  protocol_versions: ${v}\n`);
    assertIssue(versions('[]'), {
      field: 'handshake.protocol_versions',
      problem: /the list is empty/,
      line: 6,
      column: 22,
    });
    assertIssue(versions('[0]'), { field: 'handshake.protocol_versions[0]', problem: /0 is not positive/ });
    assertIssue(versions('[1.5]'), {
      field: 'handshake.protocol_versions[0]',
      problem: /1\.5 is a number/,
      expected: /positive integer/,
    });
    assertIssue(versions('[1, 2, 1]'), {
      field: 'handshake.protocol_versions[2]',
      problem: /duplicate protocol version 1 \(first at 6:23\)/,
      expected: /each protocol version once/,
      line: 6,
      column: 29,
    });
    assertIssue(`${BASE}  extra: 1\n`, {
      field: 'handshake.extra',
      problem: /unknown key/,
      expected: /one of protocol_versions, magic_cookie_key, magic_cookie_value/,
      line: 8,
      column: 3,
    });
  });

  it('capabilities are each validated and distinct', () => {
    assertIssue(`${BASE}capabilities:\n  - log\n  - fs.read:/etc/**\n`, {
      field: 'capabilities[1]',
      problem: /^"fs\.read:\/etc\/\*\*" is not a valid fs\.read capability: the glob is absolute/,
      expected: /^fs\.read:<glob>, such as fs\.read:src\/\*\*$/,
      line: 10,
      column: 5,
    });
    assertIssue(`${BASE}capabilities: [kv, log, kv]\n`, {
      field: 'capabilities[2]',
      problem: /duplicate capability "kv" \(first at 8:16\)/,
      expected: /each capability once/,
      line: 8,
      column: 25,
    });
    // A grant and a deny of the same pattern are different rules.
    assert.deepEqual(parseManifest(`${BASE}capabilities: [fs.read:a/**, deny:fs.read:a/**]\n`, 'p.yaml').capabilities, [
      'fs.read:a/**',
      'deny:fs.read:a/**',
    ]);
  });

  it('requires and provides are distinct service names', () => {
    const m = parseManifest(`${BASE}requires: [kv, hst.host.v1.Filesystem]\nprovides: [git, acme/tool@2]\n`, 'p.yaml');
    assert.deepEqual(
      [m.requires, m.provides],
      [
        ['kv', 'hst.host.v1.Filesystem'],
        ['git', 'acme/tool@2'],
      ],
    );
    assertIssue(`${BASE}requires: [kv, kv]\n`, { field: 'requires[1]', problem: /duplicate service "kv"/ });
    assertIssue(`${BASE}provides: ["has space"]\n`, {
      field: 'provides[0]',
      problem: /is not a service name/,
      line: 8,
      column: 12,
    });
    assertIssue(`${BASE}provides: [-x]\n`, { field: 'provides[0]', problem: /is not a service name/ });
  });

  it('description and help texts refuse control characters', () => {
    assertIssue(`${BASE}description: "\\e[2Jgotcha"\n`, {
      field: 'description',
      problem: /control characters/,
      line: 8,
      column: 14,
    });
    assertIssue(`${BASE}description: "safe\\u202Etxt.exe"\n`, { field: 'description', problem: /control characters/ });
    assert.equal(
      parseManifest(`${BASE}description: "two\\nlines\\tand a tab"\n`, 'p.yaml').description,
      'two\nlines\tand a tab',
    );
    assertIssue(`${BASE}commands:\n  - name: go\n    help: "\\x07"\n`, {
      field: 'commands[0].help',
      problem: /control characters/,
      line: 10,
      column: 11,
    });
  });

  it('commands', () => {
    const command = (body: string) => `${BASE}commands:\n${body}`;
    assertIssue(command('  - name: Deploy\n    help: h\n'), {
      field: 'commands[0].name',
      problem: /is not a command name/,
      expected: /starting with a letter/,
      line: 9,
      column: 11,
    });
    assertIssue(command('  - name: 1st\n    help: h\n'), {
      field: 'commands[0].name',
      problem: /is not a command name/,
    });
    assertIssue(command('  - name: go\n'), { field: 'commands[0].help', problem: /^missing$/, line: 9, column: 5 });
    assertIssue(command('  - name: go\n    help: "  "\n'), { field: 'commands[0].help', problem: /empty/ });
    assertIssue(command('  - name: go\n    help: h\n  - name: go\n    help: h\n'), {
      field: 'commands[1].name',
      problem: /^duplicate command name "go" \(first at 9:11\)$/,
      expected: /^each command name once$/,
      line: 11,
      column: 11,
    });
    assertIssue(command('  - name: go\n    help: h\n    aliases: [g]\n'), {
      field: 'commands[0].aliases',
      problem: /unknown key/,
      expected: /one of name, help, usage, args/,
      line: 11,
      column: 5,
    });
  });

  it('command arguments', () => {
    const args = (body: string) => `${BASE}commands:\n  - name: go\n    help: h\n    args:\n${body}`;
    assert.deepEqual(
      parseManifest(args('      - name: target\n      - name: count\n        required: true\n'), 'p.yaml').commands[0]!
        .args,
      [
        { name: 'target', required: false, type: 'string' },
        { name: 'count', required: true, type: 'string' },
      ],
    );
    assertIssue(args('      - name: Target\n'), {
      field: 'commands[0].args[0].name',
      problem: /is not an argument name/,
      line: 12,
      column: 15,
    });
    assertIssue(args('      - name: a\n      - name: a\n'), {
      field: 'commands[0].args[1].name',
      problem: /duplicate argument name "a" \(first at 12:15\)/,
      line: 13,
      column: 15,
    });
    assertIssue(args('      - name: a\n        required: yes\n'), {
      field: 'commands[0].args[0].required',
      problem: /"yes" is a string/,
      expected: /true or false/,
    });
    assertIssue(args('      - name: a\n        required: true\n        default: x\n'), {
      field: 'commands[0].args[0].default',
      problem: /required argument cannot have a default/,
      line: 14,
      column: 18,
    });
    assertIssue(args('      - name: a\n        default: 5\n'), {
      field: 'commands[0].args[0].default',
      problem: /5 is a number/,
      expected: /quote numbers/,
    });
    assertIssue(args('      - name: a\n        pattern: "^[0-9]+$"\n        default: many\n'), {
      field: 'commands[0].args[0].default',
      problem: /"many" does not match the pattern/,
    });
    assertIssue(args('      - name: a\n        pattern: "(["\n        default: x\n'), {
      field: 'commands[0].args[0].pattern',
      problem: /not a valid regular expression/,
      expected: /regular expression/,
      line: 13,
      column: 18,
    });
  });

  it('resources', () => {
    const resources = (body: string) => `${BASE}resources:\n${body}`;
    assert.deepEqual(
      parseManifest(resources('  memory_mb: 64\n  cpu: 10\n  max_open_files: 256\n  call_timeout: 500\n'), 'p.yaml')
        .resources,
      {
        memoryMb: 64,
        cpuSeconds: 10,
        maxOpenFiles: 256,
        callTimeoutMs: 500,
      },
    );
    assertIssue(resources('  memory_mb: 0\n'), {
      field: 'resources.memory_mb',
      problem: /0 is not positive/,
      expected: /MiB/,
      line: 9,
      column: 14,
    });
    assertIssue(resources('  memory_mb: -1\n'), { field: 'resources.memory_mb', problem: /-1 is not positive/ });
    assertIssue(resources('  memory_mb: 1.5\n'), {
      field: 'resources.memory_mb',
      problem: /1\.5 is a number/,
      expected: /positive integer/,
    });
    assertIssue(resources('  memory_mb: 99999999999999999999\n'), {
      field: 'resources.memory_mb',
      problem: /out of range/,
    });
    assertIssue(resources('  cpu: .inf\n'), { field: 'resources.cpu', problem: /\.inf/ });
    assertIssue(resources('  max_open_files: "10"\n'), {
      field: 'resources.max_open_files',
      problem: /"10" is a string/,
    });
    assertIssue(resources('  memory: 64\n'), { field: 'resources.memory', problem: /did you mean memory_mb/ });
  });

  it('call_timeout takes a duration string or milliseconds', () => {
    const timeout = (value: string) =>
      parseManifest(`${BASE}resources:\n  call_timeout: ${value}\n`, 'p.yaml').resources.callTimeoutMs;
    assert.equal(timeout('5s'), 5000);
    assert.equal(timeout('500ms'), 500);
    assert.equal(timeout('2m'), 120_000);
    assert.equal(timeout('1h'), 3_600_000);
    assert.equal(timeout('1m30s'), 90_000);
    assert.equal(timeout('"1.5s"'), 1500);
    assert.equal(timeout('250'), 250);
    const bad = (value: string, problem: RegExp) =>
      assertIssue(`${BASE}resources:\n  call_timeout: ${value}\n`, {
        field: 'resources.call_timeout',
        problem,
        expected: /"500ms", "5s", "2m"/,
        line: 9,
        column: 17,
      });
    bad('"5"', /^"5" is not a duration$/);
    bad('5 s', /is not a duration/);
    bad('5S', /is not a duration/);
    bad('3d', /is not a duration/);
    bad('0s', /is not positive/);
    bad('0', /is not positive/);
    bad('-5', /is not positive/);
    bad('1.5', /not a whole number of milliseconds/);
    bad('0.0001s', /not a whole number of milliseconds/);
    bad('597h', /longer than 2147483647 ms/);
    bad('[5s]', /the value is a list/);
    bad('true', /the value is a boolean/);
  });

  it('signature: the block earlier manifests had is refused, pointing at plugin.sig', () => {
    assertIssue(`${BASE}signature:\n  key_id: k1\n  value: aGk=\n`, {
      field: 'signature',
      problem: /^unknown key \(a plugin is signed by plugin\.sig beside plugin\.yaml, which hst sign writes\)$/,
    });
  });
});

describe('loadManifest', () => {
  function scratch(): { dir: string; cleanup(): void } {
    const dir = mkdtempSync(join(tmpdir(), 'hst-manifest-'));
    return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it('refuses an oversized manifest without parsing it, naming its size', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'plugin.yaml');
      // Broken YAML too: had it been parsed, the syntax error would be reported.
      writeFileSync(file, `name: [${'x'.repeat(MAX_MANIFEST_BYTES)}`);
      const err = await manifestErrorAsync(loadManifest(file));
      assert.equal(err.issues.length, 1);
      assert.equal(
        err.message,
        `${file}:1:1: (manifest): the file is ${MAX_MANIFEST_BYTES + 7} bytes; expected at most 65536 bytes (64 KiB)`,
      );
    } finally {
      s.cleanup();
    }
  });

  it('accepts a manifest of exactly the cap', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'plugin.yaml');
      const padding = `#${'x'.repeat(MAX_MANIFEST_BYTES - BASE.length - 2)}\n`;
      writeFileSync(file, BASE + padding);
      assert.equal(readFileSync(file).length, MAX_MANIFEST_BYTES);
      assert.equal((await loadManifest(file)).name, 'demo');
    } finally {
      s.cleanup();
    }
  });

  it('parses bytes as given, checking the size before decoding and UTF-8 with the position', () => {
    assert.equal(parseManifest(Buffer.from(BASE), 'p.yaml').name, 'demo');
    const oversized = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0xff); // not UTF-8 either: the size is reported first
    assert.equal(
      manifestError(() => parseManifest(oversized, 'p.yaml')).problem,
      `the file is ${MAX_MANIFEST_BYTES + 1} bytes`,
    );
    const bad = new Uint8Array([...Buffer.from('name: a\nversion: \u00e9 '), 0xc3, 0x28]);
    const err = manifestError(() => parseManifest(bad, 'p.yaml'));
    assert.deepEqual([err.line, err.column, err.problem, err.expected], [2, 12, 'the file is not UTF-8', 'UTF-8 text']);
  });

  it('applies the cap to text given directly', () => {
    const err = manifestError(() => parseManifest(`${BASE}# ${'é'.repeat(MAX_MANIFEST_BYTES / 2)}\n`, 'p.yaml'));
    assert.match(err.problem, /^the file is \d+ bytes$/);
    assert.equal(err.field, '(manifest)');
  });

  it('refuses text that is not UTF-8, at the bad byte', async () => {
    const s = scratch();
    try {
      const file = join(s.dir, 'plugin.yaml');
      writeFileSync(
        file,
        Buffer.concat([Buffer.from(`${BASE}description: caf`), Buffer.from([0xe9]), Buffer.from('\n')]),
      );
      const err = await manifestErrorAsync(loadManifest(file));
      assert.deepEqual([err.line, err.column, err.field, err.problem], [8, 17, '(manifest)', 'the file is not UTF-8']);
    } finally {
      s.cleanup();
    }
  });

  it('refuses a directory and does not hang on a FIFO', async () => {
    const s = scratch();
    try {
      assert.match((await manifestErrorAsync(loadManifest(s.dir))).problem, /is a directory/);
      const fifo = join(s.dir, 'plugin.yaml');
      if (spawnSync('mkfifo', [fifo]).status === 0) {
        assert.match((await manifestErrorAsync(loadManifest(fifo))).problem, /not a regular file/);
      }
    } finally {
      s.cleanup();
    }
  });

  it('lets a missing file fail as the fs error it is', async () => {
    await assert.rejects(loadManifest(fixture('does-not-exist.yaml')), { code: 'ENOENT' });
  });
});

describe('parseCapability', () => {
  const valid: Array<[string, object]> = [
    ['fs.read:src/**', { kind: 'fs.read', pattern: 'src/**' }],
    ['fs.read:**', { kind: 'fs.read', pattern: '**' }],
    ['fs.read:src/**/*.{ts,js}', { kind: 'fs.read', pattern: 'src/**/*.{ts,js}' }],
    ['fs.read:logs/app-{1..3}.log', { kind: 'fs.read', pattern: 'logs/app-{1..3}.log' }],
    ['fs.write:$tmp/**', { kind: 'fs.write', pattern: '$tmp/**' }],
    ['fs.write:.cache/*', { kind: 'fs.write', pattern: '.cache/*' }],
    ['env:HOME', { kind: 'env', pattern: 'HOME' }],
    ['env:_PRIVATE', { kind: 'env', pattern: '_PRIVATE' }],
    ['env:APP_*', { kind: 'env', pattern: 'APP_*' }],
    ['env:AWS_S3_*', { kind: 'env', pattern: 'AWS_S3_*' }],
    ['exec:/usr/bin/git', { kind: 'exec', pattern: '/usr/bin/git' }],
    ['exec:/opt/tool-1.2/bin/run', { kind: 'exec', pattern: '/opt/tool-1.2/bin/run' }],
    ['net:example.com', { kind: 'net', pattern: 'example.com' }],
    ['net:localhost:8080', { kind: 'net', pattern: 'localhost:8080' }],
    ['net:api.example.com:443', { kind: 'net', pattern: 'api.example.com:443' }],
    ['net:*.example.com', { kind: 'net', pattern: '*.example.com' }],
    ['net:*.example.com:443', { kind: 'net', pattern: '*.example.com:443' }],
    ['net:10.0.0.1', { kind: 'net', pattern: '10.0.0.1' }],
    ['net:255.255.255.255:65535', { kind: 'net', pattern: '255.255.255.255:65535' }],
    ['net:[::1]', { kind: 'net', pattern: '[::1]' }],
    ['net:[2001:db8::1]:443', { kind: 'net', pattern: '[2001:db8::1]:443' }],
    ['kv', { kind: 'kv' }],
    ['temp', { kind: 'temp' }],
    ['system', { kind: 'system' }],
    ['process.spawn', { kind: 'process.spawn' }],
    ['log', { kind: 'log' }],
    ['events.publish:builds.done', { kind: 'events.publish', pattern: 'builds.done' }],
    ['events.publish:builds.*.done', { kind: 'events.publish', pattern: 'builds.*.done' }],
    ['events.subscribe:builds.>', { kind: 'events.subscribe', pattern: 'builds.>' }],
    ['events.subscribe:a/b-c_d.*', { kind: 'events.subscribe', pattern: 'a/b-c_d.*' }],
    ['deny:fs.read:secrets/**', { kind: 'fs.read', pattern: 'secrets/**', deny: true }],
    ['deny:env:AWS_*', { kind: 'env', pattern: 'AWS_*', deny: true }],
    ['deny:net:*.internal', { kind: 'net', pattern: '*.internal', deny: true }],
    // With the policy's deny-beats-allow, this keeps kv from being granted at run time.
    ['deny:kv', { kind: 'kv', deny: true }],
  ];
  for (const [capability, parsed] of valid) {
    it(`accepts ${capability}`, () => assert.deepEqual(parseCapability(capability), { ...parsed, source: capability }));
  }

  const invalid: Array<[string, RegExp]> = [
    ['fs.raed:x', /is not a capability/],
    ['http', /is not a capability/],
    ['FS.READ:x', /is not a capability/],
    ['', /is not a capability/],
    ['deny:deny:fs.read:x', /is not a capability/],
    ['fs.read', /fs\.read needs a pattern/],
    ['fs.read:', /fs\.read needs a pattern/],
    ['fs.read:/etc/**', /the glob is absolute/],
    ['fs.read:../up', /".." segments/],
    ['fs.read:a/../../b', /".." segments/],
    ['fs.read:{..,src}/x', /".." segments/],
    ['fs.read:{/etc,src}', /the glob is absolute/],
    ['fs.read:a//b', /empty segment/],
    ['fs.read:src/', /empty segment/],
    ['fs.read:a/{,b}/c', /empty segment/],
    ['fs.read:./src', /"\." segments/],
    ['fs.write:a\\b', /backslash/],
    ['fs.write:a\0b', /NUL/],
    ['fs.read:!secrets/**', /negated globs/],
    [`fs.read:${'{a,b}'.repeat(9)}`, /more than 256 brace alternatives/],
    ['env:home', /uppercase/],
    ['env:APP*', /ends with "_" before the "\*"/],
    ['env:*', /every variable/],
    ['env:1PATH', /not starting with a digit/],
    ['env:A-B', /A-Z, 0-9 and _/],
    ['env:', /env needs a pattern/],
    ['exec:git', /not absolute/],
    ['exec:/usr/bin/', /names a directory/],
    ['exec:/', /names a directory/],
    ['exec:/usr/../bin/sh', /not clean/],
    ['exec:/usr/./bin/sh', /not clean/],
    ['exec:/usr//bin/sh', /not clean/],
    ['exec:/usr/bin/*', /not a glob/],
    ['exec:/bin/s\0h', /NUL/],
    ['net:Example.com', /lowercase/],
    ['net:*', /every host/],
    ['net:*.', /empty/],
    ['net:api.*.com', /not a hostname label/],
    ['net:-bad.com', /not a hostname label/],
    ['net:bad-.com', /not a hostname label/],
    ['net:a..b', /empty label/],
    ['net:example.com.', /empty label/],
    ['net:under_score.com', /not a hostname label/],
    [`net:${'a'.repeat(64)}.com`, /not a hostname label/],
    ['net:1.2.3', /not an IPv4 address/],
    ['net:1.2.3.256', /not an IPv4 address/],
    ['net:01.2.3.4', /not an IPv4 address/],
    ['net:example.123', /neither a hostname nor an IPv4 address/],
    ['net:::1', /in brackets/],
    ['net:[::1', /no closing "\]"/],
    ['net:[::g]', /not an IPv6 address/],
    ['net:[fe80::1%eth0]', /not an IPv6 address/],
    ['net:[::1]x', /only ":<port>"/],
    ['net:example.com:0', /port "0"/],
    ['net:example.com:65536', /port "65536"/],
    ['net:example.com:080', /port "080"/],
    ['net:example.com:', /port ""/],
    ['net:example.com:http', /port "http"/],
    ['kv:ns', /kv takes no pattern/],
    ['log:debug', /log takes no pattern/],
    ['events.publish:a..b', /topic segments/],
    ['events.publish:a.b c', /topic segments/],
    ['events.subscribe:a.>.b', /topic segments/],
    ['events.subscribe:a.b*', /topic segments/],
    ['events.subscribe:', /events\.subscribe needs a pattern/],
    [`fs.read:${'a'.repeat(1100)}`, /longer than 1024 characters/],
  ];
  for (const [capability, reason] of invalid) {
    it(`refuses ${JSON.stringify(capability).slice(0, 60)}`, () => {
      assert.throws(
        () => parseCapability(capability),
        (err: unknown) => {
          assert.ok(err instanceof CapabilityError);
          const [problem, expected, ...rest] = err.message.split('; expected ');
          assert.match(problem!, reason);
          assert.ok(expected, 'the message says what is expected');
          assert.equal(rest.length, 0, 'one "; expected" per message');
          return true;
        },
      );
    });
  }

  it('says what the kind accepts', () => {
    assert.throws(() => parseCapability('net:Example.com'), {
      message:
        '"net:Example.com" is not a valid net capability: hostnames are lowercase; expected net:<host[:port]|*.domain>, such as net:api.example.com:443, net:10.0.0.1, net:[::1]:8080 or net:*.example.com',
    });
    assert.throws(() => parseCapability('kv:x'), { message: '"kv:x": kv takes no pattern; expected kv' });
  });
});

describe('parseDuration', () => {
  const cases: Array<[string | number, number]> = [
    ['1ms', 1],
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0.5m', 30_000],
    [250, 250],
    [2 ** 31 - 1, 2 ** 31 - 1],
  ];
  for (const [input, ms] of cases)
    it(`${JSON.stringify(input)} is ${ms} ms`, () => assert.equal(parseDuration(input), ms));

  it('refuses what is not a positive whole number of milliseconds up to 2^31-1', () => {
    for (const input of [
      '',
      '5',
      's',
      '5 s',
      '5S',
      '5sec',
      '-5s',
      '+5s',
      '.5s',
      '5.s',
      '1d',
      '0ms',
      '0.4ms',
      0,
      -1,
      1.5,
      NaN,
      Infinity,
      2 ** 31,
      '600h',
    ]) {
      assert.throws(() => parseDuration(input), RangeError, JSON.stringify(input));
    }
  });
});

describe('manifest: routes and widgets', () => {
  const base = 'name: p\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  magic_cookie_key: K\n  magic_cookie_value: v\n';
  it('parses routes with parameters and a rest, and widgets with their defaults', () => {
    const m = parseManifest(`${base}routes:\n  - { method: GET, path: /notes/:id, handler: note, description: one note }\n  - { method: POST, path: /files/*, handler: upload }\n  - { method: GET, path: /, handler: home }\nwidgets:\n  - { id: recent, title: Recent notes, handler: recent }\n  - { id: big, title: Big, handler: big, location: plugin, size: large }\n`, 'p.yaml');
    assert.deepEqual(m.routes, [
      { method: 'GET', path: '/notes/:id', handler: 'note', description: 'one note' },
      { method: 'POST', path: '/files/*', handler: 'upload' },
      { method: 'GET', path: '/', handler: 'home' },
    ]);
    assert.deepEqual(m.widgets, [
      { id: 'recent', title: 'Recent notes', handler: 'recent', location: 'dashboard', size: 'medium' },
      { id: 'big', title: 'Big', handler: 'big', location: 'plugin', size: 'large' },
    ]);
  });

  it('names each mistake at its field', () => {
    const cases: Array<[string, RegExp]> = [
      ['routes:\n  - { method: GET, path: notes, handler: n }\n', /routes\[0\]\.path: "notes" is not a route path; expected a path from "\/"/],
      ['routes:\n  - { method: GET, path: /a/*/b, handler: n }\n', /routes\[0\]\.path: "\/a\/\*\/b" is not a route path/],
      ['routes:\n  - { method: GET, path: /widgets/x, handler: n }\n', /routes\[0\]\.path: "\/widgets\/x" is under \/widgets, where the plugin's widgets are served/],
      ['routes:\n  - { method: FETCH, path: /a, handler: n }\n', /routes\[0\]\.method: .*expected GET, POST, PUT, PATCH or DELETE/],
      ['routes:\n  - { method: GET, path: /a/:x, handler: n }\n  - { method: GET, path: /a/:y, handler: m }\n', /routes\[1\]\.path: duplicate route \(method and path\)/],
      ['routes:\n  - { method: GET, path: /a, handler: n, auth: none }\n', /routes\[0\]\.auth: unknown key .*; expected one of method, path, handler, description/],
      ['widgets:\n  - { id: w, title: W, handler: h }\n  - { id: w, title: V, handler: h }\n', /widgets\[1\]\.id: duplicate widget id "w"/],
      ['widgets:\n  - { id: w, title: W, handler: h, size: huge }\n', /widgets\[0\]\.size: .*expected small, medium \(the default\) or large/],
      ['capabilities: ["http.route:/abs"]\n', /capabilities\[0\]: .*absolute/],
    ];
    for (const [tail, message] of cases) assert.throws(() => parseManifest(base + tail, 'p.yaml'), message, tail);
  });
});
