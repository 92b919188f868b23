/** What the manager tells UIs about each plugin, and the events it emits. */
import type { ManifestCommand, ManifestExport, ManifestRoute, ManifestWidget, Runtime } from '../security/manifest.js';
import type { SandboxLayer } from '../security/sandbox.js';
import type { SignatureStatus, VerifyResult } from '../security/signature.js';
import type { DiscoveredPlugin } from './discovery.js';
import type { PluginLanguage } from './language.js';

export type PluginStatus =
  /** Found and runnable, not started. */
  | 'discovered'
  /** Its runtime or file is missing on this machine; `lastError` says what to do. */
  | 'unavailable'
  /** Its manifest is broken, its name is taken, or its signature was refused; `lastError` says which. */
  | 'invalid'
  | 'starting'
  | 'running'
  /** It exited unexpectedly and waits for its next start. */
  | 'restarting'
  /** It would not start, or crashed too often; `lastError` and `lastStderr` say why. */
  | 'failed'
  | 'stopped';

export interface PluginInfo {
  name: string;
  status: PluginStatus;
  /** The plugin's directory. */
  dir: string;
  /** Its plugin.yaml, as named in messages. */
  file: string;
  version?: string;
  description?: string;
  runtime?: Runtime;
  language?: PluginLanguage;
  /** Declared in the manifest. */
  capabilities: string[];
  commands: ManifestCommand[];
  /** What it exports as a JavaScript module (`plugin:<name>`). */
  exports: ManifestExport[];
  /** HTTP routes and dashboard widgets it serves under `hst serve`'s /plugins/<name>/. */
  routes: ManifestRoute[];
  widgets: ManifestWidget[];
  /** Found by its file's name (hst-plugin-<name>), not a manifest: its exports are known once it has been asked. */
  foundByName?: boolean;
  pid?: number;
  /** Restarts after crashes since it was started. */
  restarts: number;
  /** Hot reloads that replaced it with a new version since the manager found it. */
  reloads?: number;
  /** Why the last hot reload failed, while the version before kept running. */
  reloadError?: string;
  lastError?: string;
  /** The last lines it wrote to stderr before it last exited. */
  lastStderr?: string[];
  signature?: { status: SignatureStatus; keyId?: string; detail: string };
  /** The operator's sandbox mode for it: `off` means it runs unconfined, by the operator's choice. */
  sandboxMode?: 'auto' | 'require' | 'off';
  /** The sandbox layers it runs under (empty when unsandboxed), once started. */
  sandbox?: { layers: SandboxLayer[]; inactive: Array<{ layer: SandboxLayer; reason: string }> };
}

/**
 * What PluginInfo says of a plugin in any state: what discovery found (its
 * manifest's fields, its language, how it was found) and the outcome of its
 * signature check. The runner adds what running it tells.
 */
export function discoveredInfo(p: DiscoveredPlugin, status: PluginStatus, signature: VerifyResult | undefined = p.signature): PluginInfo {
  const m = p.manifest;
  return {
    name: p.name,
    status,
    dir: p.dir,
    file: p.file,
    ...(m ? { version: m.version, description: m.description, runtime: m.runtime } : {}),
    ...(p.language ? { language: p.language } : {}),
    capabilities: m ? [...m.capabilities] : [],
    commands: m?.commands ?? [],
    exports: m?.exports ?? [],
    routes: m?.routes ?? [],
    widgets: m?.widgets ?? [],
    ...(p.foundByName ? { foundByName: true } : {}),
    restarts: 0,
    ...(signature ? { signature: { status: signature.status, detail: signature.detail, ...(signature.keyId ? { keyId: signature.keyId } : {}) } } : {}),
  };
}

/** The confinement in a few words, for lists and status lines: what isolates it, and the kernel filters on top. */
export function sandboxSummary(info: Pick<PluginInfo, 'sandboxMode' | 'sandbox'>): string {
  if (info.sandboxMode === 'off') return 'OFF (operator)';
  if (!info.sandbox) return info.sandboxMode ?? '-';
  const layers = info.sandbox.layers;
  if (!layers.includes('isolation')) return 'not isolated';
  return [layers.includes('bwrap') ? 'bwrap' : 'hst-sandbox', ...(['seccomp', 'landlock'] as const).filter((l) => layers.includes(l))].join('+');
}

export interface PluginManagerEvents {
  /** Any change of any plugin's info. */
  state: [PluginInfo];
  started: [{ name: string; pid: number }];
  /** An exit nobody asked for (a crash, a kill from outside, a failed health check). */
  exited: [{ name: string; pid: number | undefined; code: number | null; signal: string | null; reason: string }];
  restarted: [{ name: string; pid: number; restarts: number }];
  failed: [{ name: string; error: string; lastStderr: string[] }];
  /** Each step of a hot reload (PluginManager's `hotReload` option, or `reload()`). */
  reload: [ReloadEvent];
  /** A call the host made to a plugin (call(), a command, a module call) has ended. */
  call: [{ name: string; operation: string; ms: number; error?: string; code?: number }];
}

export type ReloadStep =
  /** Its files changed; a reload begins. */
  | 'changed'
  /** The new version started beside the old and answered its health check. */
  | 'started'
  /** New calls go to the new version. */
  | 'switched'
  /** The old version finished its calls (or ran out of time) and was stopped. */
  | 'drained'
  /** Done: the new version runs (or, if the plugin was not running, will at its next start). */
  | 'reloaded'
  /** The new version is broken or would not start: the old one keeps running. */
  | 'failed'
  /** A new plugin appeared in a plugin directory. */
  | 'loaded'
  /** Its manifest (or file) was removed: it was stopped and forgotten. */
  | 'unloaded';

export interface ReloadEvent {
  name: string;
  step: ReloadStep;
  /** What happened, in a sentence: the error for `failed`, the pids for `switched`. */
  detail?: string;
}
