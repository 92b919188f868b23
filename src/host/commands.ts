/** Running a plugin's commands from the host: output as it comes, then the result. */
import { CommandsDefinition } from '../gen/hst/plugin/v1/commands.js';
import type { ClientConnection } from '../rpc/definition.js';

export type CommandEvent = { output: string } | { progress: string } | { result: { value: unknown; exitCode: number } };

export async function* runCommand(
  connection: ClientConnection,
  command: string,
  args: Record<string, string> = {},
  options: { color?: boolean; signal?: AbortSignal; timeoutMs?: number; values?: Record<string, unknown> } = {},
): AsyncGenerator<CommandEvent> {
  const stream = connection.client(CommandsDefinition).run(
    { command, args, color: options.color ?? false, valuesJson: options.values ? JSON.stringify(options.values) : '' },
    { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs ? { deadline: options.timeoutMs } : {}) },
  );
  for await (const event of stream) {
    if (event.output !== undefined) yield { output: event.output };
    else if (event.progress !== undefined) yield { progress: event.progress };
    else if (event.result) yield { result: { value: JSON.parse(event.result.json || 'null'), exitCode: event.result.exitCode } };
  }
}
