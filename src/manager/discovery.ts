/**
 * Finding plugins: every `<dir>/<name>/plugin.yaml` one level under the
 * plugin directories, parsed from the exact bytes whose signature is then
 * checked, and every executable `<dir>/hst-plugin-<name>`, a plugin found by
 * its file's name. A broken plugin is reported, with its file:line:col, and
 * never stops the others; of two plugins with the same name the first found
 * (in the order of the directories) is used and the other is reported.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Manifest } from '../security/manifest.js';
import { MANIFEST_FILE, readManifestBytes, SignatureError, verifyPlugin, type SignaturePolicy, type VerifyResult } from '../security/signature.js';
import { pluginLanguage, type PluginLanguage } from './language.js';
import { runtimeProblem, type RuntimeOptions } from './runtime.js';

/** A plugin found by its file's name: `hst-plugin-<name>`, an executable at the top of a plugin directory. */
export const NAMED_PLUGIN_PREFIX = 'hst-plugin-';

/**
 * hst's conventional handshake, which `hst new` writes into every plugin; a
 * plugin found by its name has no manifest to give another, so it uses this.
 */
export const CONVENTIONAL_HANDSHAKE: Manifest['handshake'] = { protocolVersions: [1], magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' };

export interface DiscoveryOptions extends RuntimeOptions {
  pluginDirs: string[];
  signaturePolicy: SignaturePolicy;
  /** Directory of trusted `.pub` keys; needed unless the policy is `off`. */
  trustedKeysDir?: string;
}

export interface DiscoveredPlugin {
  /** The manifest's name; the directory's name when the manifest could not be read. */
  name: string;
  /** The plugin directory, absolute. */
  dir: string;
  /** plugin.yaml as named in messages (relative when the plugin directory was given relative). */
  file: string;
  status: 'discovered' | 'unavailable' | 'invalid';
  /** Why it is invalid or unavailable. */
  problem?: string;
  manifest?: Manifest;
  /** The bytes `manifest` was parsed from, for re-verifying the signature at each start. */
  manifestBytes?: Buffer;
  signature?: VerifyResult;
  language?: PluginLanguage;
  /**
   * Found by its file's name, not a manifest: no capabilities, nothing
   * signed, exports learned by asking it (hst.plugin.v1.Module/Describe).
   */
  foundByName?: boolean;
}

export interface DiscoveryReport {
  plugins: DiscoveredPlugin[];
  /** Plugin directories that could not be read. */
  warnings: string[];
}

/** The entries of a plugin directory, sorted; one that cannot be read is a warning. */
function entriesOf(pluginDir: string, warnings: string[]): string[] {
  try {
    return readdirSync(pluginDir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    warnings.push(`plugin directory ${pluginDir} ${code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`}`);
    return [];
  }
}

/** The directories in `pluginDir` that hold a manifest; a plugin directory that cannot be read is a warning. */
export function pluginCandidates(pluginDir: string, warnings: string[], names = entriesOf(pluginDir, warnings)): Array<{ dir: string; file: string; name: string }> {
  return names
    .map((name) => ({ name, dir: join(pluginDir, name), file: join(pluginDir, name, MANIFEST_FILE) }))
    .filter((c) => {
      try {
        return statSync(c.dir).isDirectory() && statSync(c.file, { throwIfNoEntry: false }) !== undefined;
      } catch {
        return false;
      }
    });
}

/** The manifest parser (yaml, zod: ~7 MiB of a host's memory), loaded when there is a manifest to read. */
type ManifestParser = typeof import('../security/manifest.js');

async function examine(candidate: { dir: string; file: string; name: string }, options: DiscoveryOptions, parser: ManifestParser): Promise<DiscoveredPlugin> {
  const { ManifestError, parseManifest } = parser;
  const base = { name: candidate.name, dir: resolve(candidate.dir), file: candidate.file };
  let manifestBytes: Buffer;
  let manifest: Manifest;
  try {
    manifestBytes = await readManifestBytes(base.dir);
    manifest = parseManifest(manifestBytes, candidate.file);
  } catch (err) {
    const problem = err instanceof ManifestError ? err.message : `${candidate.file}: ${(err as Error).message}`;
    return { ...base, status: 'invalid', problem };
  }
  const found = { ...base, name: manifest.name, manifest, manifestBytes, language: await pluginLanguage(manifest) };
  let signature: VerifyResult;
  try {
    signature = await verifyPlugin(
      base.dir,
      options.trustedKeysDir ?? '',
      { name: manifest.name, version: manifest.version, command: manifest.command, manifestBytes },
      options.signaturePolicy,
    );
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    return { ...found, status: 'invalid', problem: err.message, signature: err.result };
  }
  const problem = await runtimeProblem(manifest, options);
  return { ...found, signature, status: problem ? 'unavailable' : 'discovered', ...(problem ? { problem } : {}) };
}

/** The files `hst-plugin-<name>` in `pluginDir` (anything but a directory: examineNamed says what is wrong with it). */
function namedCandidates(pluginDir: string, names: string[]): Array<{ dir: string; file: string; name: string }> {
  return names
    .filter((entry) => entry.startsWith(NAMED_PLUGIN_PREFIX) && statSync(join(pluginDir, entry), { throwIfNoEntry: false })?.isDirectory() === false)
    .map((entry) => ({ name: entry.slice(NAMED_PLUGIN_PREFIX.length), dir: pluginDir, file: join(pluginDir, entry) }));
}

/** A plugin found by its file's name, with the manifest it would have: the conventional handshake and nothing granted. */
async function examineNamed(candidate: { dir: string; file: string; name: string }, options: DiscoveryOptions, parser: ManifestParser): Promise<DiscoveredPlugin> {
  const dir = resolve(candidate.dir);
  const command = `${NAMED_PLUGIN_PREFIX}${candidate.name}`;
  const base = { name: candidate.name, dir, file: candidate.file, foundByName: true };
  if (!parser.isPluginName(candidate.name)) {
    return { ...base, status: 'invalid', problem: `${candidate.file}: ${JSON.stringify(candidate.name)} is not a plugin name (a-z, 0-9 and "-", starting with a letter or digit, at most 63 characters), so the file is not a plugin` };
  }
  if (options.signaturePolicy === 'require') {
    return { ...base, status: 'invalid', problem: `${candidate.file}: found by its name, with no ${MANIFEST_FILE} to sign; signature policy require runs signed plugins only` };
  }
  // The manifest it would have, written out and parsed, so that every field not given takes the schema's default.
  const handshake = { protocol_versions: CONVENTIONAL_HANDSHAKE.protocolVersions, magic_cookie_key: CONVENTIONAL_HANDSHAKE.magicCookieKey, magic_cookie_value: CONVENTIONAL_HANDSHAKE.magicCookieValue };
  const manifestBytes = Buffer.from(
    [`name: ${candidate.name}`, 'version: 0.0.0', 'description: found by its file name, without a manifest', 'runtime: binary', `command: ${command}`, `handshake: ${JSON.stringify(handshake)}`, ''].join('\n'),
  );
  const manifest = parser.parseManifest(manifestBytes, candidate.file);
  const signature: VerifyResult =
    options.signaturePolicy === 'off' ? { status: 'skipped', detail: 'signature policy is off' } : { status: 'unsigned', detail: `${candidate.file} was found by its name and has no ${MANIFEST_FILE} to sign` };
  const problem = await runtimeProblem(manifest, options);
  return { ...base, manifest, manifestBytes, signature, language: await pluginLanguage(manifest), status: problem ? 'unavailable' : 'discovered', ...(problem ? { problem } : {}) };
}

export async function discoverPlugins(options: DiscoveryOptions): Promise<DiscoveryReport> {
  const warnings: string[] = [];
  const all = options.pluginDirs.flatMap((dir) => {
    const names = entriesOf(dir, warnings);
    return [...pluginCandidates(dir, warnings, names).map((c) => ({ ...c, byName: false })), ...namedCandidates(dir, names).map((c) => ({ ...c, byName: true }))];
  });
  if (all.length === 0) return { plugins: [], warnings };
  const parser = await import('../security/manifest.js');
  const plugins = await Promise.all(all.map((c) => (c.byName ? examineNamed(c, options, parser) : examine(c, options, parser))));
  const firstByName = new Map<string, DiscoveredPlugin>();
  for (const plugin of plugins) {
    if (!plugin.manifest) continue;
    const first = firstByName.get(plugin.name);
    if (!first) {
      firstByName.set(plugin.name, plugin);
      continue;
    }
    plugin.status = 'invalid';
    plugin.problem = `duplicate plugin name ${JSON.stringify(plugin.name)}: ${plugin.file} is ignored, ${first.file} is used`;
  }
  return { plugins, warnings };
}
