/**
 * Files the benchmark makes and removes again: the host-services workspace
 * with the files plugins read, and fresh copies of a plugin for cold starts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { sizeName } from './settings.js';
import { pluginCommand, type Layout, type PluginLanguage } from './sides.js';
import type { Toolchains } from './toolchains.js';

/** The file Stat and ReadFile are timed on. */
export const SMALL_FILE = 'read-4KiB.bin';
const SMALL_FILE_BYTES = 4096;
const WRITE_CHUNK = 1024 * 1024;

export class Fixtures {
  private readonly root = mkdtempSync(join(tmpdir(), 'hst-bench-'));
  private copies = 0;

  constructor(
    private readonly layout: Layout,
    private readonly toolchains: Toolchains,
  ) {}

  /** The host-services workspace, with the 4 KiB file and a stream file of `streamBytes`. */
  workspace(streamBytes: number): string {
    const dir = join(this.root, 'workspace');
    mkdirSync(dir, { recursive: true });
    const small = join(dir, SMALL_FILE);
    if (!existsSync(small)) writeFileSync(small, randomBytes(SMALL_FILE_BYTES));
    const stream = join(dir, streamFile(streamBytes));
    if (!existsSync(stream)) {
      const chunk = randomBytes(WRITE_CHUNK);
      const fd = openSync(stream, 'w');
      try {
        for (let left = streamBytes; left > 0; left -= WRITE_CHUNK) writeSync(fd, chunk, 0, Math.min(left, WRITE_CHUNK));
      } finally {
        closeSync(fd);
      }
    }
    return dir;
  }

  /**
   * A command that runs a fresh copy of the plugin, never started before:
   * the bundled JavaScript (it needs nothing beside it), the Go binary,
   * or the Python plugin with the SDK and no __pycache__.
   */
  freshPlugin(language: PluginLanguage): string[] {
    const dir = join(this.root, 'copies', String(++this.copies));
    mkdirSync(dir, { recursive: true });
    const [first, ...rest] = pluginCommand(language, this.layout, this.toolchains);
    switch (language) {
      case 'ts': {
        const bundle = rest[0] as string;
        cpSync(dirname(bundle), dir, { recursive: true });
        writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
        return [first as string, join(dir, basename(bundle))];
      }
      case 'go': {
        const binary = join(dir, basename(first as string));
        copyFileSync(first as string, binary);
        chmodSync(binary, 0o755);
        return [binary];
      }
      case 'python': {
        const noCache = (src: string) => basename(src) !== '__pycache__';
        cpSync(join(this.layout.repo, 'sdk', 'python', 'hst_plugin'), join(dir, 'sdk', 'python', 'hst_plugin'), { recursive: true, filter: noCache });
        cpSync(join(this.layout.repo, 'bench', 'python'), join(dir, 'bench', 'python'), { recursive: true, filter: noCache });
        return [first as string, join(dir, 'bench', 'python', basename(rest[0] as string))];
      }
    }
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function streamFile(bytes: number): string {
  return `stream-${sizeName(bytes)}.bin`;
}
