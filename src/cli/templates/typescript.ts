/**
 * The TypeScript skeleton of `hst new`: a project of its own. main.ts is on
 * the SDK (`import ... from 'hst/plugin'`) and `hst build` bundles it into
 * main.js, which carries what it uses of hst and needs no node_modules at run
 * time. main.test.ts, compiled by tsc into build/, runs the plugin through
 * PluginManager as `hst run` does. hst is a dependency by path: the package
 * that made the plugin, so SDK and host are one version.
 */
import { join } from 'node:path';
import { HANDSHAKE, hstRun, manifest, pathFrom, readme, type Skeleton, type TemplateContext } from './common.js';

/** The compiler and Node's types: the versions hst itself is built with. */
const DEV_DEPENDENCIES = { typescript: '^5.9.3', '@types/node': '^20.19.43' };

function mainFile(ctx: TemplateContext): string {
  return `/**
 * ${ctx.name}: an hst plugin in TypeScript.
 *
 *   hello [name]   greets name (default "world"); result { greeting }
 *   files          lists the workspace root through the host; result { files }
 *
 * Every file it sees comes through the host's Filesystem service, which checks
 * each call against plugin.yaml. main.test.ts runs both commands.
 */
import { hostServices, serve } from 'hst/plugin';

/** hst.host.v1.FileType.FILE_TYPE_DIRECTORY */
const DIRECTORY = 2;

await serve({
  handshake: { protocolVersion: ${HANDSHAKE.protocolVersion}, magicCookieKey: '${HANDSHAKE.key}', magicCookieValue: '${HANDSHAKE.value}' },
  commands: {
    hello: ({ args, output }) => {
      const greeting = \`hello, \${args.name ?? 'world'}\`;
      output(\`\${greeting}\\n\`);
      return { greeting };
    },

    // A host call that is refused or fails throws: the run ends with exit code 1 and the host's message.
    files: async ({ output }) => {
      const host = await hostServices();
      const { entries } = await host.filesystem.readDir({ path: '.' });
      const files = entries.map((entry) => (entry.type === DIRECTORY ? \`\${entry.name}/\` : entry.name));
      for (const file of files) output(\`\${file}\\n\`);
      return { files };
    },
  },
});
`;
}

function testFile(ctx: TemplateContext): string {
  return `/**
 * Runs ${ctx.name} as \`hst run\` does: found by PluginManager, started from
 * plugin.yaml, its host calls decided by the manifest's capabilities.
 * npm test builds the plugin, compiles this file into build/ and runs it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginManager, silentLogger } from 'hst/host';

/** The directory holding this plugin's directory (this file runs from build/), where the manager looks for plugins. */
const pluginsDir = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

interface Run {
  output: string;
  value: unknown;
  exitCode: number;
}

describe(${JSON.stringify(ctx.name)}, () => {
  const scratch = mkdtempSync(join(tmpdir(), ${JSON.stringify(`${ctx.name}-test-`)}));
  const workspace = join(scratch, 'workspace');
  let manager: PluginManager;

  before(() => {
    mkdirSync(join(workspace, 'docs'), { recursive: true });
    writeFileSync(join(workspace, 'notes.txt'), 'remember\\n');
    manager = new PluginManager({
      pluginDirs: [pluginsDir],
      dataDir: join(scratch, 'data'),
      workspace: () => workspace,
      logger: silentLogger,
      health: { intervalMs: 0 },
    });
  });

  after(async () => {
    await manager?.shutdown();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function run(command: string, args: Record<string, string> = {}): Promise<Run> {
    const run: Run = { output: '', value: undefined, exitCode: -1 };
    for await (const event of manager.runCommand(${JSON.stringify(ctx.name)}, command, args)) {
      if ('output' in event) run.output += event.output;
      else if ('result' in event) ({ value: run.value, exitCode: run.exitCode } = event.result);
    }
    return run;
  }

  it('hello greets the world by default', async () => {
    assert.deepEqual(await run('hello'), { output: 'hello, world\\n', value: { greeting: 'hello, world' }, exitCode: 0 });
  });

  it('hello greets by name', async () => {
    assert.deepEqual(await run('hello', { name: 'Ada' }), { output: 'hello, Ada\\n', value: { greeting: 'hello, Ada' }, exitCode: 0 });
  });

  it('files lists the workspace root through the host', async () => {
    assert.deepEqual(await run('files'), { output: 'docs/\\nnotes.txt\\n', value: { files: ['docs/', 'notes.txt'] }, exitCode: 0 });
  });
});
`;
}

/** Compiles both files into build/ (the test runs from there; the plugin runs from hst build's bundle). */
function tsconfig(): string {
  const config = {
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      skipLibCheck: true,
      types: ['node'],
      rootDir: '.',
      outDir: 'build',
      sourceMap: true,
    },
    include: ['*.ts'],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** ESM, the scripts the README names, and hst by path: the package that made the plugin. */
function packageJson(ctx: TemplateContext): string {
  const pkg = {
    name: ctx.name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: { build: 'hst build .', typecheck: 'tsc --noEmit', test: 'hst build . && tsc && node --test build/main.test.js' },
    devDependencies: { hst: `file:${pathFrom(ctx.pluginDir, ctx.packageRoot)}`, ...DEV_DEPENDENCIES },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

export function typescriptSkeleton(ctx: TemplateContext): Skeleton {
  const at = (file: string) => join(ctx.pluginDir, file);
  return {
    language: 'TypeScript',
    dirs: [ctx.pluginDir],
    files: [
      { path: at('plugin.yaml'), content: manifest(ctx, { runtime: 'node', command: 'main.js', notes: [`${ctx.name}: an hst plugin in TypeScript. Build: npm install && npm run build`] }) },
      {
        path: at('README.md'),
        content: readme(ctx, {
          language: 'TypeScript',
          about:
            '`main.ts` imports the plugin side of the SDK, `hst/plugin`. `hst build` bundles it into `main.js`, which the manifest starts (`runtime: node`): one file with what it uses of hst, needing no `node_modules` when it runs, so the sandbox gives it nothing but its own directory. hst is a dependency by path, the package that made the plugin, so SDK and host are one version.',
          build: "npm install        # hst (by path), TypeScript and Node's types\nnpm run build      # hst build: main.ts to main.js\nnpm run typecheck  # tsc",
          test: 'npm test           # builds, compiles main.test.ts into build/ and runs it',
          files: [
            ['plugin.yaml', 'the manifest: how to start it, its handshake, capabilities and commands'],
            ['main.ts', 'the plugin; bundled into `main.js`, which the manifest starts'],
            ['main.test.ts', 'the test: starts the plugin through `PluginManager` and runs both commands'],
            ['package.json', "the scripts, and hst, TypeScript and Node's types as dependencies"],
            ['tsconfig.json', 'type-checks both files and compiles them into `build/` for the test'],
          ],
          change: 'Add a handler of the same name to `commands` in `main.ts`: it gets `{ args, output, progress, signal }` and returns the result; throw `CommandError` (from `hst/plugin`) for another exit code. Add a case to `main.test.ts`.',
          ownHst: true,
        }),
      },
      { path: at('main.ts'), content: mainFile(ctx) },
      { path: at('main.test.ts'), content: testFile(ctx) },
      { path: at('package.json'), content: packageJson(ctx) },
      { path: at('tsconfig.json'), content: tsconfig() },
      { path: at('.gitignore'), content: '/node_modules/\n/build/\n/main.js\n/hst-chunks/\n' },
    ],
    needs: [],
    next: ['npm install', 'npm test', hstRun(ctx, 'hello', true)],
  };
}
