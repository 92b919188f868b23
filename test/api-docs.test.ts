/**
 * The API reference (`npm run docs:api`, TypeDoc over `hst/plugin` and
 * `hst/host`): it builds without a warning (TypeDoc checks every {@link}),
 * and every link in the pages it writes leads to a page and an anchor that
 * exist.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { inTempDir, repo } from './support/peers.js';

function pages(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? pages(path) : path.endsWith('.html') ? [path] : [];
  });
}

/** The ids a page can be linked to by #fragment. */
function anchors(html: string): Set<string> {
  return new Set([...html.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1] as string));
}

it('the API reference builds without a warning and has no broken link', () =>
  inTempDir(async (out) => {
    const typedoc = spawnSync(process.execPath, [join(repo, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: repo, encoding: 'utf8' });
    assert.equal(typedoc.status, 0, typedoc.stdout + typedoc.stderr);
    assert.doesNotMatch(typedoc.stdout + typedoc.stderr, /\[warning\]/);

    const all = pages(out);
    for (const entry of ['modules/hst_plugin.html', 'modules/hst_host.html', 'classes/hst_host.PluginManager.html', 'functions/hst_plugin.serve.html']) {
      assert.ok(all.includes(join(out, entry)), `${entry} is missing from the reference`);
    }
    const ids = new Map<string, Set<string>>();
    const idsOf = (page: string) => ids.get(page) ?? ids.set(page, anchors(readFileSync(page, 'utf8'))).get(page) as Set<string>;
    const broken: string[] = [];
    let checked = 0;
    for (const page of all) {
      for (const [, href] of readFileSync(page, 'utf8').matchAll(/\shref="([^"]+)"/g)) {
        if (/^(?:[a-z]+:|\/\/)/i.test(href as string)) continue;
        const [path = '', fragment] = (href as string).split('#');
        const target = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
        checked++;
        let ok: boolean;
        try {
          ok = statSync(target).isFile() && (!fragment || !target.endsWith('.html') || idsOf(target).has(decodeURIComponent(fragment)));
        } catch {
          ok = false;
        }
        if (!ok) broken.push(`${relative(out, page)} -> ${href}`);
      }
    }
    assert.ok(checked > 1000, `only ${checked} links were checked`);
    assert.deepEqual([...new Set(broken)], []);
  }));
