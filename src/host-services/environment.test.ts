import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnvironmentDefinition } from '../gen/hst/host/v1/environment.js';
import type { Client } from '../rpc/definition.js';
import { Code } from '../rpc/status.js';
import { failure } from '../../test/support/assertions.js';
import { withHarness } from '../../test/support/host-harness.js';
import type { CallRecord } from './dispatch.js';
import { environmentService } from './environment.js';
import type { Limits } from './limits.js';

const env = { HOME_DIR: '/srv/app', APP_NAME: 'demo', APP_MODE: 'test', EMPTY: '', 'dotted.name': 'd' };

type EnvironmentClient = Client<typeof EnvironmentDefinition>;

function withEnvironment(fn: (client: EnvironmentClient, records: CallRecord[]) => Promise<void>, limits: Partial<Limits> = {}) {
  return withHarness({ modules: [environmentService], env, limits }, async (h) => {
    const p = await h.plugin('plugin-a');
    await fn(p.client(EnvironmentDefinition), h.records);
  });
}

describe('Environment service', () => {
  it('reads only the map the host exposes, never its own environment', async () => {
    process.env.HST_HOST_ONLY = 'secret';
    try {
      await withEnvironment(async (client) => {
        assert.equal((await client.getEnv({ name: 'APP_NAME' })).value, 'demo');
        assert.equal((await client.getEnv({ name: 'HST_HOST_ONLY' })).value, '');
        assert.equal((await client.getEnv({ name: 'toString' })).value, '', 'object prototype names are not variables');
        assert.deepEqual(await client.lookupEnv({ name: 'EMPTY' }), { value: '', found: true });
        assert.deepEqual(await client.lookupEnv({ name: 'HST_HOST_ONLY' }), { value: '', found: false });
      });
    } finally {
      delete process.env.HST_HOST_ONLY;
    }
  });

  it('refuses malformed names, naming the operation', async () => {
    await withEnvironment(async (client) => {
      for (const name of ['', 'A=B', 'A\0B']) {
        const err = await failure(client.getEnv({ name }));
        assert.equal(err.code, Code.INVALID_ARGUMENT);
        assert.match(err.details, /Environment\/GetEnv /);
      }
      const err = await failure(client.lookupEnv({ name: 'X=1' }));
      assert.match(err.details, /Environment\/LookupEnv "X=1": /);
      assert.equal((await failure(client.listEnv({ prefix: 'A=' }))).code, Code.INVALID_ARGUMENT);
    });
  });

  it('lists sorted, filters by prefix and truncates at the entry limit', async () => {
    await withEnvironment(async (client) => {
      const all = await client.listEnv({});
      assert.deepEqual(
        all.variables.map((v) => v.name),
        ['APP_MODE', 'APP_NAME', 'EMPTY', 'HOME_DIR', 'dotted.name'],
      );
      assert.equal(all.truncated, false);
      const app = await client.listEnv({ prefix: 'APP_' });
      assert.deepEqual(app.variables, [
        { name: 'APP_MODE', value: 'test' },
        { name: 'APP_NAME', value: 'demo' },
      ]);
    });
    await withEnvironment(
      async (client) => {
        const few = await client.listEnv({});
        assert.equal(few.variables.length, 2);
        assert.equal(few.truncated, true);
      },
      { maxEntries: 2 },
    );
  });

  it('expands $VAR and ${VAR}, unset to empty, other $ literally', async () => {
    await withEnvironment(async (client) => {
      const { text } = await client.expandEnv({ text: '$APP_NAME-${APP_MODE}/${dotted.name}:$MISSING:${MISSING}|$5 $ $$ $-' });
      assert.equal(text, 'demo-test/d::|$5 $ $$ $-');
      assert.equal((await client.expandEnv({ text: 'no references' })).text, 'no references');
      for (const bad of ['${APP_NAME', 'a ${}', '${A=B}']) {
        const err = await failure(client.expandEnv({ text: bad }));
        assert.equal(err.code, Code.INVALID_ARGUMENT, bad);
        assert.match(err.details, /Environment\/ExpandEnv/);
      }
    });
  });

  it('gives "." as the working directory and no host path', async () => {
    await withEnvironment(async (client) => {
      assert.deepEqual(await client.workingDir({}), { path: '.' });
    });
  });

  it('declares the env capability with the variable names as resource', async () => {
    await withEnvironment(async (client, records) => {
      await client.getEnv({ name: 'APP_NAME' });
      await client.lookupEnv({ name: 'EMPTY' });
      await client.listEnv({});
      await client.listEnv({ prefix: 'APP_' });
      await client.expandEnv({ text: '$APP_NAME ${APP_MODE} $APP_NAME' });
      await client.workingDir({});
      assert.deepEqual(
        records.map((r) => [r.operation, r.capability, r.resource]),
        [
          ['Environment/GetEnv', 'env', 'APP_NAME'],
          ['Environment/LookupEnv', 'env', 'EMPTY'],
          ['Environment/ListEnv', 'env', '*'],
          ['Environment/ListEnv', 'env', 'APP_'],
          ['Environment/ExpandEnv', 'env', 'APP_NAME,APP_MODE'],
          ['Environment/WorkingDir', 'env', '.'],
        ],
      );
    });
  });
});
