import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, RpcError } from '../rpc/status.js';
import { CallDeadline } from './deadline.js';

const never = new Promise<never>(() => {});

it('aborts its signal when the time is up and explains any failure as DEADLINE_EXCEEDED', async () => {
  const deadline = new CallDeadline(30, 'plugin "x" command "y"');
  const err = (await deadline.race(never).catch((e: unknown) => e)) as RpcError;
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, Code.DEADLINE_EXCEEDED);
  assert.equal(err.details, 'plugin "x" command "y" did not finish within 30 ms (the plugin\'s call timeout); the plugin keeps running');
  assert.ok(deadline.signal.aborted);
  assert.ok(deadline.expired);
  assert.equal((deadline.explain(new RpcError(Code.CANCELLED, 'Cancelled on client')) as RpcError).code, Code.DEADLINE_EXCEEDED);
  deadline.dispose();
});

it("passes the caller's cancellation on without calling it a timeout", async () => {
  const caller = new AbortController();
  const deadline = new CallDeadline(10_000, 'plugin "x" call', caller.signal);
  const pending = deadline.race(never).catch((e: unknown) => e);
  caller.abort(new Error('the person pressed Ctrl-C'));
  assert.equal(((await pending) as Error).message, 'the person pressed Ctrl-C');
  assert.equal(deadline.expired, false);
  const cancelled = new RpcError(Code.CANCELLED, 'x');
  assert.equal(deadline.explain(cancelled), cancelled);
  deadline.dispose();
});

it('lets a call that finishes in time through, and disposing stops the clock', async () => {
  const deadline = new CallDeadline(50, 'plugin "x" call');
  assert.equal(await deadline.race(Promise.resolve(7)), 7);
  deadline.dispose();
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(deadline.expired, false);
  assert.ok(deadline.signal.aborted, 'whatever still listens is cancelled');
});

it('starts aborted under an already aborted caller signal', async () => {
  const deadline = new CallDeadline(10_000, 'plugin "x" call', AbortSignal.abort(new Error('gone')));
  assert.equal(((await deadline.race(Promise.resolve(1)).catch((e: unknown) => e)) as Error).message, 'gone');
  deadline.dispose();
});
