/**
 * The capability policy: deny by default, deny rules beat allow rules.
 * A plugin's effective rules are its manifest's, narrowed by the operator's
 * policy (an allow list that can only grant less, and deny rules), plus
 * what was granted at run time, minus what was revoked. Every host call is
 * decided here, once, before its handler runs.
 */
import { EventEmitter } from 'node:events';
import type { Caller } from '../host-services/caller.js';
import type { Decision } from '../host-services/dispatch.js';
import { DeniedError } from '../host-services/errors.js';
import { TEMP_PREFIX } from '../host-services/caller.js';
import { realpathSync } from 'node:fs';
import { covers, INTROSPECTION_KINDS, parseCapabilityString, type Capability } from './capability.js';

export interface OperatorPolicy {
  /** The sandbox for every plugin (PluginManager's `sandbox`, which wins when given); default auto. */
  sandbox?: 'auto' | 'require' | 'off';
  /** The signature policy (PluginManager's `signaturePolicy`, which wins when given); default warn. */
  signatures?: 'off' | 'warn' | 'require';
  /** Let plugins use files with several hard links (PluginManager's `allowHardLinks`, which wins when given). */
  allowHardLinks?: boolean;
  /** Deny rules for every plugin. */
  deny?: string[];
  plugins?: Record<
    string,
    {
      /** When present, only manifest capabilities also covered here take effect. */
      allow?: string[];
      deny?: string[];
    }
  >;
}

export interface Verdict {
  allowed: boolean;
  /** The rule that decided: a capability string, or `default deny`. */
  rule: string;
}

export class PolicyDenied extends DeniedError {
  constructor(operation: string, resource: string, rule: string) {
    super(`${operation} ${resource}: denied by ${rule}`, rule);
  }
}

/**
 * A capability as granted: `exec:` paths are resolved now, at grant time, so
 * `exec:/bin/echo` names the file that runs (/usr/bin/echo where /bin is a
 * link) and a link swapped in later changes nothing.
 */
function parseGrant(text: string): Capability {
  const cap = parseCapabilityString(text);
  if (cap.kind !== 'exec' || !cap.pattern) return cap;
  try {
    return { ...cap, pattern: realpathSync(cap.pattern) };
  } catch {
    return cap; // a program that does not exist yet matches only its literal path
  }
}

export interface PolicyChange {
  plugin: string;
  action: 'grant' | 'revoke';
  capability: string;
}

interface PluginRules {
  manifest: Capability[];
  granted: Capability[];
  revoked: Set<string>;
}

export class Policy extends EventEmitter<{ change: [PolicyChange] }> {
  private readonly plugins = new Map<string, PluginRules>();
  private readonly operatorDeny: Capability[];
  private readonly operatorPlugins: Map<string, { allow?: Capability[]; deny: Capability[] }>;
  private readonly callers = new Map<string, Set<Caller>>();

  constructor(operator: OperatorPolicy = {}) {
    super();
    this.operatorDeny = (operator.deny ?? []).map((c) => ({ ...parseCapabilityString(c), deny: true }));
    this.operatorPlugins = new Map(
      Object.entries(operator.plugins ?? {}).map(([name, p]) => [
        name,
        {
          ...(p.allow ? { allow: p.allow.map(parseCapabilityString) } : {}),
          deny: (p.deny ?? []).map((c) => ({ ...parseCapabilityString(c), deny: true })),
        },
      ]),
    );
  }

  /** Declares a plugin's manifest capabilities (replacing earlier ones). */
  setManifest(plugin: string, capabilities: readonly string[]): void {
    const rules = this.rules(plugin);
    rules.manifest = capabilities.map(parseGrant);
    this.changed(plugin);
  }

  grant(plugin: string, capability: string): void {
    const cap = parseGrant(capability);
    const rules = this.rules(plugin);
    rules.revoked.delete(capability);
    if (!rules.granted.some((c) => c.source === capability) && !rules.manifest.some((c) => c.source === capability)) rules.granted.push(cap);
    this.emit('change', { plugin, action: 'grant', capability });
    this.changed(plugin);
  }

  /** Takes effect on the plugin's next call; handles opened under it are closed. */
  revoke(plugin: string, capability: string): void {
    parseCapabilityString(capability);
    const rules = this.rules(plugin);
    rules.granted = rules.granted.filter((c) => c.source !== capability);
    rules.revoked.add(capability);
    this.emit('change', { plugin, action: 'revoke', capability });
    this.changed(plugin);
  }

  /** The capability strings in effect for a plugin (before operator deny rules). */
  effective(plugin: string): string[] {
    const rules = this.rules(plugin);
    const operator = this.operatorPlugins.get(plugin);
    return [...rules.manifest, ...rules.granted]
      .filter((c) => !rules.revoked.has(c.source))
      .filter((c) => c.deny || !operator?.allow || operator.allow.some((a) => a.source === c.source || (a.pattern !== undefined && c.pattern !== undefined && a.kind === c.kind && covers(a, c.kind, c.pattern))))
      .map((c) => c.source);
  }

  /** Decides `kind` on `resource` (or on every one of several resources) for a plugin. */
  decide(plugin: string, kind: string, resource: string | readonly string[]): Verdict {
    const resources = typeof resource === 'string' ? [resource] : resource;
    let last: Verdict = { allowed: false, rule: 'default deny' };
    for (const r of resources) {
      last = this.decideOne(plugin, kind, r);
      if (!last.allowed) return last;
    }
    return last;
  }

  private decideOne(plugin: string, rawKind: string, resource: string): Verdict {
    // The private temp area is governed by `temp`, whatever the file operation.
    const inTemp = rawKind.startsWith('fs.') && (resource === TEMP_PREFIX || resource.startsWith(`${TEMP_PREFIX}/`));
    const kind = inTemp ? 'temp' : rawKind;
    // A plugin may always look at its own permissions and what it holds.
    if (INTROSPECTION_KINDS.includes(kind)) return { allowed: true, rule: 'introspection of the plugin itself' };
    if (kind === 'env' && resource === '') return { allowed: true, rule: 'no variables referenced' };
    const rules = this.rules(plugin);
    const operator = this.operatorPlugins.get(plugin);
    const denies = [...this.operatorDeny, ...(operator?.deny ?? []), ...rules.manifest.filter((c) => c.deny), ...rules.granted.filter((c) => c.deny)];
    const denied = denies.find((c) => covers(c, kind, resource));
    if (denied) return { allowed: false, rule: denied.source };
    const allows = [...rules.manifest, ...rules.granted].filter((c) => !c.deny && !rules.revoked.has(c.source));
    const allowed = allows.find((c) => covers(c, kind, resource));
    if (!allowed) return { allowed: false, rule: 'default deny' };
    if (operator?.allow && !operator.allow.some((a) => covers(a, kind, resource))) {
      return { allowed: false, rule: `operator policy for ${plugin}` };
    }
    return { allowed: true, rule: allowed.source };
  }

  /** The dispatcher's hook: throws PolicyDenied, or returns the rule that allowed the call. */
  authorize = (d: Decision): Verdict => {
    const verdict = this.decide(d.caller.owner, d.capability, d.resources);
    if (!verdict.allowed) throw new PolicyDenied(d.operation, d.resource, verdict.rule);
    return verdict;
  };

  /** Lets a caller's handlers ask (Caller.permits) and re-check when grants change. */
  attach(caller: Caller): void {
    const owner = caller.owner;
    caller.setPermissionCheck((kind, resource) => this.decide(owner, kind, resource));
    let set = this.callers.get(owner);
    if (!set) this.callers.set(owner, (set = new Set()));
    set.add(caller);
    caller.onDisconnect(() => void set.delete(caller));
  }

  private changed(plugin: string): void {
    // The installed check already reads the current rules; the callers only need to re-check what they hold.
    for (const caller of this.callers.get(plugin) ?? []) caller.permissionsChanged();
  }

  private rules(plugin: string): PluginRules {
    let r = this.plugins.get(plugin);
    if (!r) this.plugins.set(plugin, (r = { manifest: [], granted: [], revoked: new Set() }));
    return r;
  }
}
