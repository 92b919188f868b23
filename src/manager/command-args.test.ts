import { it } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest } from '../security/manifest.js';
import { Code, RpcError } from '../rpc/status.js';
import { validateCommandArgs } from './command-args.js';

const manifest = parseManifest(
  `name: git-tools
version: 1.0.0
runtime: node
command: main.js
handshake: { magic_cookie_key: HST_PLUGIN, magic_cookie_value: x }
commands:
  - name: log
    help: Show commit logs
    args:
      - name: ref
        default: HEAD
      - name: limit
        help: how many commits
        required: true
        pattern: ^[0-9]+$
      - name: author
  - name: status
    help: Show the status
  - name: plot
    help: Plot points
    args:
      - name: count
        type: int
        default: "3"
      - name: scale
        type: number
      - name: log
        type: bool
        default: "no"
      - name: points
        type: json
`,
  '/plugins/git-tools/plugin.yaml',
);

function refusal(fn: () => unknown): RpcError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

it('fills in defaults, keeps given values and leaves absent optional arguments out', () => {
  assert.deepEqual(validateCommandArgs(manifest, 'log', { limit: '5' }).args, { ref: 'HEAD', limit: '5' });
  assert.deepEqual(validateCommandArgs(manifest, 'log', { limit: '5', ref: 'main', author: 'ada' }).args, { ref: 'main', limit: '5', author: 'ada' });
  assert.deepEqual(validateCommandArgs(manifest, 'status', {}), { args: {}, values: {} });
});

it('refuses a missing required argument, naming plugin, command and argument', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', {}));
  assert.equal(err.code, Code.INVALID_ARGUMENT);
  assert.equal(err.details, 'plugin "git-tools" command "log": argument "limit" is required (how many commits)');
});

it('refuses a value that does not match the pattern', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', { limit: 'ten' }));
  assert.equal(err.code, Code.INVALID_ARGUMENT);
  assert.equal(err.details, 'plugin "git-tools" command "log": argument "limit" = "ten" does not match ^[0-9]+$');
});

it('refuses unknown arguments and lists the ones the command takes', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', { limit: '1', colour: 'yes' }));
  assert.equal(err.code, Code.INVALID_ARGUMENT);
  assert.equal(err.details, 'plugin "git-tools" command "log": unknown argument "colour"; it takes ref, limit, author');
  const none = refusal(() => validateCommandArgs(manifest, 'status', { x: '1' }));
  assert.match(none.details, /unknown argument "x"; it takes no arguments$/);
});

it('refuses an unknown command with NOT_FOUND and lists the commands', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'push', {}));
  assert.equal(err.code, Code.NOT_FOUND);
  assert.equal(err.details, 'plugin "git-tools" has no command "push"; its commands: log, status, plot');
});

it('does not treat inherited object properties as arguments', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', JSON.parse('{"limit":"1","__proto__":"x"}')));
  assert.match(err.details, /unknown argument "__proto__"/);
  assert.deepEqual(validateCommandArgs(manifest, 'log', Object.create({ limit: '9' }, { limit: { value: '2', enumerable: true } })).args, { ref: 'HEAD', limit: '2' });
});

it('cuts long values in messages', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', { limit: 'x'.repeat(500) }));
  assert.ok(err.details.length < 200, err.details);
});

it('typed arguments: each arrives as its type, text that is not one is refused naming the type', () => {
  assert.deepEqual(validateCommandArgs(manifest, 'plot', { scale: '0.5', log: 'Yes', points: '[[1,2],[3,4]]' }), {
    args: { count: '3', scale: '0.5', log: 'Yes', points: '[[1,2],[3,4]]' },
    values: { count: 3, scale: 0.5, log: true, points: [[1, 2], [3, 4]] },
  });
  assert.deepEqual(validateCommandArgs(manifest, 'plot', { count: '-7', log: '0' }).values, { count: -7, log: false });
  for (const [args, said] of [
    [{ count: '2.5' }, /argument "count" = "2.5" is not a whole number; it takes a int/],
    [{ count: '99999999999999999999' }, /is not a whole number/],
    [{ scale: 'big' }, /argument "scale" = "big" is not a number; it takes a number/],
    [{ log: 'maybe' }, /is not true or false/],
    [{ points: '[1,' }, /argument "points" = "\[1," is not JSON/],
  ] as const) {
    const err = refusal(() => validateCommandArgs(manifest, 'plot', args));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.match(err.details, said);
  }
});

it('a typed default that is not of its type is a manifest error on that field', () => {
  assert.throws(
    () => parseManifest('name: p\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake: { magic_cookie_key: K, magic_cookie_value: v }\ncommands:\n  - name: c\n    help: h\n    args:\n      - name: n\n        type: int\n        default: many\n', 'p.yaml'),
    /p\.yaml:12:18: commands\[0\]\.args\[0\]\.default: "many" is not a whole number, as a int argument's default must be/,
  );
});
