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
  assert.deepEqual(validateCommandArgs(manifest, 'log', { limit: '5' }), { ref: 'HEAD', limit: '5' });
  assert.deepEqual(validateCommandArgs(manifest, 'log', { limit: '5', ref: 'main', author: 'ada' }), { ref: 'main', limit: '5', author: 'ada' });
  assert.deepEqual(validateCommandArgs(manifest, 'status', {}), {});
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
  assert.equal(err.details, 'plugin "git-tools" has no command "push"; its commands: log, status');
});

it('does not treat inherited object properties as arguments', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', JSON.parse('{"limit":"1","__proto__":"x"}')));
  assert.match(err.details, /unknown argument "__proto__"/);
  assert.deepEqual(validateCommandArgs(manifest, 'log', Object.create({ limit: '9' }, { limit: { value: '2', enumerable: true } })), { ref: 'HEAD', limit: '2' });
});

it('cuts long values in messages', () => {
  const err = refusal(() => validateCommandArgs(manifest, 'log', { limit: 'x'.repeat(500) }));
  assert.ok(err.details.length < 200, err.details);
});
