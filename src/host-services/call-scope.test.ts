import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { CallContext } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { callScope, enterCall } from './call-scope.js';

const context = (): CallContext => ({ metadata: {}, peer: 'test', method: '/t/T', signal: new AbortController().signal });

it('knows the call a context belongs to, and refuses a context the dispatcher never saw', () => {
  const seen = context();
  enterCall(seen, { operation: 'Filesystem/Stat', capability: 'fs.read' });
  assert.deepEqual(callScope(seen), { operation: 'Filesystem/Stat', capability: 'fs.read' });
  assert.throws(
    () => callScope(context()),
    (err: unknown) => err instanceof RpcError && err.code === Code.INTERNAL && /outside the dispatcher/.test(err.details),
  );
});
