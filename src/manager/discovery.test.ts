import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverPlugins, type DiscoveredPlugin } from './discovery.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fixtures = join(repo, 'test', 'fixtures', 'manager');
const pluginsDir = join(fixtures, 'plugins');
const extraDir = join(fixtures, 'extra');

function byFile(plugins: DiscoveredPlugin[], fragment: string): DiscoveredPlugin {
  const found = plugins.find((p) => p.file.includes(fragment));
  assert.ok(found, `no plugin at ${fragment}: ${plugins.map((p) => p.file).join(', ')}`);
  return found;
}

describe('plugin discovery', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'hst-discovery-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('finds valid plugins and reports invalid, duplicate and unavailable ones without stopping', async () => {
    const { plugins, warnings } = await discoverPlugins({
      pluginDirs: [pluginsDir, extraDir, join(scratch, 'no-such-dir')],
      signaturePolicy: 'off',
      pythonCommand: join(scratch, 'no-python3'),
    });
    assert.deepEqual(warnings, [`plugin directory ${join(scratch, 'no-such-dir')} does not exist`]);

    const toolbox = byFile(plugins, 'plugins/toolbox/');
    assert.equal(toolbox.status, 'discovered');
    assert.equal(toolbox.name, 'toolbox');
    assert.equal(toolbox.manifest?.commands.length, 6);
    assert.equal(toolbox.language, 'javascript');
    assert.equal(toolbox.signature?.status, 'skipped');
    assert.ok(toolbox.manifestBytes?.toString().startsWith('name: toolbox\n'), 'the bytes that were parsed are kept');

    const broken = byFile(plugins, 'broken');
    assert.equal(broken.status, 'invalid');
    assert.equal(broken.name, 'broken', 'an unreadable manifest is named by its directory');
    assert.equal(broken.problem, `${join(pluginsDir, 'broken', 'plugin.yaml')}:3:10: runtime: "nodejs" is not a runtime; expected one of node, binary, python`);

    const again = byFile(plugins, 'toolbox-again');
    assert.equal(again.status, 'invalid');
    assert.equal(
      again.problem,
      `duplicate plugin name "toolbox": ${join(extraDir, 'toolbox-again', 'plugin.yaml')} is ignored, ${join(pluginsDir, 'toolbox', 'plugin.yaml')} is used`,
    );

    const binary = byFile(plugins, 'missing-binary');
    assert.equal(binary.status, 'unavailable');
    assert.equal(binary.problem, 'bin/missing-binary not found; run npm run build:plugins');

    const python = byFile(plugins, 'pyplugin');
    assert.equal(python.status, 'unavailable');
    assert.equal(python.problem, `${join(scratch, 'no-python3')} not found`);
    assert.equal(python.language, 'python');

    assert.equal(byFile(plugins, 'crashy').status, 'discovered');
  });

  it('names the file relative to the plugin directory as it was given', async () => {
    const cwd = process.cwd();
    process.chdir(fixtures);
    try {
      const { plugins } = await discoverPlugins({ pluginDirs: ['./plugins'], signaturePolicy: 'off' });
      assert.match(byFile(plugins, 'broken').problem ?? '', /^plugins\/broken\/plugin\.yaml:3:10: runtime:/);
      assert.equal(byFile(plugins, 'toolbox').dir, join(pluginsDir, 'toolbox'), 'dir is absolute');
    } finally {
      process.chdir(cwd);
    }
  });

  it('tells a python without the SDK packages from a missing python', async () => {
    const fake = join(scratch, 'python-without-grpc');
    writeFileSync(fake, '#!/bin/sh\necho /usr/bin/python3\necho missing grpc\n');
    chmodSync(fake, 0o755);
    const { plugins } = await discoverPlugins({ pluginDirs: [pluginsDir], signaturePolicy: 'off', pythonCommand: fake });
    const python = byFile(plugins, 'pyplugin');
    assert.equal(python.status, 'unavailable');
    assert.equal(python.problem, `pip install ${join(repo, 'sdk', 'python')} (no module grpc)`);
  });

  it('refuses binaries that are not executable, entries that are not built, and manifests that are symlinks', async () => {
    const dir = join(scratch, 'plugins');
    const manifest = (name: string, runtime: string, command: string) =>
      `name: ${name}\nversion: 1.0.0\nruntime: ${runtime}\ncommand: ${command}\nhandshake: { magic_cookie_key: K, magic_cookie_value: v }\n`;
    mkdirSync(join(dir, 'not-executable'), { recursive: true });
    writeFileSync(join(dir, 'not-executable', 'plugin.yaml'), manifest('not-executable', 'binary', 'tool'));
    writeFileSync(join(dir, 'not-executable', 'tool'), '#!/bin/sh\n');
    mkdirSync(join(dir, 'unbuilt'));
    writeFileSync(join(dir, 'unbuilt', 'plugin.yaml'), manifest('unbuilt', 'node', 'main.js'));
    writeFileSync(join(dir, 'unbuilt', 'main.ts'), '');
    mkdirSync(join(dir, 'linked'));
    symlinkSync(join(pluginsDir, 'toolbox', 'plugin.yaml'), join(dir, 'linked', 'plugin.yaml'));
    writeFileSync(join(dir, 'stray-file'), 'not a plugin directory');

    const { plugins } = await discoverPlugins({ pluginDirs: [dir], signaturePolicy: 'off' });
    assert.deepEqual(
      plugins.map((p) => [p.name, p.status, p.problem]),
      [
        ['linked', 'invalid', `${join(dir, 'linked', 'plugin.yaml')}: plugin.yaml is a symbolic link; it must be a regular file inside the plugin directory`],
        ['not-executable', 'unavailable', 'tool is not executable (chmod +x tool)'],
        ['unbuilt', 'unavailable', `main.js not found; build it: hst build ${join(dir, 'unbuilt')}`],
      ],
    );
    assert.equal(byFile(plugins, 'unbuilt').language, 'typescript');
  });

  it('under signature policy require marks an unsigned plugin invalid, saying why', async () => {
    const keys = join(scratch, 'keys');
    mkdirSync(keys, { recursive: true });
    const { plugins } = await discoverPlugins({ pluginDirs: [pluginsDir], signaturePolicy: 'require', trustedKeysDir: keys });
    const toolbox = byFile(plugins, 'plugins/toolbox/');
    assert.equal(toolbox.status, 'invalid');
    assert.equal(toolbox.signature?.status, 'unsigned');
    assert.equal(toolbox.problem, `plugin "toolbox" (${join(pluginsDir, 'toolbox')}) failed signature verification (unsigned): no plugin.sig in ${join(pluginsDir, 'toolbox')}`);
    assert.equal(byFile(plugins, 'broken').status, 'invalid', 'the manifest is checked before the signature');
  });
});
