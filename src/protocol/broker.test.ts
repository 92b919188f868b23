import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnInfo } from '../gen/plugin/grpc_broker.js';
import { silentLogger } from '../log.js';
import { http2Transport } from '../rpc/http2/transport.js';
import { BrokerClosedError, GrpcBroker } from './broker.js';
import { HealthDefinition } from '../gen/grpc/health/v1/health.js';
import { HealthService } from './health.js';

/** Two brokers wired back to back, as host and plugin are over StartStream. */
function pair(waitMs = 100) {
  let a!: GrpcBroker;
  let b!: GrpcBroker;
  const sentByA: ConnInfo[] = [];
  a = new GrpcBroker({ send: (i) => (sentByA.push(i), b.receive(i)), transport: http2Transport, logger: silentLogger, waitMs });
  b = new GrpcBroker({ send: (i) => a.receive(i), transport: http2Transport, logger: silentLogger, waitMs });
  return { a, b, sentByA };
}

const conn = (id: number, address = '/nonexistent'): ConnInfo => ({ serviceId: id, network: 'unix', address, knock: undefined });

describe('broker', () => {
  it('counts ids from 1 on each side independently', () => {
    const { a, b } = pair();
    assert.deepEqual([a.nextId(), a.nextId(), b.nextId()], [1, 2, 1]);
  });

  it('serves on an accepted id and the other side dials it', async () => {
    const { a, b, sentByA } = pair(2_000);
    const server = await a.acceptAndServe(7, (r) => r.addService(HealthDefinition, new HealthService().implementation()));
    assert.equal(sentByA[0]?.serviceId, 7);
    assert.equal(sentByA[0]?.network, 'unix');
    const connection = await b.dial(7);
    const res = await connection.client(HealthDefinition).check({ service: 'plugin' });
    assert.equal(res.status, 1);
    connection.close();
    server.close();
    a.close();
    b.close();
  });

  it('a dial waits for connection info that arrives later', async () => {
    const broker = new GrpcBroker({ send: () => {}, transport: http2Transport, logger: silentLogger, waitMs: 1_000 });
    const dialled = broker.dial(3);
    setTimeout(() => broker.receive(conn(3)), 50);
    const connection = await dialled;
    connection.close();
    broker.close();
  });

  it('a dial gives up after the wait with go-plugin\'s message', async () => {
    const broker = new GrpcBroker({ send: () => {}, transport: http2Transport, logger: silentLogger, waitMs: 80 });
    const started = Date.now();
    await assert.rejects(broker.dial(9), /^Error: timeout waiting for connection info$/);
    assert.ok(Date.now() - started >= 75);
    broker.close();
  });

  it('forgets connection info nobody dialled within the wait', async () => {
    const broker = new GrpcBroker({ send: () => {}, transport: http2Transport, logger: silentLogger, waitMs: 60 });
    broker.receive(conn(4));
    await new Promise((r) => setTimeout(r, 120));
    await assert.rejects(broker.dial(4), /timeout waiting for connection info/);
    broker.close();
  });

  it('drops a duplicate for a pending id and keeps the first', async () => {
    const broker = new GrpcBroker({ send: () => {}, transport: http2Transport, logger: silentLogger, waitMs: 1_000 });
    broker.receive(conn(5, '/first'));
    broker.receive(conn(5, '/second'));
    // The dial resolves with the first address; the channel itself is lazy.
    const connection = await broker.dial(5);
    await assert.rejects(connection.ready(200));
    connection.close();
    await assert.rejects(broker.dial(5), /timeout/, 'the duplicate was kept');
    broker.close();
  });

  it('fails pending dials and refuses new work once closed', async () => {
    const broker = new GrpcBroker({ send: () => {}, transport: http2Transport, logger: silentLogger, waitMs: 5_000 });
    const pending = broker.dial(1);
    broker.close();
    await assert.rejects(pending, BrokerClosedError);
    await assert.rejects(broker.accept(2), BrokerClosedError);
  });
});
