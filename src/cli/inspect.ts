/**
 * `hst inspect <plugin-dir>`: what a plugin is, what it may do and how it
 * would be confined: its manifest, its signature, its effective
 * capabilities under the operator's policy, and the sandbox layers this
 * machine can give it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseManifest, type Manifest, type ManifestSignature } from '../security/manifest.js';
import { Policy, type OperatorPolicy } from '../security/policy.js';
import type { SandboxMode } from '../manager/plugin-runner.js';
import { probeSandbox, type SandboxProbe } from '../security/sandbox.js';
import { addonProblem, atSyscalls, type AtSyscalls } from '../security/at-syscalls.js';
import { socketPairProblem } from '../rpc/native/socket-pair.js';
import { MANIFEST_FILE, readManifestBytes, verifyPlugin, type VerifyResult } from '../security/signature.js';

export interface InspectReport {
  manifest: Omit<Manifest, 'file' | 'dir'> & { file: string };
  signature: VerifyResult | { status: 'not checked'; detail: string };
  capabilities: { declared: string[]; effective: string[] };
  sandbox: { mode: SandboxMode; available: string[]; unavailable: Record<string, string> };
  /** How the host's file services reach names inside a workspace (security/at-syscalls.ts), and why not the fast way. */
  files: { via: AtSyscalls['via']; problem?: string };
  /** For a plugin run by Node: how the host reads its end of the native transport (rpc/native/socket-pair.ts), and why not the fast way. */
  connection?: { reads: 'into place' | 'as a stream'; problem?: string };
}

export interface InspectOptions {
  pluginDir: string;
  trusted?: string;
  policyFile?: string;
  /** The operator's sandbox mode; default auto. */
  sandbox?: SandboxMode;
}

export async function inspectPlugin(options: InspectOptions): Promise<InspectReport> {
  const bytes = await readManifestBytes(options.pluginDir).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' || /does not exist/.test(err.message) ? new Error(`no ${MANIFEST_FILE} in ${options.pluginDir}`) : err;
  });
  const manifest = parseManifest(bytes, join(options.pluginDir, MANIFEST_FILE));
  const signature = options.trusted
    ? await verifyPlugin(options.pluginDir, options.trusted, { name: manifest.name, version: manifest.version, command: manifest.command, manifestBytes: bytes }, 'warn')
    : ({ status: 'not checked', detail: 'no --trusted keys directory given' } as const);
  const operator = options.policyFile ? (parseYaml(readFileSync(options.policyFile, 'utf8')) as OperatorPolicy) : {};
  const policy = new Policy(operator);
  policy.setManifest(manifest.name, manifest.capabilities);
  const probe = await probeSandbox();
  const { dir: _dir, file, ...rest } = manifest;
  return {
    manifest: { ...rest, file },
    signature,
    capabilities: { declared: manifest.capabilities, effective: policy.effective(manifest.name) },
    sandbox: { mode: options.sandbox ?? 'auto', ...sandboxSummary(probe) },
    files: { via: atSyscalls.via, ...(addonProblem ? { problem: addonProblem } : {}) },
    ...(manifest.runtime === 'node' ? { connection: connectionReads() } : {}),
  };
}

function connectionReads(): NonNullable<InspectReport['connection']> {
  const problem = socketPairProblem();
  return problem ? { reads: 'as a stream', problem } : { reads: 'into place' };
}

function sandboxSummary(probe: SandboxProbe): Omit<InspectReport['sandbox'], 'mode'> {
  const layers: Array<[string, boolean, string]> = [
    ['isolation by bwrap', probe.bwrap, 'bwrap'],
    ...(probe.bwrap ? [] : ([["isolation by hst's launcher", probe.launcher, 'launcher']] as Array<[string, boolean, string]>)),
    ['seccomp', probe.seccomp, 'seccomp'],
    [`landlock${probe.landlock ? ` (ABI ${probe.landlock})` : ''}`, probe.landlock > 0, 'landlock'],
    ['unshare (user + net)', probe.unshareUser && probe.unshareNet, 'unshareNet'],
    ['prlimit', probe.prlimit, 'prlimit'],
    ['watchdog (die with the host)', probe.bwrap || probe.launcher || probe.setpriv, 'setpriv'],
  ];
  const available = ['empty environment', 'own session and process group', ...layers.filter(([, ok]) => ok).map(([name]) => name)];
  const unavailable: Record<string, string> = {};
  for (const [name, ok, key] of layers) if (!ok) unavailable[name] = (probe.reasons as Record<string, string>)[key] ?? 'not available';
  return { available, unavailable };
}

export function formatInspectReport(r: InspectReport): string {
  const m = r.manifest;
  const lines = [
    `${m.name} ${m.version} (${m.runtime})  ${m.file}`,
    m.description ? `  ${m.description}` : '',
    `  command      ${m.command}${m.args.length ? ` ${m.args.join(' ')}` : ''}`,
    `  handshake    versions ${m.handshake.protocolVersions.join(',')}, cookie ${m.handshake.magicCookieKey}`,
    `  signature    ${r.signature.status}: ${r.signature.detail}`,
    `  declared     ${r.capabilities.declared.join(', ') || '(none)'}`,
    `  effective    ${r.capabilities.effective.join(', ') || '(none)'}`,
    ...(r.sandbox.mode === 'off'
      ? ['  sandbox      OFF: the operator runs plugins unconfined (--sandbox off)']
      : [`  sandbox      ${r.sandbox.mode}: ${r.sandbox.available.join(', ')}`, ...Object.entries(r.sandbox.unavailable).map(([layer, why]) => `  unavailable  ${layer}: ${why}`)]),
    `  files        workspace names opened ${r.files.via === 'openat' ? 'with openat (hst-fs addon)' : `through /proc/self/fd, slower: ${r.files.problem ?? 'the addon is not used'}`}`,
    ...(r.connection
      ? [`  connection   native transport ${r.connection.reads === 'into place' ? 'read into place (socket pair from the hst-fs addon)' : `read as a stream, slower: ${r.connection.problem ?? 'no socket pair'}`}`]
      : []),
    ...(m.commands.length ? ['  commands', ...m.commands.map((c) => `    ${c.name.padEnd(14)} ${c.help}`)] : []),
    ...(m.provides.length ? [`  provides     ${m.provides.join(', ')}`] : []),
    ...(m.requires.length ? [`  requires     ${m.requires.join(', ')}`] : []),
    ...(m.exports.length ? [`  exports      as plugin:${m.name}`, ...m.exports.flatMap((e) => (e.type === 'function' ? [callLine(e.name, e)] : e.methods.map((method) => callLine(`${e.name}.${method.name}`, method))))] : []),
  ];
  return lines.filter((l) => l !== '').join('\n');
}

/** `greet(name: string, excited?: bool) -> string`; `(...)` when the manifest does not say. */
function callLine(name: string, signature: ManifestSignature): string {
  const params = signature.params ? signature.params.map((p) => `${p.name}${p.optional ? '?' : ''}: ${p.type}${p.default !== undefined ? ` = ${JSON.stringify(p.default)}` : ''}`).join(', ') : '...';
  return `    ${name}(${params})${signature.returns ? ` -> ${signature.returns}` : ''}`;
}
