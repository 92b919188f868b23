/**
 * What every plugin skeleton of `hst new` shares, whatever its language: the
 * manifest (least privilege, two commands), the README's common sections, and
 * the shape a language template fills in.
 */
import { relative, sep } from 'node:path';
import { stringify } from 'yaml';
import { CONVENTIONAL_HANDSHAKE } from '../../manager/discovery.js';

export type PluginLanguage = 'ts' | 'go' | 'python';

/** Where things are, worked out by `hst new` before any template runs. All paths are absolute and real. */
export interface TemplateContext {
  name: string;
  /** The new plugin's directory, `<dir>/<name>`: a project of its own, with its own build and test. */
  pluginDir: string;
  /** The directory the plugin was created in (--dir), where hosts look for it. */
  pluginsDir: string;
  /** The hst package that runs `hst new`: its SDKs (sdk/go, sdk/python) are what the plugin builds on. */
  packageRoot: string;
  /** An installed hst (node_modules/hst) is found from the plugin's directory as Node finds packages. */
  hstInstalled: boolean;
}

/**
 * `to` as a file in `fromDir` refers to it: relative, so a project and the hst
 * beside it can move together, unless the two share nothing but the root
 * (a plugin in /tmp made from a checkout in /work), where the absolute path
 * says more than a climb to / does.
 */
export function pathFrom(fromDir: string, to: string): string {
  const path = relative(fromDir, to) || '.';
  const climbs = path.split(sep).filter((part) => part === '..').length;
  if (climbs > 0 && climbs >= fromDir.split(sep).filter(Boolean).length) return to;
  return path.startsWith('.') ? path : `./${path}`;
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
  /** What must already exist for the plugin to build and run. */
  needs: Array<{ path: string; what: string }>;
  /** The commands to run next, from the plugin's directory. */
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

/**
 * `hst run <name> <command> [args]` as run from the plugin's directory, whose
 * parent is where hosts look for it. `npx hst` where npm finds an installed
 * hst from there (the project's own, or the application's around it).
 */
export function hstRun(ctx: TemplateContext, command: string, ownHst = false): string {
  return `${ownHst || ctx.hstInstalled ? 'npx hst' : 'hst'} --plugin-dir .. run ${ctx.name} ${command}`;
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
  /** The project has hst as its own dependency (npx finds it there). */
  ownHst?: boolean;
}

export function readme(ctx: TemplateContext, s: ReadmeSections): string {
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

Run these in this directory.

\`\`\`
${s.build}
\`\`\`

## Run

\`\`\`
${hstRun(ctx, 'hello', s.ownHst)}
${hstRun(ctx, 'hello name=Ada', s.ownHst)}
${hstRun(ctx, 'files', s.ownHst)}
\`\`\`

Arguments are \`name=value\` pairs, or plain values in the order \`plugin.yaml\` declares them
(\`${hstRun(ctx, 'hello Ada', s.ownHst)}\`); the host checks them against the manifest first.

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
  with \`PERMISSION_DENIED\` and audited. hst's docs/manifest.md lists the capabilities.
`;
}
