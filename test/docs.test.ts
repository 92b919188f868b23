/**
 * The docs say what the code does: the counts of host-service operations
 * and domains in the README and docs/host-services.md come from the catalog,
 * and every operation has its row in the reference table.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
