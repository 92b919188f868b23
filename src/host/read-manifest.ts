/**
 * A plugin's manifest for an application that starts plugins itself: the
 * bytes read the guarded way and parsed, so that verifyPlugin checks the
 * very bytes the application uses. The parser (yaml, zod) loads with the
 * first call, not with `hst/host`.
 */
import type { Manifest } from '../security/manifest.js';
import { MANIFEST_FILE, readManifestBytes } from '../security/signature.js';
import { join } from 'node:path';

/** plugin.yaml of `pluginDir`, parsed; a mistake throws a ManifestError naming the file, line and field. */
export async function readManifest(pluginDir: string): Promise<{ manifest: Manifest; manifestBytes: Buffer }> {
  const manifestBytes = await readManifestBytes(pluginDir);
  const { parseManifest } = await import('../security/manifest.js');
  return { manifest: parseManifest(manifestBytes, join(pluginDir, MANIFEST_FILE)), manifestBytes };
}
