/** Node's permission model is found by the flags a node accepts, one branch per naming Node has had. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describeNode } from './sandbox.js';

it('each naming of the permission model, as the node lists its flags', () => {
  const named = (flags: string[]) => describeNode('/usr/bin/node', 'v0', new Set(flags)).permissionFlag;
  // 20.7 to 22.12: the experimental name.
  assert.equal(named(['--experimental-permission', '--allow-fs-read', '--disable-warning']), '--experimental-permission');
  // 22.13 and later 22s: both names; the new one is taken.
  assert.equal(named(['--experimental-permission', '--permission', '--allow-fs-read']), '--permission');
  // 24: only the new one.
  assert.equal(named(['--permission', '--allow-fs-read']), '--permission');
  const none = describeNode('/usr/bin/node', 'v18.0.0', new Set(['--disable-warning']));
  assert.equal(none.permissionFlag, undefined);
  assert.match(none.reason, /^node v18\.0\.0 has no usable permission model/);
  assert.equal(describeNode('/usr/bin/node', 'v0', new Set()).disableWarning, false);
});

it('the flag chosen for the node running this test is one it accepts, and it confines reads', () => {
  const info = describeNode(process.execPath, process.version, process.allowedNodeEnvironmentFlags);
  assert.ok(info.permissionFlag, info.reason);
  const run = spawnSync(process.execPath, [info.permissionFlag, '--allow-fs-read=/proc', '-e', "process.exit(process.permission.has('fs.read', '/proc') && !process.permission.has('fs.read', '/etc') ? 0 : 3)"], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});
