/**
 * `hst keygen`, `hst sign` and `hst verify`: plugin signing from the command
 * line. Each returns its exit code and output instead of exiting, so main.ts
 * decides how to print and tests can call them directly.
 */
import { keygen, signPlugin, verifyPlugin, type PluginFields } from '../security/signature.js';

export interface CommandResult {
  /** 0 success; 1 the plugin is not validly signed; 2 the command could not run. */
  exitCode: number;
  output: string;
}

/** Reads name, version and command from the plugin.yaml in a plugin directory. */
export type ManifestFieldsLoader = (pluginDir: string) => PluginFields | Promise<PluginFields>;

function failure(err: unknown): CommandResult {
  return { exitCode: 2, output: `error: ${(err as Error).message}\n` };
}

export function keygenCommand(opts: { dir: string }): CommandResult {
  try {
    const key = keygen(opts.dir);
    return {
      exitCode: 0,
      output:
        `key id:      ${key.keyId}\n` +
        `private key: ${key.privateKeyPath} (keep it secret; sign with it)\n` +
        `public key:  ${key.publicKeyPath} (copy it into the host's trusted keys directory)\n`,
    };
  } catch (err) {
    return failure(err);
  }
}

export async function signCommand(opts: { pluginDir: string; key: string; loadManifest: ManifestFieldsLoader }): Promise<CommandResult> {
  try {
    const fields = await opts.loadManifest(opts.pluginDir);
    const signed = await signPlugin(opts.pluginDir, opts.key, fields);
    return {
      exitCode: 0,
      output:
        `signed ${signed.statement.name}@${signed.statement.version} with key ${signed.keyId}\n` +
        `wrote ${signed.signaturePath}\n` +
        `command ${signed.statement.command} sha256 ${signed.statement.command_sha256}\n`,
    };
  } catch (err) {
    return failure(err);
  }
}

export async function verifyCommand(opts: {
  pluginDir: string;
  trusted: string;
  json: boolean;
  loadManifest: ManifestFieldsLoader;
}): Promise<CommandResult> {
  let plugin: string | undefined;
  try {
    const fields = await opts.loadManifest(opts.pluginDir);
    plugin = fields.name;
    // 'warn' returns every outcome as a status; the exit code carries the verdict.
    const result = await verifyPlugin(opts.pluginDir, opts.trusted, fields, 'warn');
    const exitCode = result.status === 'valid' ? 0 : 1;
    if (opts.json) return { exitCode, output: `${JSON.stringify({ plugin, ...result }, null, 2)}\n` };
    const checksum = result.commandSha256 ? `command sha256 ${result.commandSha256}\n` : '';
    return { exitCode, output: `${plugin}: ${result.status}: ${result.detail}\n${checksum}` };
  } catch (err) {
    if (!opts.json) return failure(err);
    return { exitCode: 2, output: `${JSON.stringify({ plugin, status: 'error', detail: (err as Error).message }, null, 2)}\n` };
  }
}
