/**
 * Finding plugins: every `<dir>/<name>/plugin.yaml` one level under the
 * plugin directories, parsed from the exact bytes whose signature is then
 * checked. A broken plugin is reported, with its file:line:col, and never
 * stops the others; of two plugins with the same name the first found (in
 * the order of the directories) is used and the other is reported.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Manifest } from '../security/manifest.js';
import { MANIFEST_FILE, readManifestBytes, SignatureError, verifyPlugin, type SignaturePolicy, type VerifyResult } from '../security/signature.js';
import { pluginLanguage, type PluginLanguage } from './language.js';
import { runtimeProblem, type RuntimeOptions } from './runtime.js';

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
}

export interface DiscoveryReport {
  plugins: DiscoveredPlugin[];
  /** Plugin directories that could not be read. */
  warnings: string[];
}

/** The directories in `pluginDir` that hold a manifest; a plugin directory that cannot be read is a warning. */
export function pluginCandidates(pluginDir: string, warnings: string[]): Array<{ dir: string; file: string; name: string }> {
  let names: string[];
  try {
    names = readdirSync(pluginDir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    warnings.push(`plugin directory ${pluginDir} ${code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(err as Error).message}`}`);
    return [];
  }
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

export async function discoverPlugins(options: DiscoveryOptions): Promise<DiscoveryReport> {
  const warnings: string[] = [];
  const all = options.pluginDirs.flatMap((dir) => pluginCandidates(dir, warnings));
  if (all.length === 0) return { plugins: [], warnings };
  const parser = await import('../security/manifest.js');
  const plugins = await Promise.all(all.map((c) => examine(c, options, parser)));
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
