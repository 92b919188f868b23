#!/usr/bin/env node
/** The `hst` command line. */
import { Command, InvalidArgumentError } from 'commander';
import { formatProbeReport, probe } from './probe.js';
import { runDemo } from './demo.js';
import { auditCommand } from './audit.js';
import { formatInspectReport, inspectPlugin } from './inspect.js';
import { auditPath, dataDir } from './paths.js';
import { keygenCommand, signCommand, verifyCommand } from './keys.js';
import { parseManifest } from '../security/manifest.js';
import { MANIFEST_FILE, readManifestBytes } from '../security/signature.js';
import { join } from 'node:path';

function parseCookie(value: string): { key: string; value: string } {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('expected KEY=VALUE, e.g. BASIC_PLUGIN=hello');
  return { key: value.slice(0, i), value: value.slice(i + 1) };
}

function parseVersions(value: string): number[] {
  const versions = value.split(',').map((s) => s.trim());
  if (versions.some((v) => !/^\d+$/.test(v))) throw new InvalidArgumentError('expected a comma-separated list of numbers, e.g. 1,2');
  return versions.map(Number);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

const program = new Command()
  .name('hst')
  .description('A capability-secured plugin host that speaks HashiCorp go-plugin')
  .showHelpAfterError();

program
  .command('demo', { isDefault: true })
  .description('run the KV and Counter examples with TypeScript, Go and Python plugins')
  .action(async () => {
    process.exitCode = (await runDemo()) ? 0 : 1;
  });

program
  .command('probe')
  .description('launch a go-plugin plugin, handshake, check health, list services, shut it down')
  .option('--cookie <KEY=VALUE>', 'magic cookie the plugin expects', parseCookie, { key: 'BASIC_PLUGIN', value: 'hello' })
  .option('--versions <list>', 'app protocol versions to offer', parseVersions, [1])
  .option('--auto-mtls', 'use AutoMTLS', false)
  .option('--json', 'print one JSON object', false)
  .option('--timeout <seconds>', 'start and call timeout', parseSeconds, 20)
  .argument('<command...>', 'the plugin command and its arguments (after --)')
  .action(async (command: string[], opts: { cookie: { key: string; value: string }; versions: number[]; autoMtls: boolean; json: boolean; timeout: number }) => {
    const report = await probe({
      command: command[0] as string,
      args: command.slice(1),
      cookie: opts.cookie,
      versions: opts.versions,
      autoMTLS: opts.autoMtls,
      timeoutMs: opts.timeout * 1000,
    });
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatProbeReport(report)}\n`);
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('audit')
  .description('show the audit log: every allowed and denied host call')
  .option('--plugin <name>', 'only this plugin')
  .option('--denied', 'only denials', false)
  .option('--follow', 'keep printing new records', false)
  .option('--json', 'one JSON object per line', false)
  .option('--file <path>', 'the audit log (default: $HST_DATA_DIR/audit/audit.jsonl, HST_DATA_DIR defaulting to ./.hst)')
  .action(async (opts: { plugin?: string; denied: boolean; follow: boolean; json: boolean; file?: string }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.exitCode = await auditCommand(
      { path: opts.file ?? auditPath(), json: opts.json, follow: opts.follow, denied: opts.denied, color: !!process.stdout.isTTY, ...(opts.plugin ? { plugin: opts.plugin } : {}) },
      (line) => process.stdout.write(`${line}\n`),
      stop.signal,
    );
  });

/** Name, version and command from plugin.yaml, parsed from the very bytes the signature covers. */
async function manifestFields(pluginDir: string) {
  const manifestBytes = await readManifestBytes(pluginDir);
  const manifest = parseManifest(manifestBytes, join(pluginDir, MANIFEST_FILE));
  return { name: manifest.name, version: manifest.version, command: manifest.command, manifestBytes };
}

function finish(result: { exitCode: number; output: string }): void {
  (result.exitCode === 0 ? process.stdout : process.stderr).write(result.output);
  process.exitCode = result.exitCode;
}

program
  .command('keygen')
  .description('make an ed25519 key pair for signing plugins')
  .option('--dir <dir>', 'where to write <keyId>.key and <keyId>.pub', join(dataDir(), 'keys'))
  .action((opts: { dir: string }) => finish(keygenCommand({ dir: opts.dir })));

program
  .command('sign')
  .description("sign a plugin directory: its manifest and its executable's sha256, into plugin.sig")
  .argument('<plugin-dir>')
  .requiredOption('--key <file>', 'the private key (<keyId>.key)')
  .action(async (pluginDir: string, opts: { key: string }) => finish(await signCommand({ pluginDir, key: opts.key, loadManifest: manifestFields })));

program
  .command('verify')
  .description("check a plugin's signature against trusted public keys")
  .argument('<plugin-dir>')
  .option('--trusted <dir>', 'directory of trusted .pub keys', join(dataDir(), 'trusted-keys'))
  .option('--json', 'print one JSON object', false)
  .action(async (pluginDir: string, opts: { trusted: string; json: boolean }) =>
    finish(await verifyCommand({ pluginDir, trusted: opts.trusted, json: opts.json, loadManifest: manifestFields })),
  );

program
  .command('inspect')
  .description("show a plugin's manifest, signature, effective capabilities and the sandbox layers it would get")
  .argument('<plugin-dir>')
  .option('--trusted <dir>', 'directory of trusted .pub keys, to check the signature')
  .option('--policy <file>', "the operator's policy file (YAML)")
  .option('--json', 'print one JSON object', false)
  .action(async (pluginDir: string, opts: { trusted?: string; policy?: string; json: boolean }) => {
    try {
      const report = await inspectPlugin({ pluginDir, ...(opts.trusted ? { trusted: opts.trusted } : {}), ...(opts.policy ? { policyFile: opts.policy } : {}) });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspectReport(report)}\n`);
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  });

await program.parseAsync();
