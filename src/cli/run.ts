/**
 * `hst run <plugin> <command> [args...]`: starts that one plugin, runs one of
 * its commands with the arguments checked against its manifest, streams the
 * output as it comes, and exits with the command's exit code.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ManifestCommand, ManifestCommandArg } from '../security/manifest.js';
import { displayLines, terminalSafe } from '../util/terminal-text.js';
import { errorMessage, exitCodeOf, table, UsageError, type Cli } from './output.js';

/** `name=value` names an argument; anything else is a value for the next argument in the manifest's order. */
const NAMED = /^([a-z][a-z0-9-]*)=(.*)$/s;

/** 128 + SIGINT, as shells report a command ended by Ctrl-C. */
const INTERRUPTED_EXIT = 130;

/** The command's arguments by name, positional values given the manifest's names in order. */
export function commandArgs(plugin: string, command: string, spec: ManifestCommand | undefined, values: string[]): Record<string, string> {
  const where = `plugin ${JSON.stringify(plugin)} command ${JSON.stringify(command)}`;
  const named: Record<string, string> = {};
  const positional: string[] = [];
  for (const value of values) {
    const match = NAMED.exec(value);
    if (!match) {
      positional.push(value);
      continue;
    }
    const [, name = '', given = ''] = match;
    if (Object.hasOwn(named, name)) throw new UsageError(`${where}: argument ${JSON.stringify(name)} is given twice`);
    named[name] = given;
  }
  // Without a manifest entry the manager refuses the command itself, naming the ones there are.
  if (!spec || positional.length === 0) return named;
  const open = spec.args.filter((a) => !Object.hasOwn(named, a.name));
  if (positional.length > open.length) {
    const extra = positional.slice(open.length).map((v) => JSON.stringify(v)).join(', ');
    const takes = spec.args.map((a) => a.name).join(', ') || 'no arguments';
    throw new UsageError(`${where}: unexpected value ${extra}; it takes ${takes}`);
  }
  positional.forEach((value, i) => (named[(open[i] as { name: string }).name] = value));
  return named;
}

export async function runCommand(cli: Cli, plugin: string, command: string, values: string[], workspace?: string): Promise<number> {
  if (workspace !== undefined && !statSync(workspace, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--workspace ${workspace} is not a directory`);
  const manager = cli.manager(workspace !== undefined ? { workspace: () => resolve(workspace) } : {});
  const interrupt = new AbortController();
  const onSignal = () => {
    // A second Ctrl-C while the plugin is being taken down means: now.
    if (interrupt.signal.aborted) process.exit(INTERRUPTED_EXIT);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = new ProgressLine(!cli.json && !!process.stderr.isTTY);
  try {
    await manager.discover();
    const spec = manager.info(plugin)?.commands.find((c) => c.name === command);
    const args = commandArgs(plugin, command, spec, values);
    let result: { value: unknown; exitCode: number } | undefined;
    let printed = false;
    for await (const event of manager.runCommand(plugin, command, args, { color: cli.color, signal: interrupt.signal })) {
      if ('result' in event) result = event.result;
      else if (cli.json) continue;
      else if ('output' in event) {
        progress.clear();
        // On a terminal, the plugin's colours stay and any other escape sequence goes; into a pipe or file, its bytes as they are.
        cli.out(process.stdout.isTTY ? displayLines(event.output).join('\n') : event.output);
        printed ||= event.output.length > 0;
      } else progress.show(event.progress);
    }
    progress.clear();
    if (!result) throw new Error(`plugin ${JSON.stringify(plugin)} command ${JSON.stringify(command)} ended without a result`);
    // A command that only returns a value still shows it.
    if (cli.json || (!printed && result.value !== null)) cli.out(`${JSON.stringify(result.value, null, 2)}\n`);
    return result.exitCode;
  } catch (err) {
    progress.clear();
    if (interrupt.signal.aborted) {
      cli.err('interrupted\n');
      return INTERRUPTED_EXIT;
    }
    const message = errorMessage(err);
    cli.err(`error: ${message}\n`);
    const stderr = manager.info(plugin)?.lastStderr ?? [];
    // A failed start's diagnosis already ends with them.
    if (stderr.length > 0 && !message.includes('last stderr lines')) cli.err(`the plugin's last stderr lines:\n${stderr.map((l) => `  ${l}\n`).join('')}`);
    return exitCodeOf(err);
  } finally {
    await manager.shutdown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One status line on stderr, rewritten in place and wiped before output; only on a terminal. */
class ProgressLine {
  private shown = false;

  constructor(private readonly enabled: boolean) {}

  show(text: string): void {
    if (!this.enabled) return;
    const width = (process.stderr.columns || 80) - 1;
    process.stderr.write(`\r\u001b[2K${terminalSafe(text.replace(/\s+/g, ' ')).slice(0, width)}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    process.stderr.write('\r\u001b[2K');
    this.shown = false;
  }
}

/** One argument's line of help: name, type and whether it must be given (or its default), then its help. */
function argumentLine(arg: ManifestCommandArg): [string, string, string] {
  const facts = [arg.type !== 'string' ? arg.type : '', arg.required ? 'required' : arg.default !== undefined ? `default ${JSON.stringify(arg.default)}` : 'optional', arg.pattern ? `matching ${arg.pattern}` : ''];
  return [arg.name, facts.filter(Boolean).join(', '), arg.help ?? ''];
}

/**
 * `hst run <plugin> [command] --help`: a command's help, usage and
 * arguments from the manifest, or the plugin's commands. Everything shown
 * comes from a plugin's manifest, so it is written out terminal-safe.
 */
export async function commandHelp(cli: Cli, plugin: string, command: string | undefined): Promise<number> {
  const manager = cli.manager();
  try {
    await manager.discover();
    const info = manager.info(plugin);
    if (!info) throw new UsageError(`no plugin named ${JSON.stringify(plugin)} in ${cli.pluginDirs.join(', ')}`);
    const safe = (text: string) => terminalSafe(text);
    if (command === undefined) {
      const lines = [`${plugin}${info.description ? `: ${info.description}` : ''}`, '', 'commands:', ...table(info.commands.map((c) => [`  ${c.name}`, c.help])), '', `hst run ${plugin} <command> --help shows a command's arguments`];
      cli.out(`${lines.map(safe).join('\n')}\n`);
      return 0;
    }
    const spec = info.commands.find((c) => c.name === command);
    if (!spec) throw new UsageError(`plugin ${JSON.stringify(plugin)} has no command ${JSON.stringify(command)}; its commands: ${info.commands.map((c) => c.name).join(', ') || 'none'}`);
    const usage = spec.usage ?? `${plugin} ${command}${spec.args.map((a) => (a.required ? ` <${a.name}>` : ` [${a.name}]`)).join('')}`;
    const lines = [`${plugin} ${command}: ${spec.help}`, '', `usage: hst run ${usage}`];
    if (spec.args.length > 0) lines.push('', 'arguments (name=value, or values in this order):', ...table(spec.args.map(argumentLine).map(([n, f, h]) => [`  ${n}`, f, h])));
    cli.out(`${lines.map(safe).join('\n')}\n`);
    return 0;
  } catch (err) {
    cli.err(`error: ${errorMessage(err)}\n`);
    return exitCodeOf(err);
  } finally {
    await manager.shutdown();
  }
}
