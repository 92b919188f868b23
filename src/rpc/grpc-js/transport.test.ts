import { it } from 'node:test';
import assert from 'node:assert/strict';
import { HealthDefinition } from '../../gen/grpc/health/v1/health.js';
import { listenUnix } from '../../protocol/listener.js';
import { Code, RpcError } from '../status.js';
import { tmpdir } from 'node:os';
import { grpcJsTransport } from './transport.js';

it('a server stream that fails after some messages delivers them, then the error', async () => {
  const server = grpcJsTransport.createServer();
  server.addService(HealthDefinition, {
    check: () => ({ status: 1 }),
    list: () => ({ statuses: {} }),
    async *watch() {
      yield { status: 1 };
      yield { status: 2 };
      throw new RpcError(Code.NOT_FOUND, 'gone');
    },
  });
  const listener = await listenUnix(tmpdir());
  server.serve(listener.server);
  const connection = grpcJsTransport.connect(listener.address);
  const seen: number[] = [];
  const err = await (async () => {
    for await (const m of connection.client(HealthDefinition).watch({ service: '' })) seen.push(m.status);
  })().catch((e: unknown) => e);
  assert.deepEqual(seen, [1, 2]);
  assert.ok(err instanceof RpcError, `stream ended without its error: ${String(err)}`);
  assert.equal(err.code, Code.NOT_FOUND);
  assert.match(err.details, /gone/);
  connection.close();
  server.forceShutdown();
  listener.close();
});
