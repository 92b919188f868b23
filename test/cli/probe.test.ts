/**
 * `./hst probe` against a Go plugin, a Python plugin, our TS plugin and a
 * broken one, through the real command line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ProbeReport } from '../../src/cli/probe.js';
import { fixture, goPeers, pythonPeer, repo, transportUnderTest } from '../support/peers.js';

function hst(args: string[], env: Record<string, string> = {}): { status: number | null; report: ProbeReport; stdout: string } {
  const res = spawnSync(join(repo, 'hst'), args, { encoding: 'utf8', env: { ...process.env, ...env } });
  let report: ProbeReport;
  try {
    report = JSON.parse(res.stdout) as ProbeReport;
  } catch {
    report = undefined as unknown as ProbeReport;
  }
  return { status: res.status, report, stdout: res.stdout + res.stderr };
}

const go = goPeers();
const py = pythonPeer();

describe('hst probe', () => {
  it('reports a healthy Go plugin with its services by reflection, over AutoMTLS', { skip: 'skip' in go ? go.skip : false }, () => {
    const { status, report } = hst(['probe', '--json', '--auto-mtls', '--', join('bin' in go ? go.bin : '', 'kv-plugin')]);
    assert.equal(status, 0);
    assert.equal(report.ok, true);
    assert.equal(report.health, 'SERVING');
    assert.deepEqual(
      { core: report.handshake?.coreVersion, app: report.handshake?.appVersion, protocol: report.handshake?.protocol, tls: report.handshake?.tls },
      { core: 1, app: 1, protocol: 'grpc', tls: true },
    );
    assert.equal(report.servicesSource, 'reflection');
    for (const s of ['proto.KV', 'plugin.GRPCBroker', 'plugin.GRPCController', 'plugin.GRPCStdio', 'grpc.health.v1.Health']) {
      assert.ok(report.services?.includes(s), `missing ${s} in ${report.services}`);
    }
    assert.equal(report.forcedKill, false);
    assert.equal(typeof report.shutdownMs, 'number');
    assert.deepEqual(report.exit, { code: 0, signal: null });
    assert.ok(report.logs.some((l) => l.message === 'plugin address'), 'plugin logs not captured');
  });

  it('reports a healthy Python plugin', { skip: 'skip' in py ? py.skip : false }, () => {
    const python = 'python' in py ? py.python : 'python3';
    const { status, report } = hst(['probe', '--json', '--', python, join(repo, 'interop', 'python', 'kv_plugin.py')]);
    assert.equal(status, 0, JSON.stringify(report));
    assert.equal(report.health, 'SERVING');
    assert.ok(report.services?.includes('proto.KV'));
    assert.equal(report.forcedKill, false);
  });

  it('reports our TS plugin, offering several versions', () => {
    const { status, report } = hst(['probe', '--json', '--versions', '2,3', '--', process.execPath, fixture('kv-plugin')], { KV_PLUGIN_VERSIONS: '1,3' });
    assert.equal(status, 0, JSON.stringify(report));
    assert.equal(report.handshake?.appVersion, 3);
    assert.equal(report.handshake?.network, transportUnderTest === 'grpc' ? 'unix' : 'socketpair');
  });

  it('explains a broken plugin and exits non-zero', () => {
    const { status, report } = hst(['probe', '--json', '--', process.execPath, fixture('misbehaving-plugin')], { MISBEHAVE: 'stray-print' });
    assert.equal(status, 1);
    assert.equal(report.ok, false);
    assert.match(report.error ?? '', /^Unrecognized remote plugin message: starting up/);
    assert.match(report.error ?? '', /before its handshake line/);
  });

  it('prints a readable report without --json', () => {
    const { status, stdout } = hst(['probe', '--timeout', '1', '--', process.execPath, fixture('misbehaving-plugin')], { MISBEHAVE: 'hang' });
    assert.equal(status, 1);
    assert.match(stdout, /^FAILED {2}/);
    assert.match(stdout, /timeout while waiting for plugin to start/);
  });

  it("writes out the terminal escapes in a plugin's output instead of passing them to the terminal", () => {
    const { status, stdout } = hst(['probe', '--timeout', '2', '--', process.execPath, fixture('misbehaving-plugin')], { MISBEHAVE: 'terminal-escapes' });
    assert.equal(status, 1);
    assert.doesNotMatch(stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/u, 'a control byte reached the terminal');
    assert.match(stdout, /\\u001b\]0;pwned\\u0007/);
  });

  it('rejects a malformed option with a clear message', () => {
    const res = spawnSync(join(repo, 'hst'), ['probe', '--cookie', 'nokey', '--', 'x'], { encoding: 'utf8' });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /expected KEY=VALUE/);
    assert.doesNotMatch(res.stderr, /at .*\.js:\d+/, 'stack trace shown for a user mistake');
  });
});
