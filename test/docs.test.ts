/**
 * The docs say what the code does: the counts of host-service operations
 * and domains in the README and docs/host-services.md come from the catalog,
 * and every operation has its row in the reference table.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allHostServices } from '../src/host-services/catalog.js';
import { repo } from './support/peers.js';

const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

it("the README and docs/host-services.md count the catalog's operations and domains", () => {
  const operations = allHostServices.reduce((n, m) => n + Object.keys(m.definition.methods).length, 0);
  const domains = allHostServices.length;
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  assert.match(readme, new RegExp(`\\b${operations} operations in ${NUMBERS[domains]} domains\\b`), `the README should say ${operations} operations in ${NUMBERS[domains]} domains`);
  const reference = readFileSync(join(repo, 'docs', 'host-services.md'), 'utf8');
  assert.match(reference, new RegExp(`\\b${operations} operations in all\\b`));
  for (const m of allHostServices) {
    for (const method of Object.values(m.definition.methods) as Array<{ name: string }>) {
      assert.match(reference, new RegExp(`^\\| ${m.definition.name} \\| ${method.name}\\b`, 'm'), `docs/host-services.md has no row for ${m.definition.name}/${method.name}`);
    }
  }
});

/** Where each public specifier is built: what an application gets from `import ... from 'hst/host'`. */
const ENTRY_POINTS: Record<string, string> = {
  hst: join(repo, 'dist', 'src', 'index.js'),
  'hst/host': join(repo, 'dist', 'src', 'host', 'index.js'),
  'hst/plugin': join(repo, 'dist', 'src', 'plugin', 'index.js'),
};

it("every name the README and docs/ import from hst is one of the package's exports", async () => {
  const files = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(join(repo, file), 'utf8');
    for (const [, names, specifier] of text.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(hst(?:\/[a-z]+)?)'/gm)) {
      const entry = ENTRY_POINTS[specifier as string];
      assert.ok(entry, `${file}: imports from ${specifier}, which the package does not export`);
      const exported = new Set(Object.keys((await import(entry)) as object));
      for (const raw of (names as string).split(',')) {
        const name = raw.trim().split(/\s+as\s+/)[0]?.trim() ?? '';
        if (name === '' || name.startsWith('type ')) continue;
        assert.ok(exported.has(name), `${file}: ${name} is not exported by ${specifier}`);
        checked++;
      }
    }
    assert.doesNotMatch(text, /^import .* from '(\.\.?\/)+(src\/)?(security|host|manager|rpc|protocol|host-services)\//m, `${file} imports one of hst's internal files`);
  }
  assert.ok(checked >= 10, `only ${checked} imported names found`);
});
