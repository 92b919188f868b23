import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, isRpcError, RpcError } from './status.js';

it("keeps another copy of hst's RpcError as the status it is (a module built against the package, run by the CLI), and nothing else", () => {
  // What an RpcError from a second copy of this module looks like: same brand, another class.
  const foreign = Object.assign(new Error('NOT_FOUND: no note'), { [Symbol.for('hst.RpcError')]: true, code: Code.NOT_FOUND, details: 'no note' });
  assert.equal(isRpcError(foreign), true);
  const e = RpcError.from(foreign);
  assert.ok(e instanceof RpcError);
  assert.deepEqual([e.code, e.details, e.cause], [Code.NOT_FOUND, 'no note', foreign]);

  const own = new RpcError(Code.ABORTED, 'raced');
  assert.equal(RpcError.from(own), own);
  for (const lookalike of [new Error('plain'), { code: Code.NOT_FOUND, details: 'no brand' }, Object.assign(new Error('x'), { [Symbol.for('hst.RpcError')]: true, code: 'NOT_FOUND', details: 'x' })]) {
    assert.equal(isRpcError(lookalike), false, JSON.stringify(lookalike));
    assert.equal(RpcError.from(lookalike).code, Code.UNKNOWN);
  }
});
