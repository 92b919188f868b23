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

/** How many calls a small per-call function had taken when V8 marked it for optimisation (V8 prints it as it marks). */
function callsBeforeMarked(sooner: boolean): number {
  const script = `
    import { tierUpSooner } from ${JSON.stringify(fileURLToPath(new URL('./tier-up.js', import.meta.url)))};
    if (${sooner}) tierUpSooner();
    function perCall(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; }
    const data = [1, 2, 3, 4];
    for (let n = 1; n <= 3000; n++) { perCall(data); console.log('calls', n); }`;
  const out = execFileSync(process.execPath, ['--trace-opt', '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 8 << 20 });
  let calls = 0;
  for (const line of out.split('\n')) {
    if (/^\[marking .*<JSFunction perCall/.test(line)) return calls;
    const m = /^calls (\d+)$/.exec(line);
    if (m) calls = Number(m[1]);
  }
  assert.fail(`perCall was never marked for optimisation:\n${out.slice(-2000)}`);
}

it("makes V8 mark a plugin's per-call functions for optimisation sooner where it sets the budget, and changes nothing elsewhere", () => {
  const byDefault = callsBeforeMarked(false);
  const sooner = callsBeforeMarked(true);
  if (tierUpFlag(process.versions.v8, process.execArgv)) {
    // Measured on Node 20: ~475 calls by default, ~125 with the lower budget.
    assert.ok(sooner * 2 < byDefault, `marked after ${sooner} calls with the lower budget, ${byDefault} without`);
  } else {
    assert.equal(sooner, byDefault);
  }
});
