/**
 * A plugin's commands, served through hst.plugin.v1.Commands: each is a
 * function that gets its arguments and a way to write output and progress,
 * and returns a result (sent as JSON for `--json`). Throwing ends the run
 * with exit code 1 and the error's message as output; `CommandError` sets
 * another exit code.
 */
import { CommandsDefinition, type RunCommandResponse } from '../gen/hst/plugin/v1/commands.js';
import type { DeepPartial, ServiceRegistrar } from '../rpc/definition.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import { Code, RpcError } from '../rpc/status.js';

export interface CommandContext {
  /** The arguments as given, as text. */
  args: Readonly<Record<string, string>>;
  /**
   * The same arguments as values of the types the manifest declares
   * (`type: int` arrives as a number, `bool` as a boolean, `json` parsed);
   * from a host without typed arguments, the text.
   */
  values: Readonly<Record<string, unknown>>;
  /** The person's terminal shows colours. */
  color: boolean;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  output(text: string): void;
  progress(text: string): void;
}

export type CommandHandler = (ctx: CommandContext) => unknown;

export type CommandSet = Record<string, CommandHandler>;

/** Ends a command with a chosen exit code and message. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function registerCommands(registrar: ServiceRegistrar, commands: CommandSet): void {
  registrar.addService(CommandsDefinition, {
    run: ({ command, args, color, valuesJson }, ctx) => {
      const handler = Object.hasOwn(commands, command) ? commands[command] : undefined;
      if (!handler) throw new RpcError(Code.NOT_FOUND, `no command ${JSON.stringify(command)}; this plugin has ${Object.keys(commands).join(', ') || 'none'}`);
      const events = new AsyncQueue<DeepPartial<RunCommandResponse>>();
      const context: CommandContext = {
        args,
        values: valuesJson ? (JSON.parse(valuesJson) as Record<string, unknown>) : args,
        color,
        signal: ctx.signal,
        output: (text) => events.push({ output: text }),
        progress: (text) => events.push({ progress: text }),
      };
      void Promise.resolve()
        .then(() => handler(context))
        .then(
          (result) => events.push({ result: { json: JSON.stringify(result ?? null), exitCode: 0 } }),
          (err: unknown) => {
            const message = err instanceof Error ? err.message : String(err);
            events.push({ output: `${message}\n` });
            events.push({ result: { json: JSON.stringify({ error: message }), exitCode: err instanceof CommandError ? err.exitCode : 1 } });
          },
        )
        .finally(() => events.end());
      return events;
    },
  });
}
