/**
 * The TypeScript skeleton of `hst new`: main.ts on the SDK (`import ... from
 * 'hst/plugin'`), compiled in place to main.js, and a node:test file that runs the
 * plugin through PluginManager as `hst run` does. Under the repository's
 * plugins/ `npm run build` type-checks it and bundles it (`hst build`); anywhere else
 * it gets a tsconfig.json of its own, and outside the repository also a
 * package.json (ESM) and a node_modules/hst link, so 'hst' resolves there too.
 */
import { join } from 'node:path';
import { HANDSHAKE, hstRun, manifest, pathFrom, readme, shown, type Skeleton, type TemplateContext } from './common.js';

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
 * After building: node --test ${shown(ctx, join(ctx.pluginDir, 'main.test.js'))}
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PluginManager, silentLogger } from 'hst/host';

/** The directory holding this plugin's directory, where the manager looks for plugins. */
const pluginsDir = dirname(dirname(fileURLToPath(import.meta.url)));

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

/**
 * Compiles the plugin in place where tsconfig.plugins.json does not reach. An
 * explicit exclude: the default one would exclude outDir, which is the sources' directory.
 */
function tsconfig(ctx: TemplateContext): string {
  return `// Compiles ${ctx.name} in place (main.ts to main.js): npx tsc -p ${shown(ctx, ctx.pluginDir)}, from the hst repository.
{
  "extends": ${JSON.stringify(pathFrom(ctx, ctx.pluginDir, join(ctx.repo, 'tsconfig.json')))},
  "compilerOptions": {
    "rootDir": ".",
    "outDir": ".",
    "declaration": false,
    "incremental": false,
    "typeRoots": [${JSON.stringify(pathFrom(ctx, ctx.pluginDir, join(ctx.repo, 'node_modules', '@types')))}]
  },
  "include": ["*.ts"],
  "exclude": ["*.d.ts"]
}
`;
}

/** Outside the repository: ESM for node and tsc, and hst as a dependency (\`npm install\` re-creates the link). */
function packageJson(ctx: TemplateContext): string {
  return `${JSON.stringify({ name: ctx.name, private: true, type: 'module', dependencies: { hst: `file:${ctx.repo}` } }, null, 2)}\n`;
}

export function typescriptSkeleton(ctx: TemplateContext): Skeleton {
  const at = (file: string) => join(ctx.pluginDir, file);
  const shownTest = shown(ctx, at('main.test.js'));
  const build = ctx.inRepoPlugins ? 'npm run build' : `npx tsc -p ${shown(ctx, ctx.pluginDir)}`;
  const files: Array<[string, string]> = [
    ['plugin.yaml', 'the manifest: how to start it, its handshake, capabilities and commands'],
    ['main.ts', 'the plugin; compiled to `main.js`, which the manifest starts (`runtime: node`)'],
    ['main.test.ts', 'the test; compiled to `main.test.js`'],
  ];
  if (!ctx.inRepoPlugins) files.push(['tsconfig.json', "compiles the plugin in place, on the repository's settings"]);
  if (!ctx.insideRepo) {
    files.push(['package.json', 'makes the `.js` files ES modules and names hst as a dependency']);
    files.push(['node_modules/hst', 'a link to the hst package, so `import ... from \'hst\'` resolves (`npm install` makes it again)']);
  }
  const skeleton: Skeleton = {
    language: 'TypeScript',
    dirs: [ctx.pluginDir],
    files: [
      { path: at('plugin.yaml'), content: manifest(ctx, { runtime: 'node', command: 'main.js', notes: [`${ctx.name}: an hst plugin in TypeScript. Build: ${build}`] }) },
      {
        path: at('README.md'),
        content: readme(ctx, {
          language: 'TypeScript',
          about: ctx.inRepoPlugins
            ? '`main.ts` imports the plugin side of the SDK, `hst/plugin`; `npm run build` type-checks it (through `tsconfig.plugins.json`) and bundles it with `hst build` into `main.js`, which the manifest starts.'
            : `\`main.ts\` imports the plugin side of the SDK, \`hst/plugin\`, and its own \`tsconfig.json\` compiles it in place to \`main.js\`, which the manifest starts. To ship it, \`hst build ${shown(ctx, ctx.pluginDir)}\` bundles \`main.ts\` into one \`main.js\` that needs no \`node_modules\` and starts faster.`,
          build,
          test: `node --test ${shownTest}`,
          files,
          change: 'Add a handler of the same name to `commands` in `main.ts`: it gets `{ args, output, progress, signal }` and returns the result; throw `CommandError` (from `hst/plugin`) for another exit code. Add a case to `main.test.ts`.',
        }),
      },
      { path: at('main.ts'), content: mainFile(ctx) },
      { path: at('main.test.ts'), content: testFile(ctx) },
    ],
    links: [],
    needs: [],
    next: [build, hstRun(ctx, 'hello'), `node --test ${shownTest}`],
  };
  if (!ctx.inRepoPlugins) {
    skeleton.files.push({ path: at('tsconfig.json'), content: tsconfig(ctx) });
    skeleton.files.push({ path: at('.gitignore'), content: `*.js\n*.js.map\n${ctx.insideRepo ? '' : '/node_modules/\n'}` });
    skeleton.needs.push({ path: join(ctx.repo, 'tsconfig.json'), what: "the hst repository's tsconfig.json, which the plugin's extends" });
    skeleton.needs.push({ path: join(ctx.repo, 'node_modules', '@types', 'node'), what: "Node's types (npm install in the hst repository)" });
  }
  if (!ctx.insideRepo) {
    skeleton.files.push({ path: at('package.json'), content: packageJson(ctx) });
    skeleton.links.push({ path: at(join('node_modules', 'hst')), target: ctx.repo });
  }
  return skeleton;
}
