/**
 * The language a plugin is written in, for lists and the TUI. The runtime
 * says most of it; a node plugin is TypeScript when its entry was compiled
 * from a .ts file beside it, and a binary is Go when its ELF file has the
 * sections the Go linker writes.
 */
import { existsSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../security/manifest.js';

export type PluginLanguage = 'typescript' | 'javascript' | 'python' | 'go' | 'native';

/** Section names only the Go toolchain writes. */
const GO_SECTIONS = new Set(['.go.buildinfo', '.note.go.buildid']);
/** Real binaries have a few dozen sections; anything far beyond is not worth reading. */
const MAX_SECTIONS = 4096;
const MAX_SECTION_NAMES_BYTES = 1024 * 1024;

const TYPESCRIPT_SOURCE: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

/**
 * The plugin's language; undefined for a binary not built yet whose
 * directory holds no Go source either: nothing says, and a guess would
 * mislead.
 */
export async function pluginLanguage(manifest: Manifest): Promise<PluginLanguage | undefined> {
  const entry = join(manifest.dir, manifest.command);
  if (manifest.runtime === 'python') return 'python';
  if (manifest.runtime === 'node') {
    const ext = /\.[cm]?js$/.exec(entry)?.[0] ?? '';
    const source = TYPESCRIPT_SOURCE[ext];
    return source && existsSync(entry.slice(0, -ext.length) + source) ? 'typescript' : 'javascript';
  }
  if (!existsSync(entry)) return hasGoSource(manifest.dir) ? 'go' : undefined;
  return (await elfSectionNames(entry).catch(() => [])).some((name) => GO_SECTIONS.has(name)) ? 'go' : 'native';
}

/** A Go module or Go files in the plugin's directory: what `go build` would make its binary from. */
function hasGoSource(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => name === 'go.mod' || name.endsWith('.go'));
  } catch {
    return false;
  }
}

/** The section names of an ELF file; empty for anything else. */
export async function elfSectionNames(path: string): Promise<string[]> {
  const file = await open(path, 'r');
  try {
    const read = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, position);
      if (bytesRead !== length) throw new Error('truncated ELF file');
      return buffer;
    };
    const ident = await read(0, 64).catch(() => undefined);
    if (!ident || ident.readUInt32BE(0) !== 0x7f454c46) return [];
    const wide = ident[4] === 2;
    const little = ident[5] === 1;
    const u16 = (b: Buffer, at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (b: Buffer, at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const addr = (b: Buffer, at: number) => (wide ? Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32(b, at));
    const sectionsAt = addr(ident, wide ? 0x28 : 0x20);
    const entrySize = u16(ident, wide ? 0x3a : 0x2e);
    const count = u16(ident, wide ? 0x3c : 0x30);
    const namesIndex = u16(ident, wide ? 0x3e : 0x32);
    if (sectionsAt === 0 || count === 0 || count > MAX_SECTIONS || namesIndex >= count || entrySize < (wide ? 0x40 : 0x28)) return [];
    const table = await read(sectionsAt, entrySize * count);
    const offsetOf = (i: number) => addr(table, i * entrySize + (wide ? 0x18 : 0x10));
    const sizeOf = (i: number) => addr(table, i * entrySize + (wide ? 0x20 : 0x14));
    const namesSize = sizeOf(namesIndex);
    if (namesSize > MAX_SECTION_NAMES_BYTES) return [];
    const names = await read(offsetOf(namesIndex), namesSize);
    const nameAt = (offset: number) => {
      const end = names.indexOf(0, offset);
      return names.toString('latin1', offset, end < 0 ? names.length : end);
    };
    return Array.from({ length: count }, (_, i) => nameAt(u32(table, i * entrySize))).filter((n) => n !== '');
  } finally {
    await file.close();
  }
}
