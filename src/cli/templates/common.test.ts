import { it } from 'node:test';
import assert from 'node:assert/strict';
import { pathFrom } from './common.js';

it('a skeleton names the SDK relative to itself, unless the two share only the root', () => {
  // hst installed in the application around the plugin: the project and its hst move together.
  assert.equal(pathFrom('/srv/app/plugins/greeter', '/srv/app/node_modules/hst'), '../../node_modules/hst');
  assert.equal(pathFrom('/srv/app/plugins/greeter', '/srv/app/plugins/greeter/sdk'), './sdk');
  // A plugin in /tmp made from a checkout in /work: a climb to / says less than the absolute path.
  assert.equal(pathFrom('/tmp/sk/demo', '/work/main/sdk/go'), '/work/main/sdk/go');
});
