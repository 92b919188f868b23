import { it } from 'node:test';
import assert from 'node:assert/strict';
import { composeEnv } from './env.js';

it('composes command env, then host env, then protocol env; later wins', () => {
  const env = composeEnv(
    { A: 'command', B: 'command', ONLY_CMD: '1' },
    { B: 'host', C: 'host', UNSET: undefined },
    { C: 'protocol', PLUGIN_MIN_PORT: '10000' },
  );
  assert.deepEqual(env, { A: 'command', B: 'host', ONLY_CMD: '1', C: 'protocol', PLUGIN_MIN_PORT: '10000' });
});

it('skipping the host env leaves only the command and protocol variables', () => {
  assert.deepEqual(composeEnv({ A: '1' }, undefined, { B: '2' }), { A: '1', B: '2' });
});
