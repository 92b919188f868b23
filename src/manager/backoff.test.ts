import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBudget } from './backoff.js';

it('doubles the wait for each restart in the window, up to the cap, then gives up', () => {
  let now = 0;
  const budget = new RestartBudget({ maxRestarts: 5, windowMs: 60_000, initialBackoffMs: 200, maxBackoffMs: 1_000 }, () => now);
  const delays = [budget.next(), budget.next(), budget.next(), budget.next(), budget.next()];
  assert.deepEqual(delays, [200, 400, 800, 1_000, 1_000]);
  assert.equal(budget.next(), undefined, 'the sixth crash within the window is one too many');
  assert.equal(budget.describe(), 'more than 5 restarts within 60 s');
});

it('forgets restarts older than the window, so a steady plugin starts again from the shortest wait', () => {
  let now = 0;
  const budget = new RestartBudget({ maxRestarts: 2, windowMs: 10_000, initialBackoffMs: 100 }, () => now);
  assert.equal(budget.next(), 100);
  now = 5_000;
  assert.equal(budget.next(), 200);
  assert.equal(budget.next(), undefined);
  now = 10_001;
  assert.equal(budget.next(), 200, 'the restart at 0 left the window; the one at 5 s is still in it');
  now = 30_000;
  assert.equal(budget.next(), 100);
});

it('uses the documented defaults', () => {
  const budget = new RestartBudget();
  const delays = Array.from({ length: 5 }, () => budget.next());
  assert.deepEqual(delays, [200, 400, 800, 1_600, 3_200]);
  assert.equal(budget.next(), undefined);
});
