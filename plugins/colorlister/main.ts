/**
 * colorlister: looks at workspace paths (listings, trees, file details, a
 * repeating scan) with coloured output, and shows the life of a temp file.
 * Every host call carries the command's cancellation signal and a deadline,
 * so a cancelled run stops its host work and no call waits forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, hostServices, serve, type CallOptions, type CommandContext, type HostServiceClients } from 'hst/plugin';

/** The longest any single host call may take. */
const CALL_DEADLINE_MS = 10_000;

/** Exit code for a command called with bad arguments. */
const USAGE = 2;

/** hst.host.v1.FileType values. */
const FILE = 1;
const DIRECTORY = 2;
const SYMLINK = 3;
const TYPE_NAMES: Record<number, string> = { [FILE]: 'file', [DIRECTORY]: 'dir', [SYMLINK]: 'symlink', 4: 'other' };

const STYLES = {
  dir: '1;34',
  symlink: '36',
  executable: '32',
  other: '33',
  dim: '2',
  bold: '1',
  ok: '32',
} as const;
type Style = keyof typeof STYLES;

/** ANSI colour only when the person's terminal shows it. */
function painter(color: boolean): (style: Style | undefined, text: string) => string {
  return (style, text) => (color && style ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text);
}

function styleOf(info: { type: number; mode: number }): Style | undefined {
  if (info.type === DIRECTORY) return 'dir';
  if (info.type === SYMLINK) return 'symlink';
  if (info.type !== FILE) return 'other';
  return info.mode & 0o111 ? 'executable' : undefined;
}

function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function whole(args: CommandContext['args'], name: string, fallback: number): number {
  const value = args[name];
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value)) throw new CommandError(`${name} must be a whole number, not ${JSON.stringify(value)}`, USAGE);
  return Number(value);
}

/** Every host call is cancelled with the command and bounded by the deadline. */
function callOptions(ctx: CommandContext): CallOptions {
  return { signal: ctx.signal, deadline: CALL_DEADLINE_MS };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Totals {
  files: number;
  directories: number;
  bytes: number;
  /** Bytes per file extension, the largest first, at most five. */
  largestExtensions: { extension: string; bytes: number }[];
}

async function totals(host: HostServiceClients, path: string, ctx: CommandContext): Promise<Totals> {
  let files = 0;
  let directories = 0;
  let bytes = 0;
  const byExtension = new Map<string, number>();
  for await (const { entry } of host.filesystem.walk({ path }, callOptions(ctx))) {
    if (!entry) continue;
    if (entry.type === DIRECTORY) directories++;
    if (entry.type !== FILE) continue;
    files++;
    bytes += entry.size;
    const dot = entry.name.lastIndexOf('.');
    const extension = dot > 0 ? entry.name.slice(dot) : '(none)';
    byExtension.set(extension, (byExtension.get(extension) ?? 0) + entry.size);
  }
  const largestExtensions = [...byExtension]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([extension, size]) => ({ extension, bytes: size }));
  return { files, directories, bytes, largestExtensions };
}

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  commands: {
    list: async (ctx) => {
      const path = ctx.args.path ?? '.';
      const paint = painter(ctx.color);
      const host = await hostServices();
      const { entries } = await host.filesystem.readDir({ path }, callOptions(ctx));
      // Directories first, as people scan a listing for where to go next; otherwise the host's name order (the sort is stable).
      const sorted = [...entries].sort((a, b) => Number(b.type === DIRECTORY) - Number(a.type === DIRECTORY));
      for (const e of sorted) {
        const mode = (e.mode & 0o777).toString(8).padStart(3, '0');
        const suffix = e.type === DIRECTORY ? '/' : '';
        ctx.output(`${paint('dim', mode)} ${humanSize(e.size).padStart(10)}  ${paint(styleOf(e), e.name + suffix)}\n`);
      }
      return { path, entries: sorted.map((e) => ({ name: e.name, type: TYPE_NAMES[e.type] ?? 'unknown', size: e.size, mode: e.mode })) };
    },

    tree: async (ctx) => {
      const path = ctx.args.path ?? '.';
      const maxDepth = whole(ctx.args, 'depth', 0);
      const paint = painter(ctx.color);
      const host = await hostServices();
      const counts = { files: 0, directories: 0, symlinks: 0, others: 0, bytes: 0 };
      ctx.output(`${paint('bold', path)}\n`);
      for await (const { entry, depth } of host.filesystem.walk({ path, maxDepth }, callOptions(ctx))) {
        if (!entry) continue;
        if (entry.type === FILE) (counts.files++, (counts.bytes += entry.size));
        else if (entry.type === DIRECTORY) counts.directories++;
        else if (entry.type === SYMLINK) counts.symlinks++;
        else counts.others++;
        const suffix = entry.type === DIRECTORY ? '/' : '';
        ctx.output(`${'  '.repeat(depth)}${paint(styleOf(entry), entry.name + suffix)}\n`);
      }
      ctx.output(`${paint('dim', `${plural(counts.directories, 'directory', 'directories')}, ${plural(counts.files, 'file', 'files')}, ${humanSize(counts.bytes)}`)}\n`);
      return { path, ...counts };
    },

    stats: async (ctx) => {
      const path = ctx.args.path;
      if (!path) throw new CommandError('the argument path is required', USAGE);
      const paint = painter(ctx.color);
      const host = await hostServices();
      const options = callOptions(ctx);
      const { info: own } = await host.filesystem.lstat({ path }, options);
      if (!own) throw new CommandError(`the host described nothing for ${path}`);
      const symlink = own.type === SYMLINK;
      const target = symlink ? (await host.filesystem.readlink({ path }, options)).target : undefined;
      // The link's target, or the file itself.
      const { info } = symlink ? await host.filesystem.stat({ path }, options) : { info: own };
      if (!info) throw new CommandError(`the host described nothing for ${path}`);
      const usage = await host.filesystem.diskUsage({ path, subtree: info.type === DIRECTORY }, options);
      const result = {
        path,
        type: TYPE_NAMES[info.type] ?? 'unknown',
        size: info.size,
        mode: (info.mode & 0o7777).toString(8).padStart(4, '0'),
        modified: new Date(info.mtimeMs).toISOString(),
        symlink,
        ...(target !== undefined ? { target } : {}),
        disk: { total: usage.totalBytes, free: usage.freeBytes, available: usage.availableBytes },
        ...(info.type === DIRECTORY ? { subtree: { bytes: usage.subtreeBytes, files: usage.subtreeFiles } } : {}),
      };
      const row = (label: string, value: string) => ctx.output(`${paint('bold', label.padEnd(10))} ${value}\n`);
      row('path', paint(styleOf(own), path) + (target !== undefined ? ` -> ${target}` : ''));
      row('type', result.type);
      row('size', humanSize(result.size));
      row('mode', result.mode);
      row('modified', result.modified);
      if (result.subtree) row('contents', `${plural(result.subtree.files, 'file', 'files')}, ${humanSize(result.subtree.bytes)}`);
      row('disk', `${humanSize(usage.availableBytes)} available of ${humanSize(usage.totalBytes)}`);
      return result;
    },

    tempdemo: async (ctx) => {
      const paint = painter(ctx.color);
      const host = await hostServices();
      const options = callOptions(ctx);
      const steps: { step: string; detail: string }[] = [];
      const done = (step: string, detail: string) => {
        steps.push({ step, detail });
        ctx.output(`${paint('ok', 'ok')} ${step.padEnd(10)} ${detail}\n`);
      };

      const { path: file } = await host.temp.createTempFile({ prefix: 'colorlister-', suffix: '.txt' }, options);
      done('create', file);
      const text = `written by colorlister at ${new Date().toISOString()}\n`;
      const { bytesWritten } = await host.filesystem.writeFile({ path: file, data: encoder.encode(text) }, options);
      done('write', `${bytesWritten} bytes`);
      const { data } = await host.filesystem.readFile({ path: file }, options);
      if (decoder.decode(data) !== text) throw new CommandError(`${file} read back differently from what was written`);
      done('read', 'the same bytes came back');
      const { entries } = await host.temp.listTemp({}, options);
      done('list', entries.map((e) => e.path).join(', '));
      const { removed } = await host.temp.removeTemp({ path: file }, options);
      done('remove', `${removed} removed`);

      // Leave a few things behind for CleanupTemp to take away at once.
      const { path: dir } = await host.temp.createTempDir({ prefix: 'colorlister-' }, options);
      await host.filesystem.writeFile({ path: `${dir}/inside.txt`, data: encoder.encode(text) }, options);
      await host.temp.createTempFile({ prefix: 'colorlister-' }, options);
      const { removed: cleaned } = await host.temp.cleanupTemp({}, options);
      done('cleanup', `${cleaned} removed`);
      const { entries: left } = await host.temp.listTemp({}, options);
      done('list', left.length === 0 ? 'the temp directory is empty' : left.map((e) => e.path).join(', '));
      return { steps, removed, cleaned, left: left.length };
    },

    scan: async (ctx) => {
      const path = ctx.args.path ?? '.';
      const interval = whole(ctx.args, 'interval', 1_000);
      const rounds = whole(ctx.args, 'rounds', 0);
      const paint = painter(ctx.color);
      const host = await hostServices();
      let round = 0;
      let last: Totals | undefined;
      while (rounds === 0 || round < rounds) {
        if (round > 0) await sleep(interval, undefined, { signal: ctx.signal });
        ctx.signal.throwIfAborted();
        last = await totals(host, path, ctx);
        round++;
        ctx.progress(`round ${round}: ${plural(last.files, 'file', 'files')} in ${plural(last.directories, 'directory', 'directories')}, ${humanSize(last.bytes)}`);
      }
      for (const { extension, bytes } of last?.largestExtensions ?? []) ctx.output(`${paint('bold', extension.padEnd(10))} ${humanSize(bytes)}\n`);
      return { path, rounds: round, ...last };
    },
  },
});
