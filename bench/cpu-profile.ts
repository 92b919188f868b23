/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the self time
 * went, by category and by function, within a time window. Native frames
 * (no script URL: bindings, V8 builtins) count for the nearest caller that
 * has one, so a socket write made by Node's stream code counts as Node's.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const categories = [
  'Node internals (http2, net, streams, timers, …)',
  'protobuf encode/decode (generated code + @bufbuild/protobuf)',
  'hst (src/)',
  'benchmark harness (bench/)',
  'other libraries',
  'GC',
  'V8 / unattributed ((program))',
  'idle',
] as const;
export type Category = (typeof categories)[number];

export function categorize(url: string, functionName: string): Category | undefined {
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)' || functionName === '(root)') return 'V8 / unattributed ((program))';
  if (!url) return undefined;
  if (url.includes('/node_modules/@bufbuild/protobuf/') || /\/dist\/(src|bench)\/gen\//.test(url)) return 'protobuf encode/decode (generated code + @bufbuild/protobuf)';
  if (url.startsWith('node:')) return 'Node internals (http2, net, streams, timers, …)';
  if (url.includes('/dist/src/')) return 'hst (src/)';
  if (url.includes('/dist/bench/')) return 'benchmark harness (bench/)';
  return 'other libraries';
}

export interface FunctionTime {
  name: string;
  where: string;
  category: Category;
  us: number;
  /** The nearest caller outside Node's own code (a library, hst, the benchmark) that most of this time came through. */
  via: string;
  viaUs: Map<string, number>;
}

export interface ProfileBreakdown {
  /** Microseconds in the window, by category. */
  byCategory: Map<Category, number>;
  /** Functions by self time, largest first. */
  functions: FunctionTime[];
  windowUs: number;
}

/** Self time per category and function for samples taken within [fromUs, toUs] (the profile's clock, CLOCK_MONOTONIC). */
export function analyze(file: string, fromUs: number, toUs: number): ProfileBreakdown {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // The frame a node's time is charged to: itself, or its nearest caller with a script.
  const charged = new Map<number, { frame: ProfileNode; category: Category }>();
  const chargeOf = (id: number): { frame: ProfileNode; category: Category } => {
    const known = charged.get(id);
    if (known) return known;
    const node = byId.get(id) as ProfileNode;
    const own = categorize(node.callFrame.url, node.callFrame.functionName);
    const up = parent.get(id);
    const result = own ? { frame: node, category: own } : up !== undefined ? chargeOf(up) : { frame: node, category: 'V8 / unattributed ((program))' as Category };
    charged.set(id, result);
    return result;
  };

  // Who, outside Node itself, asked for a node's work: the nearest caller with a non-node: script.
  const origins = new Map<number, string>();
  const originOf = (id: number): string => {
    const known = origins.get(id);
    if (known !== undefined) return known;
    const { url, functionName, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
    const up = parent.get(id);
    const result = url && !url.startsWith('node:') ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : up !== undefined ? originOf(up) : '';
    origins.set(id, result);
    return result;
  };

  const byCategory = new Map<Category, number>(categories.map((c) => [c, 0]));
  const byFunction = new Map<string, FunctionTime>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const { frame, category } = chargeOf(profile.samples[i] as number);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
    const { functionName, url, lineNumber } = frame.callFrame;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}\t${where}`;
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, category, us: 0, via: '', viaUs: new Map() };
    entry.us += us;
    const via = parent.has(frame.id) ? originOf(parent.get(frame.id) as number) : '';
    entry.viaUs.set(via, (entry.viaUs.get(via) ?? 0) + us);
    byFunction.set(key, entry);
  }
  for (const f of byFunction.values()) f.via = [...f.viaUs].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  return { byCategory, functions: [...byFunction.values()].sort((a, b) => b.us - a.us), windowUs: toUs - fromUs };
}

/** Paths from node_modules/ or dist/ on, so the table says which package or source file. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  const at = modules >= 0 ? modules : path.lastIndexOf('/dist/');
  return at >= 0 ? path.slice(at + 1) : path;
}
