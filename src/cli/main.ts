#!/usr/bin/env node
/** The `hst` command line. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatProbeReport, probe } from './probe.js';
import { demoCommand } from './demo.js';
import { auditCommand } from './audit.js';
import { auditLogPath } from '../security/audit.js';
import { formatInspectReport, inspectPlugin } from './inspect.js';
import { newPlugin, templateList } from './new.js';
import { keygenCommand, signCommand, verifyCommand } from './keys.js';
import { listCommand } from './list.js';
import { Cli, errorMessage, exitCodeOf, type GlobalOptions } from './output.js';
import { terminalSafe } from '../util/terminal-text.js';
import { commandHelp, runCommand } from './run.js';
import { parseManifest } from '../security/manifest.js';
import { MANIFEST_FILE, readManifestBytes } from '../security/signature.js';
import { existsSync } from 'node:fs';
import { typesCommand } from './types.js';
import { DEFAULT_DASHBOARD_PORT } from '../dashboard/auth.js';
import { join } from 'node:path';

function parseCookie(value: string): { key: string; value: string } {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('expected KEY=VALUE, e.g. BASIC_PLUGIN=hello');
  return { key: value.slice(0, i), value: value.slice(i + 1) };
}

function parsePort(value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return port;
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

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const program = new Command()
  .name('hst')
  .description('A capability-secured plugin host that speaks HashiCorp go-plugin')
  .option('--plugin-dir <dir>', 'where plugins are found, as <dir>/<name>/plugin.yaml; repeatable (default: ./plugins)', collect)
  .option('--data-dir <dir>', 'host state: KV store, audit log, workspaces, logs (default: $HST_DATA_DIR or ./.hst)')
  .option('--json', 'print JSON instead of text')
  .option('--no-color', 'no colours, even on a terminal')
  .option('--log-stderr', 'log to stderr instead of <data-dir>/logs/hst.log (not with the TUI)')
  .option('--no-tui', 'run the scripted demo instead of the interactive TUI (what hst does when stdin or stdout is not a terminal)')
  .addOption(
    new Option('--sandbox <mode>', 'auto: refuse plugins this machine cannot isolate; require: also insist on seccomp; off: no OS sandbox (shown everywhere)')
      .choices(['auto', 'require', 'off'])
      .default('auto'),
  )
  .option('--host-services <module>', "a JavaScript module of host services the application adds (its default export: hostService({...}) or a list); repeatable", collect)
  .addOption(new Option('--signatures <policy>', 'off: not checked; warn: run unsigned or tampered plugins, flagged; require: refuse them').choices(['off', 'warn', 'require']).default('warn'))
  .configureHelp({ showGlobalOptions: true })
  .hook('preAction', async () => {
    const files = globalOptions().hostServices ?? [];
    if (files.length > 0) await (await import('./host-service-modules.js')).loadHostServiceModules(files);
  })
  .showHelpAfterError()
  // Anything left over is a mistyped command, reported below rather than as "too many arguments".
  .allowExcessArguments()
  .action(async (_options: unknown, command: Command) => {
    if (command.args.length > 0) command.error(`error: unknown command '${command.args[0]}'`);
    const globals = globalOptions();
    if (globals.tui && process.stdout.isTTY && process.stdin.isTTY) {
      // Loaded only here: the other commands need neither ink nor React.
      const { tuiCommand } = await import('./tui/launch.js');
      process.exitCode = await tuiCommand(globals);
      return;
    }
    if (globals.tui) process.stderr.write(`${process.stdout.isTTY ? 'stdin' : 'stdout'} is not a terminal: running the scripted demo\n`);
    process.exitCode = await demoCommand(globals);
  });

function globalOptions(): GlobalOptions & { tui: boolean } {
  return program.opts<GlobalOptions & { tui: boolean }>();
}

/** The shared options, colour and log, for the commands below. */
function cli(): Cli {
  return new Cli(globalOptions());
}

program
  .command('demo')
  .description('the scripted demo: every example plugin, concurrent host calls, a refused call, a crash and restart (hst --no-tui)')
  .action(async () => {
    process.exitCode = await demoCommand(globalOptions());
  });

program
  .command('list')
  .description('every plugin found: state, runtime, language, version, capabilities, and why one will not run')
  .option('--start', 'start them too, to show their pids (they are stopped again afterwards)', false)
  .action(async (opts: { start: boolean }) => {
    process.exitCode = await listCommand(cli(), opts);
  });

program
  .command('types')
  .description("TypeScript declarations for the plugins' exports, so that import greeter from 'plugin:greeter' type-checks")
  .option('--out <file>', 'write them to this file (e.g. plugin-modules.d.ts) instead of stdout')
  .action(async (opts: { out?: string }) => {
    process.exitCode = await typesCommand(cli(), opts.out);
  });

program
  .command('serve')
  .description('run the host as a service: every plugin started, hot reload on, and a web dashboard on 127.0.0.1 behind a token')
  .option('--port <port>', `the dashboard's port on 127.0.0.1 (0 picks a free one)`, parsePort, DEFAULT_DASHBOARD_PORT)
  .option('--token <token>', 'the dashboard token (default: HST_DASHBOARD_TOKEN, else a random one, printed at start)')
  .action(async (opts: { port: number; token?: string }) => {
    const { serveCommand } = await import('./serve.js');
    process.exitCode = await serveCommand(cli(), { port: opts.port, ...(opts.token !== undefined ? { token: opts.token } : {}) });
  });

program
  .command('run')
  .description("run a plugin's command; exits with the command's exit code")
  .usage('<plugin> <command> [args...]')
  // `hst run <plugin> <command> --help` is the command's own help, from its manifest: commander must let it through.
  .helpOption(false)
  .allowUnknownOption()
  .argument('[plugin]')
  .argument('[command]')
  .argument('[args...]', "name=value pairs, or plain values in the order of the command's arguments in plugin.yaml")
  .option('--workspace <dir>', "the directory the plugin's paths resolve in (default: its own, <data-dir>/workspaces/<plugin>)")
  .addHelpText(
    'after',
    "\nExamples:\n  hst run --workspace . filelister head README.md lines=5   a file of this directory\n  hst run filelister list --json\n  hst run filelister --help        the plugin's commands\n  hst run filelister head --help   that command's arguments",
  )
  .action(async (plugin: string | undefined, command: string | undefined, args: string[], opts: { workspace?: string }, self: Command) => {
    const words = [plugin, command, ...args].filter((w): w is string => w !== undefined);
    const isHelp = (w: string) => w === '--help' || w === '-h';
    if (words.some(isHelp)) {
      const [p, c] = words.filter((w) => !isHelp(w));
      if (p === undefined) self.help();
      process.exitCode = await commandHelp(cli(), p, c);
      return;
    }
    if (plugin === undefined || command === undefined) self.error(`error: missing required argument '${plugin === undefined ? 'plugin' : 'command'}'`);
    process.exitCode = await runCommand(cli(), plugin, command, args, opts.workspace);
  });

program
  .command('new')
  .description('create a plugin as a project of its own (manifest, source, test, build files, README) on the SDK in this package, which `hst run <name> hello` calls once built')
  .argument('[name]', 'the plugin name: a-z, 0-9 and "-", as plugin.yaml requires')
  .option('--lang <lang>', 'ts, go or python (see --list)')
  .option('--dir <dir>', 'where the plugin directory is made', './plugins')
  .option('--list', 'show the templates and what each needs')
  .action(async (name: string | undefined, opts: { lang?: 'ts' | 'go' | 'python'; dir: string; list?: boolean }, self: Command) => {
    if (opts.list) {
      process.stdout.write(templateList());
      return;
    }
    if (name === undefined) self.error("error: missing required argument 'name'");
    if (opts.lang === undefined) self.error("error: required option '--lang <lang>' not specified (hst new --list shows the templates)");
    const result = await newPlugin({ name, lang: opts.lang, dir: opts.dir });
    (result.exitCode === 0 ? process.stdout : process.stderr).write(result.output);
    process.exitCode = result.exitCode;
  });

program
  .command('build')
  .description('bundle TypeScript plugins into one file each (esbuild), written where plugin.yaml\'s command points')
  .argument('[dirs...]', 'plugin directories; default: every plugin with a TypeScript entry in the plugin directories')
  .option('--quiet', 'print nothing when every plugin builds')
  .action(async (dirs: string[], opts: { quiet?: boolean }) => {
    const { buildCommand } = await import('./build.js');
    finish(await buildCommand(dirs.length > 0 ? dirs : cli().pluginDirs, dirs.length === 0, opts.quiet ?? false));
  });

program
  .command('probe')
  .description('launch a go-plugin plugin, handshake, check health, list services, shut it down')
  .option('--cookie <KEY=VALUE>', 'magic cookie the plugin expects', parseCookie, { key: 'BASIC_PLUGIN', value: 'hello' })
  .option('--versions <list>', 'app protocol versions to offer', parseVersions, [1])
  .option('--auto-mtls', 'use AutoMTLS', false)
  .option('--timeout <seconds>', 'start and call timeout', parseSeconds, 20)
  .argument('<command...>', 'the plugin command and its arguments (after --)')
  .action(async (command: string[], opts: { cookie: { key: string; value: string }; versions: number[]; autoMtls: boolean; timeout: number }) => {
    const report = await probe({
      command: command[0] as string,
      args: command.slice(1),
      cookie: opts.cookie,
      versions: opts.versions,
      autoMTLS: opts.autoMtls,
      timeoutMs: opts.timeout * 1000,
    });
    process.stdout.write(globalOptions().json ? `${JSON.stringify(report, null, 2)}\n` : `${formatProbeReport(report)}\n`);
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('audit')
  .description('show the audit log: every allowed and denied host call')
  .option('--plugin <name>', 'only this plugin')
  .option('--denied', 'only denials', false)
  .option('--follow', 'keep printing new records', false)
  .option('--file <path>', 'the audit log (default: <data-dir>/audit/audit.jsonl)')
  .action(async (opts: { plugin?: string; denied: boolean; follow: boolean; file?: string }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    const { json, color, dataDir } = cli();
    process.exitCode = await auditCommand(
      { path: opts.file ?? auditLogPath(dataDir), json, follow: opts.follow, denied: opts.denied, color, ...(opts.plugin ? { plugin: opts.plugin } : {}) },
      (line) => process.stdout.write(`${line}\n`),
      stop.signal,
      (line) => process.stderr.write(`error: ${terminalSafe(line)}\n`),
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
  .option('--dir <dir>', 'where to write <keyId>.key and <keyId>.pub (default: <data-dir>/keys)')
  .action((opts: { dir?: string }) => finish(keygenCommand({ dir: opts.dir ?? join(cli().dataDir, 'keys') })));

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
  .option('--trusted <dir>', 'directory of trusted .pub keys (default: <data-dir>/trusted-keys)')
  .action(async (pluginDir: string, opts: { trusted?: string }) => {
    const { json, dataDir } = cli();
    finish(await verifyCommand({ pluginDir, trusted: opts.trusted ?? join(dataDir, 'trusted-keys'), json, loadManifest: manifestFields }));
  });

program
  .command('inspect')
  .description("show a plugin's manifest, signature, effective capabilities and the sandbox layers it would get")
  .argument('<plugin-dir>')
  .option('--trusted <dir>', 'directory of trusted .pub keys, to check the signature (default: <data-dir>/trusted-keys, when it exists)')
  .option('--policy <file>', "the operator's policy file (YAML)")
  .action(async (pluginDir: string, opts: { trusted?: string; policy?: string }) => {
    try {
      const defaultTrusted = join(cli().dataDir, 'trusted-keys');
      const trusted = opts.trusted ?? (existsSync(defaultTrusted) ? defaultTrusted : undefined);
      const report = await inspectPlugin({ pluginDir, sandbox: cli().hostPolicy.sandbox, ...(trusted ? { trusted } : {}), ...(opts.policy ? { policyFile: opts.policy } : {}) });
      process.stdout.write(globalOptions().json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInspectReport(report)}\n`);
    } catch (err) {
      process.stderr.write(`error: ${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  });

try {
  await program.parseAsync();
} catch (err) {
  // Expected failures are reported by the commands; this is the rest, still without a stack trace.
  process.stderr.write(`error: ${errorMessage(err)}\n`);
  process.exitCode = exitCodeOf(err);
}
