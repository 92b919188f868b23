import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, RpcError } from '../rpc/status.js';
import { callLimit, CallDeadline } from './deadline.js';

const never = new Promise<never>(() => {});

it('aborts its signal when the time is up and explains any failure as DEADLINE_EXCEEDED', async () => {
  const deadline = new CallDeadline(30, 'plugin "x" command "y"');
  const err = (await deadline.race(never).catch((e: unknown) => e)) as RpcError;
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, Code.DEADLINE_EXCEEDED);
  assert.equal(err.details, 'plugin "x" command "y" did not finish within 30 ms (the plugin\'s call timeout, resources.call_timeout in its manifest); the plugin keeps running');
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

it('names whose limit passed: the caller\'s, the manifest\'s, or the host\'s default', async () => {
  assert.deepEqual(callLimit(200, 1_500, 60_000), { timeoutMs: 200, source: 'caller' });
  assert.deepEqual(callLimit(undefined, 1_500, 60_000), { timeoutMs: 1_500, source: 'manifest' });
  assert.deepEqual(callLimit(undefined, undefined, 60_000), { timeoutMs: 60_000, source: 'host' });
  for (const [source, text] of [
    ['caller', 'the timeout this call was given'],
    ['host', "the host's default call timeout, for a plugin whose manifest sets none"],
  ] as const) {
    const deadline = new CallDeadline(10, 'plugin "x" call', undefined, source);
    const err = (await deadline.race(never).catch((e: unknown) => e)) as RpcError;
    assert.equal(err.details, `plugin "x" call did not finish within 10 ms (${text}); the plugin keeps running`);
    deadline.dispose();
  }
});
