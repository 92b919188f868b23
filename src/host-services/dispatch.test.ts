import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HealthDefinition } from '../gen/grpc/health/v1/health.js';
import { Code, RpcError } from '../rpc/status.js';
import { hostService } from './operation.js';
import { CLAIMED_CLIENT_ID_HEADER } from './dispatch.js';
import { DeniedError } from './errors.js';
import { silentLogger, type Logger } from '../log.js';
import { failure } from '../../test/support/assertions.js';
import { hostHarness, withHarness } from '../../test/support/host-harness.js';

/** A stand-in domain: Health's three methods, with one that fails like a missing file. */
let ran = 0;
const probeService = hostService({
  definition: HealthDefinition,
  operations: {
    check: { capability: 'system', resource: (r) => r.service },
    watch: { capability: 'system', resource: (r) => r.service },
    list: { capability: 'system' },
  },
  create: (caller) => ({
    check: ({ service }) => {
      ran++;
      if (service === 'missing') throw Object.assign(new Error('raw'), { code: 'ENOENT' });
      return { status: caller.owner === 'a' ? 1 : 2 };
    },
    async *watch() {
      yield { status: 1 };
    },
    list: () => ({ statuses: {} }),
  }),
});

/** A call the authorizer refuses fails with PERMISSION_DENIED, and its handler never runs. */
async function refusedBeforeTheHandler(client: { check(request: { service: string }): Promise<unknown> }, service: string): Promise<void> {
  const before = ran;
  const err = await failure(client.check({ service }));
  assert.equal(err.code, Code.PERMISSION_DENIED);
  assert.equal(ran, before, 'the handler ran despite the refusal');
}

describe('host service dispatch', () => {
  it('binds identity to the listener, whatever the plugin claims', () =>
    withHarness({ modules: [probeService] }, async (h) => {
      const a = await h.plugin('a');
      const b = await h.plugin('b');
      assert.equal((await a.client(HealthDefinition).check({ service: 'x' })).status, 1);
      // b claims to be a: it is still b, and the claim is recorded as such.
      const res = await b.client(HealthDefinition).check({ service: 'x' }, { metadata: { [CLAIMED_CLIENT_ID_HEADER]: a.caller.clientId } });
      assert.equal(res.status, 2);
      const [ra, rb] = h.records;
      assert.equal(ra?.owner, 'a');
      assert.equal(rb?.owner, 'b');
      assert.equal(rb?.clientId, b.caller.clientId);
      assert.equal(rb?.claimedClientId, a.caller.clientId);
      assert.equal(ra?.claimedClientId, undefined);
      assert.match(ra?.requestId ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
      assert.notEqual(ra?.requestId, rb?.requestId);
      assert.match(a.caller.clientId, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      assert.equal(ra?.operation, 'Health/Check');
      assert.equal(ra?.capability, 'system');
      assert.equal(ra?.resource, 'x');
      assert.ok((ra?.durationUs ?? -1) >= 0);
      const logged = h.logger.find('host call');
      assert.equal(logged?.fields.request_id, ra?.requestId);
      assert.equal(typeof logged?.fields.duration_us, 'number');
    }));

  it('maps errors to status codes naming the operation and resource', () =>
    withHarness({ modules: [probeService] }, async (h) => {
      const a = await h.plugin('a');
      const err = await failure(a.client(HealthDefinition).check({ service: 'missing' }));
      assert.equal(err.code, Code.NOT_FOUND);
      assert.match(err.details, /Health\/Check missing: no such file or directory/);
      assert.equal(h.records[0]?.ok, false);
      assert.equal(h.records[0]?.code, Code.NOT_FOUND);
    }));

  it('asks the authorizer first; a refusal never reaches the handler', async () => {
    const decisions: string[] = [];
    const h = await hostHarness({
      modules: [probeService],
      authorize: ({ caller, operation, capability, resource }) => {
        decisions.push(`${caller.owner} ${operation} ${capability} ${resource}`);
        if (resource === 'secret') throw new RpcError(Code.PERMISSION_DENIED, `${operation} ${resource}: denied`);
      },
    });
    try {
      const a = await h.plugin('a');
      await refusedBeforeTheHandler(a.client(HealthDefinition), 'secret');
      for await (const s of a.client(HealthDefinition).watch({ service: 'open' })) assert.equal(s.status, 1);
      assert.deepEqual(decisions, ['a Health/Check system secret', 'a Health/Watch system open']);
    } finally {
      await h.close();
    }
  });

  it('waits for an authorizer that answers with a promise, and records the rule it gives', () =>
    withHarness(
      {
        modules: [probeService],
        authorize: async ({ resource }) => {
          await new Promise((resolve) => setImmediate(resolve));
          if (resource === 'secret') throw new DeniedError(`Health/Check ${resource}: denied`, 'no-secrets');
          return { rule: 'allow-probes' };
        },
      },
      async (h) => {
        const a = await h.plugin('a');
        await refusedBeforeTheHandler(a.client(HealthDefinition), 'secret');
        assert.equal((await a.client(HealthDefinition).check({ service: 'x' })).status, 1);
        assert.deepEqual(
          h.records.map((r) => [r.resource, r.ok, r.rule]),
          [
            ['secret', false, 'no-secrets'],
            ['x', true, 'allow-probes'],
          ],
        );
      },
    ));

  it('builds no debug line for a call when the logger does not write debug', async () => {
    const lines: string[] = [];
    let debug = false;
    const logger: Logger = {
      ...silentLogger,
      debug: (_fields, message) => lines.push(message ?? ''),
      isLevelEnabled: (level) => level !== 'debug' || debug,
      child: () => logger,
    };
    const h = await hostHarness({ modules: [probeService], logger });
    try {
      const a = await h.plugin('a');
      await a.client(HealthDefinition).check({ service: 'x' });
      assert.deepEqual(lines, []);
      debug = true;
      await a.client(HealthDefinition).check({ service: 'y' });
      assert.deepEqual(lines, ['host call']);
      assert.equal(h.records.length, 2, 'every call is still recorded');
    } finally {
      await h.close();
    }
  });

  it('refuses calls from a caller that has been disconnected', () =>
    withHarness({ modules: [probeService] }, async (h) => {
      const a = await h.plugin('a');
      await h.hostServices.disconnect(a.caller);
      const err = await failure(a.client(HealthDefinition).check({ service: 'x' }));
      assert.equal(err.code, Code.UNAVAILABLE);
    }));
});
