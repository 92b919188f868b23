import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tierUpFlag } from './tier-up.js';

it('lowers the optimisation budget on V8 11 only, and never over a budget given to node', () => {
  assert.equal(tierUpFlag('11.3.244.8-node.38', []), '--interrupt-budget=4096');
  assert.equal(tierUpFlag('11.3.244.8-node.38', ['--interrupt-budget-for-feedback-allocation=100']), '--interrupt-budget=4096');
  for (const given of ['--interrupt-budget=100000', '--interrupt_budget=100000', '--interrupt-budget']) {
    assert.equal(tierUpFlag('11.3.244.8-node.38', ['--enable-source-maps', given]), undefined, given);
  }
  assert.equal(tierUpFlag('12.4.254.21-node.57', []), undefined);
  assert.equal(tierUpFlag('13.6.233.17-node.63', []), undefined);
});

/**
 * Whether V8 marked a small per-call function for optimisation within `calls` calls. V8 prints the
 * marking as it happens (--trace-opt), through its own buffered output, so only whether it is there counts.
 */
function markedWithin(calls: number, sooner: boolean): boolean {
  const script = `
    import { tierUpSooner } from ${JSON.stringify(fileURLToPath(new URL('./tier-up.js', import.meta.url)))};
    if (${sooner}) tierUpSooner();
    function perCall(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; }
    const data = [1, 2, 3, 4];
    for (let n = 0; n < ${calls}; n++) perCall(data);`;
  const out = execFileSync(process.execPath, ['--trace-opt', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 8 << 20 });
  return /^\[marking .*<JSFunction perCall/m.test(out);
}

it("makes V8 mark a plugin's per-call functions for optimisation sooner where it sets the budget, and changes nothing elsewhere", () => {
  // Measured on Node 20: marked after ~475 calls by default, ~125 with the lower budget.
  const calls = 300;
  const byDefault = markedWithin(calls, false);
  const sooner = markedWithin(calls, true);
  if (tierUpFlag(process.versions.v8, process.execArgv)) {
    assert.deepEqual({ byDefault, sooner }, { byDefault: false, sooner: true });
  } else {
    assert.equal(sooner, byDefault);
  }
  // Both ways do mark it, given enough calls: the probe sees V8's marking at all.
  assert.equal(markedWithin(3000, false), true);
});
