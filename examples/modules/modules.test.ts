/**
 * Plugins as JavaScript modules, end to end: the greeter in TypeScript, Go
 * and Python, imported with `import` and loaded with manager.module(); its
 * function and its object's methods called with JSON-like values, and a
 * plugin's failure as an exception with its message.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importablePlugins } from '../../src/host/index.js';
import { RpcError } from '../../src/rpc/status.js';
import { managerFactory } from '../../test/support/managers.js';
import { goPeers, pythonPeer, repo } from '../../test/support/peers.js';

const go = goPeers();
const python = pythonPeer();
const skip = 'skip' in go ? go.skip : 'skip' in python ? python.skip : false;
const scratch = mkdtempSync(join(tmpdir(), 'hst-modules-example-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const languages = [
  ['greeter-ts', 'TypeScript'],
  ['greeter-go', 'Go'],
  ['greeter-py', 'Python'],
] as const;

it('the greeter from three languages: imported as modules, and loaded with manager.module()', { skip }, async () => {
  execFileSync(process.execPath, [join(repo, 'scripts', 'build-plugins.mjs'), 'greeter-go'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  const m = managerFactory(join(repo, 'examples', 'modules', 'plugins'), scratch, { ...('python' in python ? { pythonCommand: python.python } : {}) })({
    modules: { allow: ['plugin:greeter-*'] },
  });
  try {
    await importablePlugins(m);
    for (const [name, language] of languages) {
      // The specifier is a variable only because the test loops; an application writes it out.
      const imported = (await import(`plugin:${name}`)) as { default: any; greet: (n: string) => Promise<string>; phrases: any };
      assert.equal(await imported.greet('Ada'), `hello, Ada, from ${language}`);
      assert.equal(imported.default.greet, imported.greet, 'the named export is the default export\'s');
      assert.deepEqual(await imported.phrases.hello('Ada'), { text: 'hello, Ada', language });
      assert.deepEqual(await imported.phrases.languages(), [language]);
      const err = await imported.phrases.goodbye('').then(() => assert.fail('resolved'), (e: unknown) => e as RpcError);
      assert.ok(err instanceof RpcError, String(err));
      assert.match(err.details, new RegExp(`^plugin:${name} phrases\\.goodbye: goodbye to whom\\? give a name$`));

      const loaded = (await m.module(`plugin:${name}`)) as any;
      assert.deepEqual(await loaded.phrases.goodbye('Ada'), { text: 'goodbye, Ada', language });
    }
    const missing = 'plugin:no-such-plugin';
    await assert.rejects(import(missing), /cannot import plugin:no-such-plugin: no plugin of that name exports anything \(plugins with exports: greeter-go, greeter-py, greeter-ts\)/);
  } finally {
    await m.shutdown();
  }
});

it("hst types declares every plugin module, so that importing one type-checks and a misspelt export does not", async () => {
  const ts = (await import('typescript')).default;
  const dir = mkdtempSync(join(scratch, 'types-'));
  const dts = join(dir, 'plugin-modules.d.ts');
  execFileSync(process.execPath, [join(repo, 'dist', 'src', 'cli', 'main.js'), '--plugin-dir', join(repo, 'examples', 'modules', 'plugins'), '--data-dir', join(dir, 'data'), 'types', '--out', dts], { cwd: dir, stdio: 'ignore' });
  const check = (source: string) => {
    const main = join(dir, `main-${Math.random().toString(36).slice(2)}.mts`);
    writeFileSync(main, source);
    const program = ts.createProgram([dts, main], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [] });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  };
  assert.deepEqual(check("import greeter, { greet } from 'plugin:greeter-go';\nexport const a = [await greet('Ada'), await greeter.phrases.hello('Ada')];\n"), []);
  const wrong = check("import greeter from 'plugin:greeter-py';\nexport const b = await greeter.phrases.helo('Ada');\n");
  assert.equal(wrong.length, 1, wrong.join('; '));
  assert.match(wrong[0] as string, /Property 'helo' does not exist/);
});
