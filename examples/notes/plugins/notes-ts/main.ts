/**
 * notes-ts: a TypeScript plugin calling Notes, a host service the
 * application added (../../notes-service.ts), exactly as it calls hst's own.
 *
 *   put <name> <text>   writes a note; result {revision}
 *   get <name>          reads it back; result {text, revision, writtenBy}
 */
import { CommandError, hostServiceClient, RpcError, serve, type CommandContext } from 'hst/plugin';
import { NotesDefinition } from '../../gen/acme/notes/v1/notes.js';

/** A refused or failed host call is a failed run with the host's own message, not a crash. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new CommandError(err instanceof RpcError ? err.details : String(err));
  }
}

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  commands: {
    put: async (ctx: CommandContext) => {
      const notes = await hostServiceClient(NotesDefinition);
      const { revision } = await call(() => notes.put({ name: ctx.args.name ?? '', text: ctx.args.text ?? '' }));
      ctx.output(`${ctx.args.name}: revision ${revision}\n`);
      return { revision };
    },
    get: async (ctx: CommandContext) => {
      const notes = await hostServiceClient(NotesDefinition);
      const note = await call(() => notes.get({ name: ctx.args.name ?? '' }));
      ctx.output(`${note.text}\n`);
      return { text: note.text, revision: note.revision, writtenBy: note.writtenBy };
    },
  },
});
