/** A plugin's commands, run from the host: output, progress, results, failures. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, PluginClient, RpcError, runCommand, type CommandEvent } from '../../src/index.js';
import { MemoryLogger } from '../../src/log.js';
import { nodePlugin } from '../support/peers.js';

async function events(client: PluginClient, command: string, args: Record<string, string> = {}): Promise<CommandEvent[]> {
  const out: CommandEvent[] = [];
  for await (const e of runCommand(await client.connect(), command, args)) out.push(e);
  return out;
}

it('runs commands with arguments, streams output and progress, and ends with the result', async () => {
  const client = new PluginClient({ name: 'commands', handshake: { protocolVersion: 1, magicCookieKey: 'BASIC_PLUGIN', magicCookieValue: 'hello' }, plugins: {}, command: nodePlugin('commands-plugin'), logger: new MemoryLogger(), stdin: 'ignore' });
  try {
    assert.deepEqual(await events(client, 'greet', { name: 'Ada' }), [{ output: 'hello, Ada\n' }, { result: { value: { greeted: 'Ada' }, exitCode: 0 } }]);
    assert.deepEqual(await events(client, 'count', { to: '2' }), [
      { progress: '1/2' },
      { progress: '2/2' },
      { output: 'done\n' },
      { result: { value: { counted: 2 }, exitCode: 0 } },
    ]);
    assert.deepEqual(await events(client, 'fail'), [{ output: 'the disk is full\n' }, { result: { value: { error: 'the disk is full' }, exitCode: 3 } }]);
    assert.equal((await events(client, 'crash')).at(-1)?.['result' as never]?.['exitCode' as never], 1);
    const missing = await events(client, 'nope').catch((e: RpcError) => e);
    assert.ok(missing instanceof RpcError);
    assert.equal(missing.code, Code.NOT_FOUND);
    assert.match(missing.details, /no command "nope"; this plugin has greet, count, fail, crash/);
  } finally {
    await client.kill();
  }
});
