/** plugins/hostdemo run as a host runs it: every host-services domain, under its manifest, audited. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startExample, type ExamplePlugin } from './support.js';

interface OperationResult {
  operation: string;
  ok: boolean;
  durationMs: number;
  detail: string;
}
interface Report {
  operations: OperationResult[];
  failed: number;
}

const SUITE_OPERATIONS: Record<string, string[]> = {
  env: ['Environment/ListEnv', 'Environment/GetEnv', 'Environment/LookupEnv', 'Environment/ExpandEnv'],
  system: ['System/Hostname', 'System/OsInfo', 'System/CpuInfo', 'System/MemoryInfo', 'System/Uptime', 'System/LoadAverage', 'System/Now', 'System/UserInfo'],
  temp: ['Temp/CreateTempFile', 'Filesystem/WriteFile', 'Filesystem/ReadFile', 'Temp/CreateTempDir', 'Temp/ListTemp', 'Temp/RemoveTemp', 'Temp/CleanupTemp'],
  processes: ['Processes/Exec', 'Processes/Spawn', 'Processes/ProcessOutput', 'Processes/Wait', 'Processes/ListProcesses'],
  // Watch finishes last: it reports the changes the steps inside it made.
  kv: ['KeyValue/Put', 'KeyValue/Get', 'KeyValue/CompareAndSwap', 'KeyValue/List', 'KeyValue/Delete', 'KeyValue/Watch'],
  events: ['Events/Publish', 'Events/Subscribe'],
  log: ['Log/Log'],
};

function detailOf(report: Report, operation: string): string {
  const result = report.operations.find((o) => o.operation === operation);
  assert.ok(result, `no ${operation} in the report`);
  return result.detail;
}

describe('hostdemo', () => {
  let plugin: ExamplePlugin;
  let server: Server;
  let url: string;
  let port: number;
  let requests = 0;

  before(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.end('hello, world\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}/greeting`;
    plugin = await startExample('hostdemo', { env: { HST_DEMO_GREETING: 'hello', HST_DEMO_NAME: 'Ada', SECRET_TOKEN: 'not for plugins' } });
  });
  after(async () => {
    await plugin?.close();
    server?.close();
  });

  it('runs every suite under its manifest and reports each operation', async () => {
    const run = await plugin.run('all');
    assert.equal(run.exitCode, 0, run.output);
    const report = run.value as Report;
    assert.deepEqual(report.operations.filter((o) => !o.ok), []);
    assert.equal(report.failed, 0);
    assert.deepEqual(
      report.operations.map((o) => o.operation),
      Object.values(SUITE_OPERATIONS).flat(),
    );
    assert.ok(report.operations.every((o) => typeof o.durationMs === 'number' && o.durationMs >= 0));

    assert.equal(detailOf(report, 'Environment/ListEnv'), 'HST_DEMO_GREETING, HST_DEMO_NAME', 'only the granted prefix is listed');
    assert.equal(detailOf(report, 'Environment/GetEnv'), 'HST_DEMO_GREETING="hello"');
    assert.equal(detailOf(report, 'Environment/LookupEnv'), 'HST_DEMO_UNSET is not set');
    assert.equal(detailOf(report, 'Environment/ExpandEnv'), 'hello, Ada!');
    assert.match(detailOf(report, 'Processes/Exec'), /echo printed "hello from hostdemo\\n"$/);
    assert.equal(detailOf(report, 'Processes/ProcessOutput'), '"spawned by hostdemo\\n", exit 0');
    assert.equal(detailOf(report, 'Processes/Wait'), 'exit code 0');
    assert.equal(detailOf(report, 'Processes/ListProcesses'), '0 still held');
    assert.match(detailOf(report, 'Temp/CleanupTemp'), /^[1-9]\d* removed$/);
    assert.match(detailOf(report, 'KeyValue/CompareAndSwap'), /a stale swap was refused/);
    assert.match(detailOf(report, 'KeyValue/Watch'), /^put hostdemo\/greeting@(\d+), put hostdemo\/greeting@(\d+), delete hostdemo\/greeting@\2$/);
    assert.equal(detailOf(report, 'Events/Publish'), 'delivered to 1 subscriptions');
    assert.match(detailOf(report, 'Events/Subscribe'), /^received hostdemo\.ping #\d+ from hostdemo$/);

    assert.match(run.output, /^no url given: the http suite is left out$/m);
    assert.match(run.output, /^operation +ok +ms +detail$/m);
    assert.match(run.output, /^System\/Hostname +ok +\d+\.\d +\S+/m);
    assert.match(run.output, /^all 33 operations succeeded$/m);
    assert.ok(!run.output.includes('\x1b['), 'no colour unless asked');

    const logged = plugin.hostLog.find('hello from hostdemo');
    assert.equal(logged?.fields.owner, 'hostdemo');
    assert.equal(logged?.fields.suite, 'log');
    assert.ok(plugin.audit().every((r) => r.decision === 'allow'), 'nothing outside the manifest was tried');
  });

  it('runs one suite per command', async () => {
    for (const [suite, operations] of Object.entries(SUITE_OPERATIONS)) {
      const run = await plugin.run(suite);
      assert.equal(run.exitCode, 0, run.output);
      assert.deepEqual((run.value as Report).operations.map((o) => `${o.operation} ${o.ok}`), operations.map((o) => `${o} true`), suite);
    }
  });

  it('fetches a URL only once net is granted for it, and says what to grant', async () => {
    const refused = await plugin.run('http', { url });
    assert.equal(refused.exitCode, 0, refused.output);
    const [fetch] = (refused.value as Report).operations;
    assert.equal(fetch?.ok, false);
    assert.match(fetch?.detail ?? '', new RegExp(`PERMISSION_DENIED: .*Http/Fetch 127\\.0\\.0\\.1:${port}: denied by default deny`));
    assert.match(refused.output, /^Http\/Fetch +FAIL/m);
    assert.match(refused.output, /^1 of 1 operations failed$/m);
    assert.equal(requests, 0);
    const denial = plugin.audit().find((r) => r.op === 'Http/Fetch');
    assert.equal(denial?.decision, 'deny');
    assert.equal(denial?.resource, `127.0.0.1:${port}`);
    const hint = plugin.hostLog.find(/hostdemo could not fetch/);
    assert.equal(hint?.level, 'warn');
    assert.equal(hint?.fields.grant, `net:127.0.0.1:${port}`);

    plugin.policy.grant('hostdemo', `net:127.0.0.1:${port}`);
    const fetched = await plugin.run('http', { url });
    const [ok] = (fetched.value as Report).operations;
    assert.deepEqual([ok?.operation, ok?.ok, ok?.detail], ['Http/Fetch', true, '200 OK, 13 bytes']);
    assert.equal(requests, 1);

    const usage = await plugin.run('http');
    assert.equal(usage.exitCode, 2);
    assert.match(usage.output, /the argument url is required/);
  });

  it('reports a revoked capability per operation instead of stopping', async () => {
    plugin.policy.revoke('hostdemo', 'kv');
    try {
      const run = await plugin.run('kv', {}, { color: true });
      assert.equal(run.exitCode, 0, run.output);
      const report = run.value as Report;
      assert.equal(report.failed, report.operations.length);
      assert.ok(report.operations.every((o) => /PERMISSION_DENIED: .*denied by default deny/.test(o.detail)), JSON.stringify(report.operations));
      assert.ok(run.output.includes('\x1b[31mFAIL\x1b[0m'), 'failures in red when colour is on');
      assert.ok(plugin.audit().some((r) => r.op === 'KeyValue/Put' && r.decision === 'deny'));
    } finally {
      plugin.policy.grant('hostdemo', 'kv');
    }
  });
});
