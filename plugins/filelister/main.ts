/**
 * filelister: lists workspace directories, saves listings, and shows the
 * start or the whole of a file. Every file access goes through host services,
 * so the host decides from plugin.yaml what this plugin may read and write.
 */
import { posix } from 'node:path';
import { CommandError, hostServices, serve, type CommandContext } from 'hst/plugin';

/** hst.host.v1.FileType values, by number. */
const TYPE_NAMES: Record<number, string> = { 1: 'file', 2: 'dir', 3: 'symlink', 4: 'other' };

/** Exit code for a command called with bad arguments. */
const USAGE = 2;

interface Entry {
  name: string;
  type: string;
  size: number;
}

function required(args: CommandContext['args'], name: string): string {
  const value = args[name];
  if (!value) throw new CommandError(`the argument ${name} is required`, USAGE);
  return value;
}

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(value)) throw new CommandError(`${name} must be a positive whole number, not ${JSON.stringify(value)}`, USAGE);
  return Number(value);
}

async function listing(path: string): Promise<Entry[]> {
  const host = await hostServices();
  const { entries } = await host.filesystem.readDir({ path });
  return entries.map((e) => ({ name: e.name, type: TYPE_NAMES[e.type] ?? 'unknown', size: e.size }));
}

function format(entries: Entry[]): string {
  return entries.map((e) => `${e.type.padEnd(7)} ${String(e.size).padStart(10)}  ${e.name}${e.type === 'dir' ? '/' : ''}\n`).join('');
}

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  commands: {
    list: async ({ args, output }) => {
      const path = args.path ?? '.';
      const entries = await listing(path);
      output(format(entries));
      return { path, entries };
    },

    save: async ({ args, output }) => {
      const path = args.path ?? '.';
      const out = required(args, 'out');
      const entries = await listing(path);
      const host = await hostServices();
      const parent = posix.dirname(out);
      if (parent !== '.') await host.filesystem.mkdir({ path: parent, recursive: true });
      const data = new TextEncoder().encode(`# ${path}\n${format(entries)}`);
      const { bytesWritten } = await host.filesystem.writeFile({ path: out, data });
      output(`saved the ${entries.length} entries of ${path} to ${out}\n`);
      return { path, out, entries: entries.length, bytes: bytesWritten };
    },

    head: async ({ args, output, signal }) => {
      const path = required(args, 'path');
      const count = positive(args.lines, 'lines', 10);
      const host = await hostServices();
      const { handle } = await host.handles.open({ path, read: true });
      const lines: string[] = [];
      try {
        for await (const { line } of host.handles.readLines({ handle, maxLines: count }, { signal })) {
          lines.push(line);
          output(`${line}\n`);
        }
      } finally {
        // The host would close it when we disconnect, but a long-lived plugin must not pile handles up.
        await host.handles.close({ handle });
      }
      return { path, lines };
    },

    cat: async ({ args, output, signal }) => {
      const path = required(args, 'path');
      const host = await hostServices();
      // Streaming decode: a multi-byte character may be split between chunks.
      const decoder = new TextDecoder();
      let bytes = 0;
      for await (const { data } of host.filesystem.readFileStream({ path }, { signal })) {
        bytes += data.length;
        output(decoder.decode(data, { stream: true }));
      }
      const rest = decoder.decode();
      if (rest) output(rest);
      return { path, bytes };
    },
  },
});
