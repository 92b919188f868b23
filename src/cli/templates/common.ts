/**
 * What every plugin skeleton of `hst new` shares, whatever its language: the
 * manifest (least privilege, two commands), the README's common sections, and
 * the shape a language template fills in.
 */
import { relative } from 'node:path';
import { stringify } from 'yaml';
import { CONVENTIONAL_HANDSHAKE } from '../../manager/discovery.js';

export type PluginLanguage = 'ts' | 'go' | 'python';

/** Where things are, worked out by `hst new` before any template runs. All paths are absolute. */
export interface TemplateContext {
  name: string;
  /** The new plugin's directory: `<dir>/<name>`. */
  pluginDir: string;
  /** The directory the plugin was created in (--dir). */
  pluginsDir: string;
  /** The hst repository: the SDKs, the Go module, the TypeScript configuration. */
  repo: string;
  /** The Go module that Go plugins are built in (the repository's interop/go by default). */
  goModule: string;
  /** The plugin sits inside the repository, so `import 'hst'` resolves as the package's self-reference. */
  insideRepo: boolean;
  /** `--dir` is the repository's plugins/, which `npm run build` and `npm run build:plugins` cover. */
  inRepoPlugins: boolean;
}

function inRepo(ctx: TemplateContext, path: string): boolean {
  return !relative(ctx.repo, path).startsWith('..');
}

/** A path as READMEs and messages name it: relative to the repository when inside it, else absolute. */
export function shown(ctx: TemplateContext, path: string): string {
  return inRepo(ctx, path) ? relative(ctx.repo, path) || '.' : path;
}

/** `to` as a file in `fromDir` refers to it: relative when both are in the repository (which may move as a whole), else absolute. */
export function pathFrom(ctx: TemplateContext, fromDir: string, to: string): string {
  return inRepo(ctx, fromDir) && inRepo(ctx, to) ? relative(fromDir, to) : to;
}

export interface SkeletonFile {
  path: string;
  content: string;
  mode?: number;
}

export interface Skeleton {
  /** The language's name in messages. */
  language: string;
  /** Directories created for this plugin alone; none may exist yet. */
  dirs: string[];
  files: SkeletonFile[];
  links: Array<{ path: string; target: string }>;
  /** What must already exist for the plugin to build and run. */
  needs: Array<{ path: string; what: string }>;
  /** The commands to run next, from the repository root. */
  next: string[];
}

/** The go-plugin handshake of every plugin `hst new` makes: hst's conventional one, which a plugin found by its name must use. */
export const HANDSHAKE = { protocolVersion: CONVENTIONAL_HANDSHAKE.protocolVersions[0], key: CONVENTIONAL_HANDSHAKE.magicCookieKey, value: CONVENTIONAL_HANDSHAKE.magicCookieValue } as const;

/** A YAML scalar for a string: quoted when YAML would read it as something else (`123`, `true`). */
function yamlString(value: string): string {
  return stringify(value).trimEnd();
}

/** plugin.yaml; `notes` are comment lines on how to build it. */
export function manifest(ctx: TemplateContext, fields: { runtime: 'node' | 'binary' | 'python'; command: string; notes: string[] }): string {
  return `${fields.notes.map((note) => `# ${note}\n`).join('')}# Reference: docs/manifest.md.
name: ${yamlString(ctx.name)}
version: 0.1.0
description: Says hello and lists the workspace root
runtime: ${fields.runtime}
command: ${fields.command}
handshake:
  protocol_versions: [${HANDSHAKE.protocolVersion}]
  magic_cookie_key: ${HANDSHAKE.key}
  magic_cookie_value: ${HANDSHAKE.value}
# Least privilege: \`files\` reads the workspace root, and nothing else is
# needed. Grant more here when the plugin needs it, as narrowly as it can be
# said (fs.write:out/**, env:MY_VAR, kv, ...).
capabilities:
  - fs.read:**
commands:
  - name: hello
    help: Say hello
    args:
      - name: name
        help: Who to greet
        default: world
  - name: files
    help: List the workspace root, one entry a line, directories ending in /
`;
}

/** `hst run <name> <command> [args]`, naming the plugin directory unless it is the default ./plugins. */
export function hstRun(ctx: TemplateContext, command: string): string {
  return `hst${ctx.inRepoPlugins ? '' : ` --plugin-dir ${shown(ctx, ctx.pluginsDir)}`} run ${ctx.name} ${command}`;
}

export interface ReadmeSections {
  language: string;
  /** One paragraph: how the plugin is made and where its code is. */
  about: string;
  build: string;
  test: string;
  /** The files, each with one line saying what it is. */
  files: Array<[path: string, what: string]>;
  /** Language-specific advice for adding a command. */
  change: string;
}

export function readme(ctx: TemplateContext, s: ReadmeSections): string {
  const fromRepo = ctx.insideRepo ? 'from the repository root' : `from the hst repository (${ctx.repo})`;
  return `# ${ctx.name}

A plugin for hst in ${s.language}, made by \`hst new\`. ${s.about}

It does nothing on the machine itself: \`files\` asks the host's Filesystem service, which allows or
refuses each call by the capabilities in \`plugin.yaml\` and records it in the audit log (\`hst audit\`).

Handshake: \`${HANDSHAKE.key}=${HANDSHAKE.value}\`, app protocol version ${HANDSHAKE.protocolVersion}.

## Commands

| Command | Arguments | Output | Result (\`--json\`) |
|---|---|---|---|
| \`hello\` | \`name\` (default \`world\`) | \`hello, <name>\` | \`{"greeting": "hello, <name>"}\` |
| \`files\` | — | one line per entry of the workspace root, directories ending in \`/\` | \`{"files": ["docs/", "notes.txt"]}\` |

A refused or failed host call ends \`files\` with exit code 1 and the host's message, for example
\`Filesystem/ReadDir .: denied by default deny\`.

## Capabilities

\`\`\`yaml
capabilities:
  - fs.read:**   # read the workspace (dotfiles excluded: ** never matches them)
\`\`\`

Nothing else: no writing, environment, processes, network, KV or temp files.

## Build

Run these ${fromRepo}.

\`\`\`
${s.build}
\`\`\`

## Run

\`\`\`
${hstRun(ctx, 'hello')}
${hstRun(ctx, 'hello name=Ada')}
${hstRun(ctx, 'files')}
\`\`\`

Arguments are \`name=value\` pairs, or plain values in the order \`plugin.yaml\` declares them
(\`${hstRun(ctx, 'hello Ada')}\`); the host checks them against the manifest first.

## Test

\`\`\`
${s.test}
\`\`\`

## Files

${s.files.map(([path, what]) => `- \`${path}\`: ${what}`).join('\n')}

## What to change

- Add a command: declare it in \`plugin.yaml\` under \`commands\` (its arguments too; the host checks
  them before the plugin sees them). ${s.change}
- Use another host service: grant its capability in \`plugin.yaml\` first; a call without one is refused
  with \`PERMISSION_DENIED\` and audited. docs/manifest.md lists the capabilities.
`;
}
