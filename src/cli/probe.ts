/**
 * `hst probe`: launch any go-plugin plugin, do the handshake, check health,
 * list its services, capture its logs and output, shut it down and time the
 * exit. The tool for "Unrecognized remote plugin message".
 */
import { terminalSafe } from '../util/terminal-text.js';
import { HealthCheckResponse_ServingStatus, HealthDefinition } from '../gen/grpc/health/v1/health.js';
import { ServerReflectionDefinition as ReflectionV1 } from '../gen/grpc/reflection/v1/reflection.js';
import { ServerReflectionDefinition as ReflectionV1Alpha } from '../gen/grpc/reflection/v1alpha/reflection.js';
import type { ClientConnection } from '../rpc/definition.js';
import { PluginClient, PluginStartError } from '../host/plugin-client.js';
import { HEALTH_SERVICE } from '../protocol/constants.js';
import { MemoryLogger } from '../log.js';
import { collector } from '../util/collector.js';

export interface ProbeOptions {
  command: string;
  args: string[];
  cookie: { key: string; value: string };
  versions: number[];
  autoMTLS: boolean;
  timeoutMs: number;
}

export interface ProbeReport {
  ok: boolean;
  command: string[];
  handshake?: { coreVersion: number; appVersion: number; network: string; address: string; protocol: string; tls: boolean };
  startMs?: number;
  health?: string;
  services?: string[];
  servicesSource?: 'reflection' | 'probed';
  logs: Array<{ level: string; message: string; fields: Record<string, unknown> }>;
  stdout: string;
  stderr: string;
  shutdownMs?: number;
  forcedKill?: boolean;
  exit?: { code: number | null; signal: string | null };
  error?: string;
}

export async function probe(options: ProbeOptions): Promise<ProbeReport> {
  const logger = new MemoryLogger();
  const stdout = collector();
  const stderr = collector();
  const report: ProbeReport = { ok: false, command: [options.command, ...options.args], logs: logger.entries, stdout: '', stderr: '' };
  const client = new PluginClient({
    name: options.command.split('/').pop() ?? options.command,
    handshake: { magicCookieKey: options.cookie.key, magicCookieValue: options.cookie.value },
    versionedPlugins: Object.fromEntries(options.versions.map((v) => [v, {}])),
    command: { path: options.command, args: options.args },
    autoMTLS: options.autoMTLS,
    startTimeoutMs: options.timeoutMs,
    logger,
    syncStdout: stdout.stream,
    syncStderr: stderr.stream,
    stdin: 'ignore',
  });

  try {
    const started = performance.now();
    const info = await client.start();
    report.startMs = round(performance.now() - started);
    report.handshake = {
      coreVersion: info.coreVersion,
      appVersion: info.appVersion,
      network: info.address.network,
      address: info.address.address,
      protocol: String(info.protocol),
      tls: !!info.certificate,
    };
    const connection = await client.connect();
    const health = await connection.client(HealthDefinition).check({ service: HEALTH_SERVICE }, { deadline: options.timeoutMs });
    report.health = HealthCheckResponse_ServingStatus[health.status] ?? String(health.status);
    const reflected = await listByReflection(connection, options.timeoutMs);
    if (reflected) {
      report.services = reflected;
      report.servicesSource = 'reflection';
    } else {
      // No reflection: report what the protocol itself proved is there.
      report.services = ['grpc.health.v1.Health', 'plugin.GRPCBroker', 'plugin.GRPCController', 'plugin.GRPCStdio'];
      report.servicesSource = 'probed';
    }
    report.ok = report.health === 'SERVING';
    if (!report.ok) report.error = `health check of "${HEALTH_SERVICE}" answered ${report.health}`;
  } catch (err) {
    report.error = err instanceof PluginStartError ? err.message : `${(err as Error).message}`;
  }

  const stopping = performance.now();
  await client.kill();
  if (report.handshake) {
    report.shutdownMs = round(performance.now() - stopping);
    report.forcedKill = !!logger.find('plugin failed to exit gracefully');
    if (report.forcedKill) {
      report.ok = false;
      report.error ??= 'the plugin did not exit within 2 s of Shutdown and was killed';
    }
  }
  const exit = client.hasExited() ? await client.exited : undefined;
  if (exit) report.exit = { code: exit.code, signal: exit.signal };
  report.stdout = stdout.text();
  report.stderr = stderr.text();
  // Findings first, the bulky captures last.
  const { logs, stdout: out, stderr: err, ...findings } = report;
  return { ...findings, logs, stdout: out, stderr: err };
}

async function listByReflection(connection: ClientConnection, timeoutMs: number): Promise<string[] | undefined> {
  for (const definition of [ReflectionV1, ReflectionV1Alpha]) {
    try {
      const reflection = connection.client(definition as typeof ReflectionV1);
      for await (const res of reflection.serverReflectionInfo([{ host: '', listServices: '' }], { deadline: timeoutMs })) {
        if (res.listServicesResponse) return res.listServicesResponse.service.map((s) => s.name).sort();
      }
    } catch {
      // try the older version, then give up
    }
  }
  return undefined;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** A person's view of a probe report, safe to print on a terminal. */
export function formatProbeReport(r: ProbeReport): string {
  const lines: string[] = [];
  lines.push(`${r.ok ? 'OK' : 'FAILED'}  ${r.command.join(' ')}`);
  if (r.handshake) {
    const h = r.handshake;
    lines.push(`  handshake   core ${h.coreVersion}, app version ${h.appVersion}, ${h.protocol} on ${h.network}:${h.address}${h.tls ? ', TLS' : ''} (${r.startMs} ms)`);
  }
  if (r.health) lines.push(`  health      ${r.health}`);
  if (r.services) lines.push(`  services    ${r.services.join(', ')}${r.servicesSource === 'probed' ? ' (no reflection; protocol services)' : ''}`);
  if (r.shutdownMs !== undefined) lines.push(`  shutdown    ${r.shutdownMs} ms${r.forcedKill ? ' (killed after 2 s)' : ' (clean exit)'}`);
  if (r.exit) lines.push(`  exit        ${r.exit.signal ? `signal ${r.exit.signal}` : `code ${r.exit.code}`}`);
  if (r.logs.length) {
    lines.push('  logs');
    for (const l of r.logs.slice(-20)) lines.push(`    ${l.level.padEnd(5)} ${l.message}`);
  }
  if (r.stdout) lines.push('  stdout', ...r.stdout.trimEnd().split('\n').map((l) => `    ${l}`));
  if (r.stderr) lines.push('  stderr', ...r.stderr.trimEnd().split('\n').map((l) => `    ${l}`));
  if (r.error) lines.push('  error', ...r.error.split('\n').map((l) => `    ${l}`));
  // Nearly all of it is what the plugin said: its addresses, services, logs and output.
  return terminalSafe(lines.join('\n'));
}
