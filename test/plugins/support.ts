/**
 * Runs one example plugin from plugins/<name>/ as a host would: its
 * plugin.yaml decides its capabilities through a Policy, every host call is
 * audited, and its commands are run through hst.plugin.v1.Commands.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginClient } from '../../src/host/plugin-client.js';
import { runCommand } from '../../src/host/commands.js';
import { MemoryLogger } from '../../src/log.js';
import { allHostServices } from '../../src/host-services/catalog.js';
import type { CallRecord } from '../../src/host-services/dispatch.js';
import { establishHostServices } from '../../src/host-services/establish.js';
import { HostServices } from '../../src/host-services/host-services.js';
import { AuditLog, readAudit, type AuditRecord } from '../../src/security/audit.js';
import { guardHostServices } from '../../src/security/guard.js';
import { loadManifest, type Manifest } from '../../src/security/manifest.js';
import { Policy } from '../../src/security/policy.js';
import { repo } from '../support/peers.js';

export interface CommandRun {
  /** Every output event, concatenated. */
  output: string;
  progress: string[];
  value: unknown;
  exitCode: number;
}

export interface ExamplePlugin {
  manifest: Manifest;
  policy: Policy;
  /** Host path of the plugin's workspace. */
  workspace: string;
  /** The host's log, where the Log service writes. */
  hostLog: MemoryLogger;
  records: CallRecord[];
  run(command: string, args?: Record<string, string>, options?: { color?: boolean; signal?: AbortSignal }): Promise<CommandRun>;
  /** Runs a command and yields its events as they come, for tests that cancel it. */
  stream(command: string, args: Record<string, string>, signal: AbortSignal): ReturnType<typeof runCommand>;
  audit(): AuditRecord[];
  close(): Promise<void>;
}

export async function startExample(name: string, options: { env?: Record<string, string> } = {}): Promise<ExamplePlugin> {
  const pluginDir = join(repo, 'plugins', name);
  const manifest = await loadManifest(join(pluginDir, 'plugin.yaml'));
  const entry = join(manifest.dir, manifest.command);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);

  const dir = mkdtempSync(join(tmpdir(), `hst-${name}-`));
  const workspace = join(dir, 'workspace');
  mkdirSync(workspace);
  const hostLog = new MemoryLogger();
  const hostServices = new HostServices({ modules: allHostServices, dataDir: join(dir, 'data'), tempDir: join(dir, 'temp'), env: options.env ?? {}, logger: hostLog });
  const policy = new Policy();
  policy.setManifest(manifest.name, manifest.capabilities);
  const auditPath = join(dir, 'data', 'audit.jsonl');
  const audit = new AuditLog({ path: auditPath });
  guardHostServices({ hostServices, policy, audit });
  const records: CallRecord[] = [];
  hostServices.on('call', (r) => records.push(r));

  const [protocolVersion = 1] = manifest.handshake.protocolVersions;
  const client = new PluginClient({
    name: manifest.name,
    handshake: { protocolVersion, magicCookieKey: manifest.handshake.magicCookieKey, magicCookieValue: manifest.handshake.magicCookieValue },
    plugins: {},
    command: { path: process.execPath, args: [entry] },
    logger: new MemoryLogger(),
    stdin: 'ignore',
  });
  try {
    const connection = await establishHostServices(client, hostServices, { workspace });
    if (!connection) throw new Error(`${name} did not take host services`);
  } catch (err) {
    await client.kill();
    throw err;
  }

  const stream = (command: string, args: Record<string, string>, signal?: AbortSignal, color?: boolean) =>
    (async function* () {
      yield* runCommand(await client.connect(), command, args, { ...(signal ? { signal } : {}), color: color ?? false });
    })();

  return {
    manifest,
    policy,
    workspace,
    hostLog,
    records,
    async run(command, args = {}, options = {}) {
      const result: CommandRun = { output: '', progress: [], value: undefined, exitCode: -1 };
      for await (const event of stream(command, args, options.signal, options.color)) {
        if ('output' in event) result.output += event.output;
        else if ('progress' in event) result.progress.push(event.progress);
        else ({ value: result.value, exitCode: result.exitCode } = event.result);
      }
      return result;
    },
    stream: (command, args, signal) => stream(command, args, signal),
    audit: () => readAudit(auditPath),
    async close() {
      await client.kill();
      await hostServices.close();
      audit.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
