import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifest, type Runtime } from '../security/manifest.js';
import { elfSectionNames, pluginLanguage } from './language.js';
import { goPeers } from '../../test/support/peers.js';


/** A minimal little-endian ELF64 file whose only named sections are `names`. */
function elf(names: string[]): Buffer {
  const strings = Buffer.from(`\0${names.join('\0')}\0.shstrtab\0`, 'latin1');
  const sections = names.length + 2;
  const tableAt = 64 + strings.length + ((8 - (strings.length % 8)) % 8);
  const out = Buffer.alloc(tableAt + sections * 64);
  out.writeUInt32BE(0x7f454c46, 0);
  out[4] = 2; // 64-bit
  out[5] = 1; // little-endian
  out[6] = 1;
  out.writeBigUInt64LE(BigInt(tableAt), 0x28);
  out.writeUInt16LE(64, 0x34);
  out.writeUInt16LE(64, 0x3a);
  out.writeUInt16LE(sections, 0x3c);
  out.writeUInt16LE(sections - 1, 0x3e);
  strings.copy(out, 64);
  let nameOffset = 1;
  for (let i = 1; i < sections; i++) {
    const header = tableAt + i * 64;
    out.writeUInt32LE(nameOffset, header);
    nameOffset += (i <= names.length ? (names[i - 1] as string).length : '.shstrtab'.length) + 1;
    if (i === sections - 1) {
      out.writeBigUInt64LE(64n, header + 0x18);
      out.writeBigUInt64LE(BigInt(strings.length), header + 0x20);
    }
  }
  return out;
}

function manifestIn(dir: string, runtime: Runtime, command: string) {
  return parseManifest(`name: x\nversion: 1.0.0\nruntime: ${runtime}\ncommand: ${command}\nhandshake: { magic_cookie_key: K, magic_cookie_value: v }\n`, join(dir, 'plugin.yaml'));
}

describe('plugin language', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hst-language-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads ELF section names and tells Go binaries from others', async () => {
    writeFileSync(join(dir, 'go-bin'), elf(['.text', '.go.buildinfo']));
    writeFileSync(join(dir, 'c-bin'), elf(['.text', '.data']));
    writeFileSync(join(dir, 'script'), '#!/bin/sh\necho hi\n');
    writeFileSync(join(dir, 'truncated'), elf(['.text']).subarray(0, 80));
    chmodSync(join(dir, 'go-bin'), 0o755);
    assert.deepEqual(await elfSectionNames(join(dir, 'go-bin')), ['.text', '.go.buildinfo', '.shstrtab']);
    assert.equal(await pluginLanguage(manifestIn(dir, 'binary', 'go-bin')), 'go');
    assert.equal(await pluginLanguage(manifestIn(dir, 'binary', 'c-bin')), 'native');
    assert.equal(await pluginLanguage(manifestIn(dir, 'binary', 'script')), 'native');
    assert.equal(await pluginLanguage(manifestIn(dir, 'binary', 'truncated')), 'native');
    assert.equal(await pluginLanguage(manifestIn(dir, 'binary', 'missing')), undefined, 'not built, and nothing says what it will be');
    const goSource = mkdtempSync(join(dir, 'go-src-'));
    writeFileSync(join(goSource, 'main.go'), 'package main\n');
    assert.equal(await pluginLanguage(manifestIn(goSource, 'binary', 'bin/missing')), 'go', 'not built, but its Go source is there');
    assert.ok((await elfSectionNames(process.execPath)).includes('.text'), 'node itself is an ELF file with a .text section');
  });

  // goPeers() builds interop/go, and fails in CI when Go is missing.
  const go = goPeers();
  it('recognises a real Go plugin binary', { skip: 'skip' in go ? go.skip : false }, async () => {
    const goDir = 'bin' in go ? go.bin : '';
    assert.equal(await pluginLanguage(manifestIn(goDir, 'binary', 'kv-plugin')), 'go');
  });

  it('calls a node plugin TypeScript when its entry has a .ts source beside it', async () => {
    writeFileSync(join(dir, 'main.js'), '');
    writeFileSync(join(dir, 'other.mjs'), '');
    assert.equal(await pluginLanguage(manifestIn(dir, 'node', 'other.mjs')), 'javascript');
    assert.equal(await pluginLanguage(manifestIn(dir, 'node', 'main.js')), 'javascript');
    writeFileSync(join(dir, 'main.ts'), '');
    assert.equal(await pluginLanguage(manifestIn(dir, 'node', 'main.js')), 'typescript');
    assert.equal(await pluginLanguage(manifestIn(dir, 'python', 'main.py')), 'python');
  });
});
