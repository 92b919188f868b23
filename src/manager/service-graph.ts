/**
 * Plugins that provide services to each other (`provides:` and `requires:`
 * in their manifests): before anything starts, every requirement must have
 * exactly one provider (a plugin, or the host's own services), and no
 * plugin may depend on itself through others. A plugin that breaks a rule,
 * or needs one that cannot run, gets one line saying which plugins and
 * services are involved; the rest run, providers before their consumers.
 */

export interface ServiceNode {
  name: string;
  provides: readonly string[];
  requires: readonly string[];
  /** Why it will not run at all (invalid, unavailable), when it will not. */
  unrunnable?: string;
}

export interface ServiceGraph {
  /** Plugin -> why its services keep it from running. */
  problems: Map<string, string>;
  /** Plugin -> the plugins providing what it requires, each once. */
  providers: Map<string, string[]>;
}

const q = (s: string) => JSON.stringify(s);

export function serviceGraph(nodes: readonly ServiceNode[], hostServes: ReadonlySet<string>): ServiceGraph {
  const problems = new Map<string, string>();
  const providers = new Map<string, string[]>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const providing = new Map<string, string[]>();
  for (const node of nodes) for (const service of node.provides) providing.set(service, [...(providing.get(service) ?? []), node.name]);

  for (const [service, names] of providing) {
    if (names.length > 1) for (const name of names) problems.set(name, `service ${service} is provided by ${names.map(q).join(' and ')}; only one plugin may provide a service`);
  }
  /** Edges to providers, with the service each one is for. */
  const edges = new Map<string, Array<{ to: string; service: string }>>();
  for (const node of nodes) {
    const out: Array<{ to: string; service: string }> = [];
    for (const service of node.requires) {
      if (hostServes.has(service)) continue;
      const names = providing.get(service) ?? [];
      if (names.length === 0) problems.set(node.name, `requires service ${service}, which no plugin provides and the host does not serve`);
      else if (names.length > 1) problems.set(node.name, `requires service ${service}, which ${names.map(q).join(' and ')} all provide`);
      else if (names[0] === node.name) problems.set(node.name, `requires service ${service}, which it provides itself`);
      else out.push({ to: names[0] as string, service });
    }
    edges.set(node.name, out);
    providers.set(node.name, [...new Set(out.map((e) => e.to))]);
  }

  // A cycle: each plugin in it waits for the next to start.
  const state = new Map<string, 'visiting' | 'done'>();
  const path: Array<{ name: string; service?: string }> = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    for (const edge of edges.get(name) ?? []) {
      path.push({ name, service: edge.service });
      if (state.get(edge.to) === 'visiting') {
        const cycle = path.slice(path.findIndex((p) => p.name === edge.to));
        const text = `${cycle.map((p) => `${q(p.name)} (requires ${p.service})`).join(' -> ')} -> ${q(edge.to)}`;
        for (const p of cycle) problems.set(p.name, `is in a cycle of required services: ${text}`);
      } else if (!state.has(edge.to)) visit(edge.to);
      path.pop();
    }
    state.set(name, 'done');
  };
  for (const node of nodes) if (!state.has(node.name)) visit(node.name);

  // A consumer of a provider that will not run will not run either, and says why.
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of nodes) {
      if (problems.has(node.name) || node.unrunnable) continue;
      for (const { to, service } of edges.get(node.name) ?? []) {
        const provider = byName.get(to) as ServiceNode;
        const why = provider.unrunnable ?? problems.get(to);
        if (why === undefined) continue;
        problems.set(node.name, `requires service ${service} from ${q(to)}, which will not run: ${why.split('\n')[0]}`);
        changed = true;
        break;
      }
    }
  }
  return { problems, providers };
}
