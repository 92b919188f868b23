import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../security/manifest.js';
import { BUNDLE_BANNER, launchPlan } from './runtime.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'hst-runtime-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function readablePaths(name: string, entry: string): Promise<string[]> {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'plugin.yaml'), `name: ${name}\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake: { magic_cookie_key: K, magic_cookie_value: v }\n`);
  writeFileSync(join(dir, 'main.js'), entry);
  const plan = await launchPlan(await loadManifest(join(dir, 'plugin.yaml')), { workDir: join(scratch, 'work'), sandboxRequire: [] });
  return plan.sandbox?.readOnlyPaths ?? [];
}

describe('what a sandboxed Node plugin may read besides its directory', () => {
  it('a bundle from hst build: nothing, as it carries what it uses of hst', async () => {
    assert.deepEqual(await readablePaths('bundled', `${BUNDLE_BANNER}\nconsole.log(1);\n`), []);
  });

  it("a plugin importing hst: hst's files and the packages hst depends on, each by itself, not the node_modules holding them", async () => {
    const paths = await readablePaths('unbundled', "import { serve } from 'hst/plugin';\n");
    for (const path of [join(packageRoot, 'package.json'), join(packageRoot, 'dist'), join(packageRoot, 'node_modules', 'yaml'), join(packageRoot, 'node_modules', '@bufbuild', 'protobuf')]) {
      assert.ok(paths.includes(path), `${path} is not readable: ${paths.join(', ')}`);
    }
    assert.ok(!paths.includes(join(packageRoot, 'node_modules')), 'the whole node_modules is readable');
    // A development dependency of hst is none of a plugin's business.
    assert.ok(!paths.some((p) => p.startsWith(join(packageRoot, 'node_modules', 'typescript'))), 'typescript is readable');
  });
});
