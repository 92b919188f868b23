/**
 * What a capability string grants, and whether it covers a resource.
 * Rules: `*` in a path never crosses `/`, `**` does, and dotfiles match only
 * patterns that name them (picomatch with dot off); topics match segment by
 * segment with `*` for one and a final `>` for the rest; `net:` hosts match
 * exactly or by `*.domain` for subdomains, with an optional port.
 */
import picomatch from 'picomatch';

export const CAPABILITY_KINDS = [
  'fs.read',
  'fs.write',
  'env',
  'exec',
  'net',
  'kv',
  'temp',
  'system',
  'process.spawn',
  'events.publish',
  'events.subscribe',
  'log',
  'service',
  'http.route',
] as const;

export type CapabilityKind = (typeof CAPABILITY_KINDS)[number];

/** Operations about the calling plugin itself (its own grants, its own identity): allowed to every plugin, never declared. */
export const INTROSPECTION_KINDS: readonly string[] = ['permissions', 'self'];

/** Kinds that take no pattern: they are all or nothing. */
const FLAGS = new Set<string>(['kv', 'temp', 'system', 'process.spawn', 'log']);

/**
 * A capability kind an application defines for the host services it adds:
 * `flag`, all or nothing, or `glob`, whose pattern matches the operation's
 * resource as a path glob does (`*` within a `/`-separated segment, `**`
 * across them).
 */
export type AppCapabilityStyle = 'flag' | 'glob';

/** Kinds defined by applications (src/host-services/operation.ts: HostServiceModule.capabilities). */
const appKinds = new Map<string, AppCapabilityStyle>();
const KIND_NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/**
 * Makes `kind` a capability manifests may ask for and policies may grant.
 * Kinds are process-wide names, like the services they guard: defining one
 * again the same way is harmless, differently (or over a built-in kind) an error.
 */
export function defineCapabilityKind(kind: string, style: AppCapabilityStyle): void {
  if ((CAPABILITY_KINDS as readonly string[]).includes(kind)) throw new CapabilityError(`capability kind ${JSON.stringify(kind)} is hst's own and cannot be redefined`);
  if (!KIND_NAME.test(kind)) throw new CapabilityError(`${JSON.stringify(kind)} is not a capability kind name (lower-case words joined by dots, such as notes.write)`);
  const existing = appKinds.get(kind);
  if (existing && existing !== style) throw new CapabilityError(`capability kind ${JSON.stringify(kind)} is already defined as a ${existing}, not a ${style}`);
  appKinds.set(kind, style);
}

/** How an application-defined kind takes patterns; undefined for hst's own kinds and unknown names. */
export function appCapabilityStyle(kind: string): AppCapabilityStyle | undefined {
  return appKinds.get(kind);
}

/** Every kind known in this process, hst's first. */
export function capabilityKinds(): string[] {
  return [...CAPABILITY_KINDS, ...appKinds.keys()];
}

export interface Capability {
  /** One of CAPABILITY_KINDS, or a kind an application defined. */
  kind: string;
  pattern?: string;
  /** A deny rule: beats every allow rule. */
  deny?: boolean;
  /** The text it was written as, for audit records ("the rule that decided"). */
  source: string;
}

export class CapabilityError extends Error {
  override readonly name = 'CapabilityError';
}

/** Parses `[deny:]kind[:pattern]`. Only the shape is checked here; the manifest validates patterns in detail. */
export function parseCapabilityString(text: string): Capability {
  const deny = text.startsWith('deny:');
  const body = deny ? text.slice('deny:'.length) : text;
  const colon = body.indexOf(':');
  const kind = colon === -1 ? body : body.slice(0, colon);
  const pattern = colon === -1 ? undefined : body.slice(colon + 1);
  const app = appKinds.get(kind);
  if (!app && !(CAPABILITY_KINDS as readonly string[]).includes(kind)) {
    throw new CapabilityError(`${JSON.stringify(text)} is not a capability; expected one of ${capabilityKinds().join(', ')}`);
  }
  const flag = app ? app === 'flag' : FLAGS.has(kind);
  if (flag && pattern !== undefined) throw new CapabilityError(`${JSON.stringify(text)}: ${kind} takes no pattern`);
  if (!flag && (pattern === undefined || pattern === '')) throw new CapabilityError(`${JSON.stringify(text)}: ${kind} needs a pattern, e.g. ${kind}:…`);
  return { kind, ...(pattern !== undefined ? { pattern } : {}), ...(deny ? { deny: true } : {}), source: text };
}

const matchers = new Map<string, (s: string) => boolean>();

function pathMatcher(pattern: string): (s: string) => boolean {
  let m = matchers.get(pattern);
  if (!m) matchers.set(pattern, (m = picomatch(pattern, { dot: false })));
  return m;
}

function topicCovers(grant: string, requested: string): boolean {
  const g = grant.split('.');
  const r = requested.split('.');
  for (let i = 0; i < g.length; i++) {
    const seg = g[i];
    if (seg === '>' && i === g.length - 1) return r.length > i;
    const want = r[i];
    if (want === undefined) return false;
    // A grant of `*` covers any one segment, and a requested `*` only through a granted `*`.
    if (seg === '*') {
      if (want === '>') return false;
      continue;
    }
    if (seg !== want) return false;
  }
  return g.length === r.length;
}

function splitHostPort(s: string): { host: string; port?: string } {
  const bracket = s.match(/^\[([^\]]+)\](?::(\d+))?$/);
  if (bracket) return { host: bracket[1]!.toLowerCase(), ...(bracket[2] ? { port: bracket[2] } : {}) };
  const i = s.lastIndexOf(':');
  if (i > 0 && /^\d+$/.test(s.slice(i + 1)) && s.indexOf(':') === i) return { host: s.slice(0, i).toLowerCase(), port: s.slice(i + 1) };
  return { host: s.toLowerCase() };
}

function netCovers(grant: string, requested: string, explicitOnly: boolean): boolean {
  const g = splitHostPort(grant);
  const r = splitHostPort(requested);
  if (g.port !== undefined && g.port !== r.port) return false;
  if (g.host.startsWith('*.')) return !explicitOnly && r.host.endsWith(g.host.slice(1)) && r.host.length > g.host.length - 1;
  return g.host === r.host;
}

/**
 * Whether `cap` covers `resource` for a request of `kind`. `temp` covers
 * paths in the private temp area; `net!explicit` asks whether a grant names
 * the host itself (no wildcard), which private addresses require.
 */
export function covers(cap: Capability, kind: string, resource: string): boolean {
  if (kind === 'net!explicit') return cap.kind === 'net' && !!cap.pattern && netCovers(cap.pattern, resource, true);
  if (cap.kind !== kind) return false;
  if (FLAGS.has(kind)) return true;
  const pattern = cap.pattern as string;
  const app = appKinds.get(kind);
  if (app) return app === 'flag' || pathMatcher(pattern)(resource);
  switch (kind) {
    case 'fs.read':
    case 'fs.write':
      // The workspace root itself has no name a glob could match: only an all-`**` pattern covers it.
      if (resource === '.') return pattern.split('/').every((seg) => seg === '**');
      return pathMatcher(pattern)(resource);
    case 'env':
      if (pattern.endsWith('*')) {
        const prefix = pattern.slice(0, -1);
        // A listing by prefix is covered when it stays inside the granted prefix.
        return resource.split(',').every((name) => name !== '*' && name.startsWith(prefix));
      }
      return resource.split(',').every((name) => name === pattern);
    case 'exec':
      return resource === pattern;
    case 'net':
      return netCovers(pattern, resource, false);
    case 'events.publish':
    case 'events.subscribe':
      return topicCovers(pattern, resource);
    case 'service':
      // `<full.Service.Name>/<Method>`: `acme.store.v1.Store/*` covers every method of the service.
      return pathMatcher(pattern)(resource);
    case 'http.route':
      // The path under the plugin's /plugins/<name>/, without the leading slash: `notes/**`, `widgets/*`; its root, only `**`.
      if (resource === '') return pattern.split('/').every((seg) => seg === '**');
      return pathMatcher(pattern)(resource);
    default:
      return false;
  }
}
