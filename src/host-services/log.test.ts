import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LogDefinition, LogLevel } from '../gen/hst/host/v1/log.js';
import { Code } from '../rpc/status.js';
import { failure } from '../../test/support/assertions.js';
import { withHarness, type Harness } from '../../test/support/host-harness.js';
import { CLAIMED_CLIENT_ID_HEADER, type Decision } from './dispatch.js';
import { logService } from './log.js';

/** What plugins logged, without the host's own records of the calls. */
const pluginEntries = (h: Harness) => h.logger.entries.filter((e) => !e.message.startsWith('host call'));

describe('Log', () => {
  it('writes each level into the host log with the caller identity', () =>
    withHarness({ modules: [logService] }, async (h) => {
      const p = await h.plugin('writer');
      const log = p.client(LogDefinition);
      const levels = [
        [LogLevel.LOG_LEVEL_TRACE, 'trace'],
        [LogLevel.LOG_LEVEL_DEBUG, 'debug'],
        [LogLevel.LOG_LEVEL_INFO, 'info'],
        [LogLevel.LOG_LEVEL_WARN, 'warn'],
        [LogLevel.LOG_LEVEL_ERROR, 'error'],
        [LogLevel.LOG_LEVEL_UNSPECIFIED, 'info'],
      ] as const;
      for (const [level, name] of levels) assert.deepEqual(await log.log({ level, message: `at ${name}`, fields: { step: String(level) } }), {});
      const entries = pluginEntries(h);
      assert.deepEqual(
        entries.map((e) => [e.level, e.message, e.fields.step]),
        levels.map(([level, name]) => [name, `at ${name}`, String(level)]),
      );
      for (const e of entries) {
        assert.equal(e.fields.client_id, p.caller.clientId);
        assert.equal(e.fields.owner, 'writer');
      }
    }));

  it('keeps identity fields the plugin sends, renamed, and ignores claimed client ids', () =>
    withHarness({ modules: [logService] }, async (h) => {
      const a = await h.plugin('a');
      const b = await h.plugin('b');
      await b.client(LogDefinition).log(
        { level: LogLevel.LOG_LEVEL_WARN, message: 'pretending', fields: { client_id: a.caller.clientId, owner: 'a', name: 'host', msg: 'x', plain: 'kept' } },
        { metadata: { [CLAIMED_CLIENT_ID_HEADER]: a.caller.clientId } },
      );
      const [entry] = pluginEntries(h);
      assert.equal(entry?.level, 'warn');
      assert.deepEqual(entry?.fields, {
        name: 'host-services',
        client_id: b.caller.clientId,
        owner: 'b',
        claimed_client_id: a.caller.clientId,
        claimed_owner: 'a',
        claimed_name: 'host',
        claimed_msg: 'x',
        plain: 'kept',
      });
    }));

  it('refuses an unknown level, naming it', () =>
    withHarness({ modules: [logService] }, async (h) => {
      const log = (await h.plugin('a')).client(LogDefinition);
      const err = await failure(log.log({ level: 42 as LogLevel, message: 'x' }));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.details, /Log\/Log 42: unknown level/);
      assert.equal(pluginEntries(h).length, 0);
      assert.equal(h.records[0]?.resource, '42');
    }));

  it('declares capability log with the level name', async () => {
    const decisions: Decision[] = [];
    await withHarness({ modules: [logService], authorize: (d) => void decisions.push(d) }, async (h) => {
      const log = (await h.plugin('a')).client(LogDefinition);
      await log.log({ level: LogLevel.LOG_LEVEL_ERROR, message: 'x' });
      await log.log({ message: 'y' });
      assert.deepEqual(
        decisions.map((d) => [d.operation, d.capability, d.resource]),
        [
          ['Log/Log', 'log', 'error'],
          ['Log/Log', 'log', 'info'],
        ],
      );
      assert.deepEqual(Object.keys(logService.operations), Object.keys(LogDefinition.methods));
    });
  });
});
