/**
 * plugin.yaml: everything a plugin declares about itself (how to start it, the
 * handshake, the capabilities it asks for, its CLI commands, its resource
 * limits). It is untrusted input, so it is parsed strictly and every mistake is
 * reported as `<file>:<line>:<col>: <field>: <what is wrong>; expected <what>`:
 * a plugin author should be able to fix a manifest from the message alone.
 *
 * yaml gives node positions and duplicate-key/syntax errors, zod checks the
 * shape; positions are recovered by walking the YAML document along each zod
 * issue's path. See docs/manifest.md for the field reference.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname, posix, resolve } from 'node:path';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { patternProblem as topicPatternProblem } from '../host-services/event-bus.js';
import { ARG_TYPES, JS_IDENTIFIER, typedArgValue, VALUE_TYPES, valueTypeProblem, type ArgType, type ValueType } from './arg-types.js';
import { appCapabilityStyle, capabilityKinds, CapabilityError, parseCapabilityString, type Capability, type CapabilityKind } from './capability.js';

export type { Capability, CapabilityKind } from './capability.js';
export { ARG_TYPES, typedArgValue, VALUE_TYPES, type ArgType, type ValueType } from './arg-types.js';

/** Manifests are small; a bigger file is a mistake or an attack, refused before parsing. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** Anchors and aliases are allowed for reuse, but not to expand the document exponentially. */
const MAX_ALIAS_COUNT = 16;
/** Enough for any real manifest; a message listing more would bury the first mistakes. */
const MAX_LISTED_ISSUES = 20;
/** Node's setTimeout fires at once past 2^31-1 ms, so no call timeout may exceed it. */
const MAX_CALL_TIMEOUT_MS = 2 ** 31 - 1;
const MAX_CAPABILITY_LENGTH = 1024;
/** The deepest field is 7 levels down (exports[].methods[].params[].name); the rest is slack for mistakes and defaults. */
const MAX_NESTING = 16;

export type Runtime = 'node' | 'binary' | 'python';

export interface ManifestCommandArg {
  name: string;
  help?: string;
  required: boolean;
  default?: string;
  pattern?: string;
  /** Default `string`. */
  type: ArgType;
}


export interface ManifestCommand {
  name: string;
  help: string;
  usage?: string;
  args: ManifestCommandArg[];
}

export interface ManifestResources {
  memoryMb?: number;
  callTimeoutMs?: number;
  cpuSeconds?: number;
  maxOpenFiles?: number;
}

/** One parameter of an exported function or method; the host checks each argument against it before the call. */
export interface ManifestParam {
  name: string;
  type: ValueType;
  /** Whether the caller may leave it out; true when it has a default. */
  optional: boolean;
  /** What the host passes when the caller leaves it out. */
  default?: unknown;
  help?: string;
}

/** How a function or method is called, when the manifest says: without params any arguments pass unchecked. */
export interface ManifestSignature {
  params?: ManifestParam[];
  /** `none` for a call that returns nothing (null). */
  returns?: ValueType | 'none';
}

export type ManifestMethod = ManifestSignature & { name: string };

/** What a plugin exports as a JavaScript module (`import m from 'plugin:<name>'`). */
export type ManifestExport = (ManifestSignature & { name: string; type: 'function' }) | { name: string; type: 'object'; methods: ManifestMethod[] };

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An HTTP route the plugin serves under the dashboard's /plugins/<name>/ (capability http.route). */
export interface ManifestRoute {
  method: RouteMethod;
  /** `/notes/:id`; a final `*` takes the rest of the path. */
  path: string;
  /** The name the plugin's http handlers know it by. */
  handler: string;
  description?: string;
}

/** HTML the plugin renders for the dashboard, shown in a sandboxed frame. */
export interface ManifestWidget {
  id: string;
  title: string;
  handler: string;
  /** The dashboard's widgets page, or the plugin's own page. */
  location: 'dashboard' | 'plugin';
  size: 'small' | 'medium' | 'large';
}

export interface Manifest {
  name: string;
  version: string;
  description: string;
  runtime: Runtime;
  /** Relative to `dir`: the .js entry for node, the .py for python, the executable for binary. */
  command: string;
  args: string[];
  handshake: { protocolVersions: number[]; magicCookieKey: string; magicCookieValue: string };
  /** Validated capability strings; parseCapability gives their structure. */
  capabilities: string[];
  requires: string[];
  provides: string[];
  commands: ManifestCommand[];
  exports: ManifestExport[];
  routes: ManifestRoute[];
  widgets: ManifestWidget[];
  resources: ManifestResources;
  /** Absolute directory of the manifest. */
  dir: string;
  /** Absolute path of the manifest. */
  file: string;
}

export interface ManifestIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path in the file's own (snake_case) names, e.g. `commands[1].args[0].name`. */
  field: string;
  problem: string;
  expected: string;
}

/** Field for problems with the file as a whole rather than one field in it. */
const WHOLE_FILE = '(manifest)';
/** Field for YAML syntax errors. */
const YAML_SYNTAX = '(yaml)';

function formatIssue(i: ManifestIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.field}: ${i.problem}; expected ${i.expected}`;
}

/**
 * Every problem found in a manifest, one per line in the message, ordered by
 * position. The properties describe the first one.
 */
export class ManifestError extends Error {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  readonly problem: string;
  readonly expected: string;
  readonly issues: readonly ManifestIssue[];

  constructor(issues: ManifestIssue[]) {
    const first = issues[0];
    if (!first) throw new TypeError('a ManifestError needs at least one issue');
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map(formatIssue);
    if (issues.length > MAX_LISTED_ISSUES) listed.push(`... and ${issues.length - MAX_LISTED_ISSUES} more`);
    super(listed.join('\n'));
    this.name = 'ManifestError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.field = first.field;
    this.problem = first.problem;
    this.expected = first.expected;
    this.issues = issues;
  }
}

// ---------------------------------------------------------------- capabilities

interface KindRule {
  syntax: string;
  /** Why the pattern is invalid, or undefined; absent for kinds that take no pattern. */
  patternProblem?: (pattern: string) => string | undefined;
  example?: string;
}

/** Typed by capability.ts's kinds, so a kind added there does not compile until it is validated here. */
const KINDS: Record<CapabilityKind, KindRule> = {
  'fs.read': { syntax: 'fs.read:<glob>', patternProblem: globProblem, example: 'fs.read:src/**' },
  'fs.write': { syntax: 'fs.write:<glob>', patternProblem: globProblem, example: 'fs.write:$tmp/**' },
  env: { syntax: 'env:<NAME|PREFIX_*>', patternProblem: envProblem, example: 'env:HOME or env:APP_*' },
  exec: { syntax: 'exec:<absolute path>', patternProblem: execProblem, example: 'exec:/usr/bin/git' },
  net: {
    syntax: 'net:<host[:port]|*.domain>',
    patternProblem: netProblem,
    example: 'net:api.example.com:443, net:10.0.0.1, net:[::1]:8080 or net:*.example.com',
  },
  kv: { syntax: 'kv' },
  temp: { syntax: 'temp' },
  system: { syntax: 'system' },
  'process.spawn': { syntax: 'process.spawn' },
  'events.publish': {
    syntax: 'events.publish:<topic glob>',
    patternProblem: topicPatternProblem,
    example: 'events.publish:builds.*.done',
  },
  'events.subscribe': {
    syntax: 'events.subscribe:<topic glob>',
    patternProblem: topicPatternProblem,
    example: 'events.subscribe:builds.>',
  },
  log: { syntax: 'log' },
  service: {
    syntax: 'service:<full.Service.Name>/<method glob>',
    patternProblem: (p) => (/^[A-Za-z0-9_.*]+\/[A-Za-z0-9_*]+$/.test(p) ? undefined : 'expected a service\'s full name, "/", and a method or a glob of methods'),
    example: 'service:acme.store.v1.Store/*',
  },
  'http.route': { syntax: 'http.route:<path glob>', patternProblem: globProblem, example: 'http.route:** or http.route:widgets/*' },
};

const ALL_CAPABILITIES = `one of ${Object.values(KINDS)
  .map((k) => k.syntax)
  .join(', ')}`;

/**
 * hst's kinds, then those the host application defined for the services it
 * added. An unknown kind outside hst's families (notes.read, not fs.raed) may
 * be an application's whose module was not loaded: the hint says how.
 */
function allCapabilities(kind: string): string {
  const app = capabilityKinds().filter((k) => !isKind(k));
  if (app.length > 0) return `${ALL_CAPABILITIES}, or one this host's own services define: ${app.map((k) => appKindRule(k, appCapabilityStyle(k) ?? 'flag').syntax).join(', ')}`;
  const family = kind.split('.')[0] ?? '';
  if (Object.keys(KINDS).some((k) => k.split('.')[0] === family)) return ALL_CAPABILITIES;
  return `${ALL_CAPABILITIES}, or a kind a host service of the application defines (PluginManager's hostServices, hst --host-services <module>)`;
}

function appKindRule(kind: string, style: 'flag' | 'glob'): KindRule {
  return style === 'flag' ? { syntax: kind } : { syntax: `${kind}:<glob>`, patternProblem: globProblem, example: `${kind}:**` };
}

function isKind(name: string): name is CapabilityKind {
  return Object.hasOwn(KINDS, name);
}

/** What is wrong with a capability string and what its kind accepts, or undefined when it is valid. */
function capabilityProblem(s: string): Finding | undefined {
  const shown = JSON.stringify(s);
  if (s.length > MAX_CAPABILITY_LENGTH) {
    return { problem: `the capability is longer than ${MAX_CAPABILITY_LENGTH} characters`, expected: ALL_CAPABILITIES };
  }
  const body = s.startsWith('deny:') ? s.slice('deny:'.length) : s;
  const colon = body.indexOf(':');
  const kind = colon < 0 ? body : body.slice(0, colon);
  const pattern = colon < 0 ? undefined : body.slice(colon + 1);
  const app = appCapabilityStyle(kind);
  if (!isKind(kind) && !app) return { problem: `${shown} is not a capability`, expected: allCapabilities(kind) };
  const rule = app ? appKindRule(kind, app) : KINDS[kind as CapabilityKind];
  const expected = rule.example ? `${rule.syntax}, such as ${rule.example}` : rule.syntax;
  if (!rule.patternProblem)
    return pattern === undefined ? undefined : { problem: `${shown}: ${kind} takes no pattern`, expected };
  if (pattern === undefined || pattern === '') return { problem: `${shown}: ${kind} needs a pattern`, expected };
  const problem = rule.patternProblem(pattern);
  return problem ? { problem: `${shown} is not a valid ${kind} capability: ${problem}`, expected } : undefined;
}

/**
 * Parses `kind[:pattern]`, or `deny:kind[:pattern]` for a deny rule, checking
 * the pattern in full (capability.ts's parser checks only the shape). Throws a
 * CapabilityError saying what is wrong and what the kind accepts.
 */
export function parseCapability(s: string): Capability {
  const finding = capabilityProblem(s);
  if (finding) throw new CapabilityError(`${finding.problem}; expected ${finding.expected}`);
  return parseCapabilityString(s);
}

/** Globs are matched against workspace-relative paths, so anything else could never match or would mislead. */
function globProblem(glob: string): string | undefined {
  if (glob.includes('\0')) return 'the glob contains NUL';
  if (glob.includes('\\')) return 'the glob contains a backslash (segments are separated by "/")';
  if (glob.startsWith('!')) return 'negated globs are not supported (write a deny: rule)';
  const expansions = braceExpansions(glob);
  if (!expansions) return `the glob has more than ${MAX_BRACE_EXPANSIONS} brace alternatives`;
  // Checked after brace expansion so that "{..,src}/x" or "{/etc,a}" cannot hide a bad path.
  for (const path of expansions) {
    if (path.startsWith('/')) return 'the glob is absolute (globs are relative to the workspace)';
    for (const segment of path.split('/')) {
      if (segment === '') return 'the glob has an empty segment ("//" or a trailing "/")';
      if (segment === '..') return '".." segments are not allowed';
      if (segment === '.') return '"." segments are not allowed';
    }
  }
  return undefined;
}

const MAX_BRACE_EXPANSIONS = 256;

/** Every path a glob's `{a,b}` alternations stand for, or undefined past the cap. */
function braceExpansions(glob: string): string[] | undefined {
  const done: string[] = [];
  const pending = [glob];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const group = firstAlternation(next);
    if (!group) done.push(next);
    else
      for (const alternative of group.alternatives)
        pending.push(next.slice(0, group.start) + alternative + next.slice(group.end));
    if (done.length + pending.length > MAX_BRACE_EXPANSIONS) return undefined;
  }
  return done;
}

/** The innermost-first `{...}` holding a top-level comma; `{1..3}` ranges are not alternations. */
function firstAlternation(glob: string): { start: number; end: number; alternatives: string[] } | undefined {
  const opens: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '{') opens.push(i);
    else if (glob[i] === '}' && opens.length > 0) {
      const start = opens.pop()!;
      const alternatives = splitTopLevel(glob.slice(start + 1, i));
      if (alternatives.length > 1) return { start, end: i + 1, alternatives };
    }
  }
  return undefined;
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '{') depth++;
    else if (body[i] === '}') depth--;
    else if (body[i] === ',' && depth === 0) {
      parts.push(body.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(body.slice(from));
  return parts;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const ENV_PREFIX = /^[A-Z_][A-Z0-9_]*_\*$/;

function envProblem(pattern: string): string | undefined {
  if (ENV_NAME.test(pattern) || ENV_PREFIX.test(pattern)) return undefined;
  if (pattern === '*') return 'a bare "*" would grant every variable (name a PREFIX_*)';
  if (pattern !== pattern.toUpperCase()) return 'variable names are uppercase';
  if (pattern.endsWith('*')) return 'a prefix is A-Z, 0-9 and _ and ends with "_" before the "*"';
  return 'a variable name is A-Z, 0-9 and _, not starting with a digit';
}

function execProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'the path contains NUL';
  if (!path.startsWith('/')) return 'the path is not absolute';
  if (/[*?[\]{}]/.test(path)) return 'exec names one program, not a glob';
  if (path === '/' || path.endsWith('/')) return 'the path names a directory';
  if (posix.normalize(path) !== path) return 'the path is not clean (it has ".", ".." or empty segments)';
  return undefined;
}

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function netProblem(pattern: string): string | undefined {
  let host: string;
  let port: string | undefined;
  let hostProblem: string | undefined;
  if (pattern.startsWith('[')) {
    const close = pattern.indexOf(']');
    if (close < 0) return 'the IPv6 literal has no closing "]"';
    host = pattern.slice(1, close);
    const rest = pattern.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return 'only ":<port>" may follow an IPv6 literal';
    if (rest !== '') port = rest.slice(1);
    if (!isIPv6(host) || host.includes('%')) hostProblem = `"${host}" is not an IPv6 address`;
  } else {
    const colon = pattern.indexOf(':');
    if (colon !== pattern.lastIndexOf(':')) return 'IPv6 literals go in brackets, such as [::1]:8080';
    host = colon < 0 ? pattern : pattern.slice(0, colon);
    if (colon >= 0) port = pattern.slice(colon + 1);
    if (host === '*') hostProblem = 'a bare "*" would allow every host (write *.domain)';
    else if (host.startsWith('*.')) hostProblem = hostnameProblem(host.slice(2));
    else if (/^[0-9.]+$/.test(host)) hostProblem = IPV4.test(host) ? undefined : `"${host}" is not an IPv4 address`;
    else hostProblem = hostnameProblem(host);
  }
  if (hostProblem) return hostProblem;
  if (port !== undefined && !(/^[1-9][0-9]{0,4}$/.test(port) && Number(port) <= 65535)) {
    return `the port "${port}" is not a number from 1 to 65535`;
  }
  return undefined;
}

function hostnameProblem(host: string): string | undefined {
  if (host === '') return 'the host is empty';
  if (host !== host.toLowerCase()) return 'hostnames are lowercase';
  if (host.length > 253) return 'the hostname is longer than 253 characters';
  const labels = host.split('.');
  for (const label of labels) {
    if (label === '') return 'the hostname has an empty label';
    if (!HOST_LABEL.test(label))
      return `"${label}" is not a hostname label (a-z, 0-9 and "-", at most 63, no "-" at either end)`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return `"${host}" is neither a hostname nor an IPv4 address`;
  return undefined;
}

// ---------------------------------------------------------------- durations

const DURATION = /^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /([0-9]+)(?:\.([0-9]+))?(ms|s|m|h)/g;
const UNIT_MS: Record<string, bigint> = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n };

/**
 * Milliseconds in a duration like "500ms", "5s", "2m", "1h30m" or "1.5s", or in
 * a number of milliseconds. Throws a RangeError unless the result is a whole
 * number of milliseconds from 1 to 2^31-1.
 */
export function parseDuration(value: string | number): number {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`${value} is not a whole number of milliseconds`);
    ms = value;
  } else {
    if (!DURATION.test(value)) throw new RangeError(`${JSON.stringify(value)} is not a duration`);
    // Exact decimal arithmetic: 1.1s must be 1100 ms, not 1100.0000000000002.
    let total = 0n;
    for (const [, whole, fraction = '', unit] of value.matchAll(DURATION_PART)) {
      const scale = 10n ** BigInt(fraction.length);
      const scaled = BigInt(whole! + fraction) * UNIT_MS[unit!]!;
      if (scaled % scale !== 0n) throw new RangeError(`${JSON.stringify(value)} is not a whole number of milliseconds`);
      total += scaled / scale;
    }
    ms = total > BigInt(MAX_CALL_TIMEOUT_MS) ? Infinity : Number(total);
  }
  if (ms <= 0) throw new RangeError(`${JSON.stringify(value)} is not positive`);
  if (ms > MAX_CALL_TIMEOUT_MS)
    throw new RangeError(`${JSON.stringify(value)} is longer than ${MAX_CALL_TIMEOUT_MS} ms`);
  return ms;
}

// ---------------------------------------------------------------- schema

type PathKey = string | number;

/** A rule's finding; `expected` overrides the field's usual expectation, `firstPath` points at an earlier duplicate. */
interface Finding {
  problem: string;
  expected?: string;
  firstPath?: PathKey[];
}

const PLUGIN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Whether `name` may name a plugin (a manifest's `name`, or the `<name>` of a file hst-plugin-<name>). */
export function isPluginName(name: string): boolean {
  return PLUGIN_NAME.test(name);
}
const NUMERIC_ID = '(?:0|[1-9][0-9]*)';
const PRERELEASE_ID = `(?:${NUMERIC_ID}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^${NUMERIC_ID}\\.${NUMERIC_ID}\\.${NUMERIC_ID}` +
    `(?:-${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*)?` +
    `(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?$`,
);
const COMMAND_NAME = /^[a-z][a-z0-9-]{0,63}$/;
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._/@-]{0,127}$/;
const COOKIE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Help and descriptions are printed to terminals: no escape sequences, no bidi overrides that disguise text. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/** What each field accepts, by path with list indices as `[]`; used for every issue on that field. */
const EXPECTED: Record<string, string> = {
  '': 'a mapping of manifest fields',
  name: 'a plugin name of a-z, 0-9 and "-", starting with a letter or digit, at most 63 characters',
  version: 'a semver 2.0 version such as "1.2.3" or "2.0.0-rc.1+build.5"',
  description: 'text without control characters',
  runtime: 'one of node, binary, python',
  command: 'a path relative to the manifest directory, without "..", empty segments or backslashes',
  args: 'a list of strings',
  'args[]': 'a string without NUL (quote numbers and booleans)',
  handshake: 'a mapping with magic_cookie_key, magic_cookie_value and optionally protocol_versions',
  'handshake.protocol_versions': 'a non-empty list of distinct positive integers',
  'handshake.protocol_versions[]': 'a positive integer',
  'handshake.magic_cookie_key': 'an environment variable name (A-Z, a-z, 0-9 and _, not starting with a digit)',
  'handshake.magic_cookie_value': 'a non-empty string without NUL',
  capabilities: 'a list of distinct capabilities',
  'capabilities[]': ALL_CAPABILITIES,
  requires: 'a list of distinct service names',
  'requires[]':
    'a service name of letters, digits and . _ / @ -, starting with a letter or digit, at most 128 characters',
  provides: 'a list of distinct service names',
  'provides[]':
    'a service name of letters, digits and . _ / @ -, starting with a letter or digit, at most 128 characters',
  commands: 'a list of commands with distinct names',
  'commands[]': 'a mapping with name, help and optionally usage and args',
  'commands[].name': 'a command name of a-z, 0-9 and "-", starting with a letter, at most 64 characters',
  'commands[].help': 'a non-empty help text without control characters',
  'commands[].usage': 'a usage line without control characters',
  'commands[].args': 'a list of arguments with distinct names',
  'commands[].args[]': 'a mapping with name and optionally help, required, default, pattern and type',
  'commands[].args[].name': 'an argument name of a-z, 0-9 and "-", starting with a letter, at most 64 characters',
  'commands[].args[].help': 'a help text without control characters',
  'commands[].args[].required': 'true or false',
  'commands[].args[].default': 'a string matching the pattern, only on optional arguments (quote numbers and booleans)',
  'commands[].args[].pattern': 'a JavaScript regular expression (u flag)',
  'commands[].args[].type': `one of ${ARG_TYPES.join(', ')} (default string): the type the plugin gets the value as`,
  exports: 'a list of exports with distinct names',
  'exports[]': 'a mapping with name, type (function or object) and, for a function, optionally params and returns, for an object, methods',
  'exports[].name': 'a JavaScript identifier of letters, digits, "_" and "$", not starting with a digit, at most 64 characters',
  'exports[].type': 'function or object',
  'exports[].methods': 'a list of distinct methods, at least one, only on an object',
  'exports[].methods[]': 'a method name (a JavaScript identifier), or a mapping with name and optionally params and returns',
  'exports[].methods[].name': 'a JavaScript identifier of letters, digits, "_" and "$", not starting with a digit, at most 64 characters',
  ...signatureExpectations('exports[]'),
  ...signatureExpectations('exports[].methods[]'),
  routes: 'a list of routes, each method and path once',
  'routes[]': 'a mapping with method, path, handler and optionally description',
  'routes[].method': 'GET, POST, PUT, PATCH or DELETE',
  'routes[].path': 'a path from "/" of literal segments (letters, digits, . _ ~ -), :parameters and a final *, not under /widgets',
  'routes[].handler': 'a handler name of letters, digits, "_", "." and "-", starting with a letter, at most 64 characters',
  'routes[].description': 'a text without control characters',
  widgets: 'a list of widgets with distinct ids',
  'widgets[]': 'a mapping with id, title, handler and optionally location and size',
  'widgets[].id': 'an id of a-z, 0-9 and "-", starting with a letter, at most 64 characters',
  'widgets[].title': 'a non-empty title without control characters',
  'widgets[].handler': 'a handler name of letters, digits, "_", "." and "-", starting with a letter, at most 64 characters',
  'widgets[].location': 'dashboard (the widgets page, the default) or plugin (the plugin\'s page)',
  'widgets[].size': 'small, medium (the default) or large',
  resources: 'a mapping with memory_mb, call_timeout, cpu or max_open_files',
  'resources.memory_mb': 'a positive integer number of MiB',
  'resources.call_timeout': `a duration such as "500ms", "5s", "2m" or "1h30m", or a whole number of milliseconds, from 1 ms to ${MAX_CALL_TIMEOUT_MS} ms`,
  'resources.cpu': 'a positive integer number of CPU seconds',
  'resources.max_open_files': 'a positive integer',
};

/** What params and returns expect, on a function export (`exports[]`) or a method (`exports[].methods[]`). */
function signatureExpectations(at: string): Record<string, string> {
  return {
    [`${at}.params`]: 'a list of parameters with distinct names, required ones first',
    [`${at}.params[]`]: 'a mapping with name and optionally type, optional, default and help',
    [`${at}.params[].name`]: 'a JavaScript identifier of letters, digits, "_" and "$", not starting with a digit, at most 64 characters',
    [`${at}.params[].type`]: `one of ${VALUE_TYPES.join(', ')} (default json: any JSON-like value)`,
    [`${at}.params[].optional`]: 'true or false',
    [`${at}.params[].default`]: "a JSON-like value of the parameter's type, passed when the caller leaves it out",
    [`${at}.params[].help`]: 'a help text without control characters',
    [`${at}.returns`]: `one of ${VALUE_TYPES.join(', ')}, or none`,
  };
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A schema whose values must also pass `check`, which returns the problem or undefined. */
function rule<T extends z.ZodType>(schema: T, check: (value: z.output<T>) => string | undefined): T {
  return schema.superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined)
      ctx.addIssue({ code: 'custom', message: problem, params: { problem } satisfies Finding });
  });
}

const matching = (re: RegExp, what: string) =>
  rule(z.string(), (v) => (re.test(v) ? undefined : `${show(v)} is not ${what}`));
const displayText = (nonEmpty: boolean) =>
  rule(z.string(), (v) =>
    nonEmpty && v.trim() === ''
      ? 'the text is empty'
      : CONTROL.test(v)
        ? 'the text contains control characters'
        : undefined,
  );
const positiveInt = rule(z.int(), (v) => (v > 0 ? undefined : `${v} is not positive`));
const withoutNul = (nonEmpty: boolean) =>
  rule(z.string(), (v) =>
    nonEmpty && v === '' ? 'the string is empty' : v.includes('\0') ? 'the string contains NUL' : undefined,
  );

function commandPathProblem(path: string): string | undefined {
  if (path === '') return 'the path is empty';
  if (path.includes('\0')) return 'the path contains NUL';
  if (path.includes('\\')) return 'the path contains a backslash (segments are separated by "/")';
  if (path.startsWith('/')) return `${show(path)} is absolute`;
  const segments = path.split('/');
  if (segments.includes('..')) return `${show(path)} has a ".." segment`;
  if (segments.includes('')) return `${show(path)} has an empty segment`;
  if (segments[segments.length - 1] === '.') return `${show(path)} names a directory`;
  return undefined;
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
    return undefined;
  } catch (err) {
    return `${show(pattern)} is not a valid regular expression: ${(err as Error).message}`;
  }
}

const argShape = {
  name: matching(COMMAND_NAME, 'an argument name'),
  help: displayText(false).optional(),
  required: z.boolean().default(false),
  default: z.string().optional(),
  pattern: rule(z.string(), regexProblem).optional(),
  type: z.enum(ARG_TYPES).default('string'),
};

const argSchema = z.strictObject(argShape).superRefine((arg, ctx) => {
  const fail = (problem: string) =>
    ctx.addIssue({ code: 'custom', message: problem, path: ['default'], params: { problem } });
  if (arg.default === undefined) return;
  const typed = typedArgValue(arg.type, arg.default);
  if (arg.required) fail('a required argument cannot have a default');
  else if ('problem' in typed) fail(`${show(arg.default)} ${typed.problem}, as a ${arg.type} argument's default must be`);
  // An invalid pattern is reported on its own field; it cannot judge the default.
  else if (arg.pattern !== undefined && !regexProblem(arg.pattern) && !new RegExp(arg.pattern, 'u').test(arg.default)) {
    fail(`${show(arg.default)} does not match the pattern ${show(arg.pattern)}`);
  }
});

const commandShape = {
  name: matching(COMMAND_NAME, 'a command name'),
  help: displayText(true),
  usage: displayText(false).optional(),
  args: z.array(argSchema).default(() => []),
};

const handshakeShape = {
  protocol_versions: rule(z.array(positiveInt), (v) => (v.length === 0 ? 'the list is empty' : undefined)).default(
    () => [1],
  ),
  magic_cookie_key: matching(COOKIE_KEY, 'an environment variable name'),
  magic_cookie_value: withoutNul(true),
};

const resourcesShape = {
  memory_mb: positiveInt.optional(),
  call_timeout: z
    .unknown()
    .transform((value, ctx) => {
      let problem = `the value is ${kindOf(value)}`;
      if (typeof value === 'string' || typeof value === 'number') {
        try {
          return parseDuration(value);
        } catch (err) {
          problem = (err as Error).message;
        }
      }
      ctx.addIssue({ code: 'custom', message: problem, params: { problem } satisfies Finding });
      return z.NEVER;
    })
    .optional(),
  cpu: positiveInt.optional(),
  max_open_files: positiveInt.optional(),
};

const capabilitySchema = z.string().superRefine((value, ctx) => {
  const finding = capabilityProblem(value);
  if (finding) ctx.addIssue({ code: 'custom', message: finding.problem, params: finding });
});

const serviceNames = z.array(matching(SERVICE_NAME, 'a service name')).default(() => []);


const paramShape = {
  name: matching(JS_IDENTIFIER, 'a JavaScript identifier'),
  type: z.enum(VALUE_TYPES).default('json'),
  optional: z.boolean().default(false),
  default: z.json().optional(),
  help: displayText(false).optional(),
};

const paramSchema = z.strictObject(paramShape).superRefine((param, ctx) => {
  if (param.default === undefined) return;
  const problem = valueTypeProblem(param.type, param.default);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['default'], params: { problem: `${show(param.default)}: ${problem}`, expected: `a default of the parameter's type (${param.type})` } });
});

/** params and returns, on a function export or an object's method. */
const callShape = {
  params: z.array(paramSchema).optional(),
  returns: z.enum([...VALUE_TYPES, 'none']).optional(),
};

const methodShape = { name: matching(JS_IDENTIFIER, 'a JavaScript identifier'), ...callShape };

/** A method is its name alone, or a mapping that also gives its signature. */
const methodSchema = z.preprocess((m) => (typeof m === 'string' ? { name: m } : m), z.strictObject(methodShape));

const exportShape = {
  name: matching(JS_IDENTIFIER, 'a JavaScript identifier'),
  type: z.enum(['function', 'object']),
  methods: z.array(methodSchema).optional(),
  ...callShape,
};

const ROUTE_SEGMENT = '(?:[A-Za-z0-9._~-]+|:[A-Za-z_][A-Za-z0-9_]*)';
/** `/`, or segments that are literal or `:name`, the last of them possibly `*`. */
const ROUTE_PATH = new RegExp(`^/$|^(?:/${ROUTE_SEGMENT})*(?:/${ROUTE_SEGMENT}|/\\*)$`);
const HANDLER_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

const routeShape = {
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: rule(z.string(), (p) =>
    !ROUTE_PATH.test(p) || p.length > 256
      ? `${show(p)} is not a route path`
      : p === '/widgets' || p.startsWith('/widgets/')
        ? `${show(p)} is under /widgets, where the plugin's widgets are served`
        : undefined,
  ),
  handler: matching(HANDLER_NAME, 'a handler name'),
  description: displayText(false).optional(),
};

const widgetShape = {
  id: matching(/^[a-z][a-z0-9-]{0,63}$/, 'a widget id'),
  title: displayText(true),
  handler: matching(HANDLER_NAME, 'a handler name'),
  location: z.enum(['dashboard', 'plugin']).default('dashboard'),
  size: z.enum(['small', 'medium', 'large']).default('medium'),
};

const manifestShape = {
  name: matching(PLUGIN_NAME, 'a plugin name'),
  version: matching(SEMVER, 'a semver 2.0 version'),
  description: displayText(false).default(''),
  runtime: z.enum(['node', 'binary', 'python']),
  command: rule(z.string(), commandPathProblem),
  args: z.array(withoutNul(false)).default(() => []),
  handshake: z.strictObject(handshakeShape),
  capabilities: z.array(capabilitySchema).default(() => []),
  requires: serviceNames,
  provides: serviceNames,
  commands: z.array(z.strictObject(commandShape)).default(() => []),
  exports: z.array(z.strictObject(exportShape)).default(() => []),
  routes: z.array(z.strictObject(routeShape)).default(() => []),
  widgets: z.array(z.strictObject(widgetShape)).default(() => []),
  resources: z.strictObject(resourcesShape).default(() => ({})),
};

/** The keys each mapping accepts, for unknown-key messages. */
const KEYS: Record<string, string[]> = {
  '': Object.keys(manifestShape),
  handshake: Object.keys(handshakeShape),
  'commands[]': Object.keys(commandShape),
  'commands[].args[]': Object.keys(argShape),
  'exports[]': Object.keys(exportShape),
  'routes[]': Object.keys(routeShape),
  'widgets[]': Object.keys(widgetShape),
  'exports[].params[]': Object.keys(paramShape),
  'exports[].methods[]': Object.keys(methodShape),
  'exports[].methods[].params[]': Object.keys(paramShape),
  resources: Object.keys(resourcesShape),
};

const ENTRY_EXTENSIONS: Partial<Record<Runtime, RegExp>> = { node: /\.(?:js|mjs|cjs)$/, python: /\.py$/ };

/** Rules across fields or list items; they run once every field has the right shape. */
const manifestSchema = z.strictObject(manifestShape).superRefine((m, ctx) => {
  const add = (path: PathKey[], finding: Finding) =>
    ctx.addIssue({ code: 'custom', message: finding.problem, path, params: finding });
  /** `within` is the path inside each item to point at, e.g. ['name']. */
  const distinct = (path: PathKey[], values: readonly unknown[], what: string, within: PathKey[] = []) => {
    const seen = new Map<string, number>();
    values.forEach((value, i) => {
      const key = JSON.stringify(value);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else {
        add([...path, i, ...within], {
          problem: `duplicate ${what} ${show(value)}`,
          expected: `each ${what} once`,
          firstPath: [...path, first, ...within],
        });
      }
    });
  };
  const entry = ENTRY_EXTENSIONS[m.runtime];
  if (entry && !entry.test(m.command)) {
    add(['command'], {
      problem: `${show(m.command)} is not a ${m.runtime} entry point`,
      expected: m.runtime === 'node' ? 'a .js, .mjs or .cjs file for runtime node' : 'a .py file for runtime python',
    });
  }
  distinct(['handshake', 'protocol_versions'], m.handshake.protocol_versions, 'protocol version');
  distinct(['capabilities'], m.capabilities, 'capability');
  distinct(['requires'], m.requires, 'service');
  distinct(['provides'], m.provides, 'service');
  m.commands.forEach((command, i) => {
    distinct(
      ['commands', i, 'args'],
      command.args.map((a) => a.name),
      'argument name',
      ['name'],
    );
  });
  distinct(
    ['commands'],
    m.commands.map((c) => c.name),
    'command name',
    ['name'],
  );
  distinct(
    ['exports'],
    m.exports.map((e) => e.name),
    'export name',
    ['name'],
  );
  /** A signature's params: distinct names, and no required one after an optional one (a call fills them in order). */
  const checkParams = (path: PathKey[], params: ReadonlyArray<{ name: string; optional: boolean; default?: unknown }> | undefined) => {
    if (!params) return;
    distinct(path, params.map((p) => p.name), 'parameter name', ['name']);
    const firstOptional = params.findIndex((p) => p.optional || p.default !== undefined);
    params.forEach((p, i) => {
      if (firstOptional >= 0 && i > firstOptional && !p.optional && p.default === undefined) {
        add([...path, i, 'name'], { problem: `the required parameter ${show(p.name)} follows the optional ${show(params[firstOptional]!.name)}`, expected: 'required parameters first, then optional ones' });
      }
    });
  };
  distinct(
    ['routes'],
    m.routes.map((r) => `${r.method} ${r.path.replace(/:[A-Za-z0-9_]+/g, ':')}`),
    'route (method and path)',
    ['path'],
  );
  distinct(
    ['widgets'],
    m.widgets.map((w) => w.id),
    'widget id',
    ['id'],
  );
  m.exports.forEach((e, i) => {
    if (e.type === 'function' && e.methods !== undefined) add(['exports', i, 'methods'], { problem: 'a function export has no methods', expected: 'type: object for an export with methods' });
    if (e.type === 'object' && (e.methods ?? []).length === 0) add(['exports', i, 'type'], { problem: `the object export ${show(e.name)} has no methods`, expected: 'methods: [one, or, more]' });
    for (const key of ['params', 'returns'] as const) {
      if (e.type === 'object' && e[key] !== undefined) add(['exports', i, key], { problem: `an object export has no ${key} of its own`, expected: `${key} on each of its methods` });
    }
    distinct(['exports', i, 'methods'], (e.methods ?? []).map((method) => method.name), 'method name', ['name']);
    checkParams(['exports', i, 'params'], e.params);
    (e.methods ?? []).forEach((method, j) => checkParams(['exports', i, 'methods', j, 'params'], method.params));
  });
});

type ParsedManifest = z.output<typeof manifestSchema>;

// ---------------------------------------------------------------- positions

type ParsedDocument = Document.Parsed;

/** Turns offsets and YAML/zod findings into issues with line:column. */
class IssueSink {
  readonly issues: ManifestIssue[] = [];
  private readonly offsets: number[] = [];

  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  add(offset: number, field: string, problem: string, expected: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.issues.push({ file: this.file, line, column: col, field, problem, expected });
    this.offsets.push(offset);
  }

  position(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${line}:${col}`;
  }

  /** The issues so far, first in the file first. */
  error(): ManifestError {
    const order = this.issues.map((_, i) => i).sort((a, b) => this.offsets[a]! - this.offsets[b]! || a - b);
    return new ManifestError(order.map((i) => this.issues[i]!));
  }
}

function dotted(path: readonly PathKey[], index: (i: number) => string): string {
  return path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${index(key)}]` : name === '' ? key : `${name}.${key}`),
    '',
  );
}

function fieldName(path: readonly PathKey[]): string {
  return path.length === 0 ? WHOLE_FILE : dotted(path, String);
}

/** The EXPECTED/KEYS lookup key: list indices become `[]`. */
function fieldPattern(path: readonly PathKey[]): string {
  return dotted(path, () => '');
}

function nodeStart(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.source === '';
}

interface Location {
  /** Where to point: the value, or its key when the value is missing or empty. */
  offset: number;
  keyOffset?: number;
  node?: unknown;
}

/** Follows `path` through the document as far as it exists. */
function locate(doc: ParsedDocument, path: readonly PathKey[]): Location {
  let node: unknown = doc.contents;
  let here: Location = { offset: nodeStart(node) ?? 0, node };
  for (const key of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return { offset: here.keyOffset ?? here.offset };
      const keyOffset = nodeStart(pair.key) ?? here.offset;
      const valueOffset = isEmptyScalar(pair.value) ? undefined : nodeStart(pair.value);
      node = pair.value;
      here = { offset: valueOffset ?? keyOffset, keyOffset, node };
    } else if (isSeq(node) && typeof key === 'number' && node.items[key] !== undefined) {
      node = node.items[key];
      here = { offset: nodeStart(node) ?? here.offset, node };
    } else {
      return { offset: here.offset };
    }
  }
  return here;
}

/** The path of the deepest node at `offset`, for duplicate-key errors that only carry an offset. */
function pathAt(doc: ParsedDocument, offset: number): PathKey[] {
  const path: PathKey[] = [];
  let node: unknown = doc.contents;
  const contains = (n: unknown) => {
    const r = isNode(n) ? n.range : undefined;
    return r != null && r[0] <= offset && offset < Math.max(r[2], r[0] + 1);
  };
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key) || contains(p.value));
      if (!pair || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex(contains);
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

/** Visits every node with its path, below it only when `visit` says so; aliases are visited, not followed. */
function walk(node: unknown, path: PathKey[], visit: (node: Node, path: PathKey[]) => boolean): void {
  if (!isNode(node) || !visit(node, path)) return;
  if (isMap(node)) {
    for (const pair of node.items) if (isScalar(pair.key)) walk(pair.value, [...path, String(pair.key.value)], visit);
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, [...path, i], visit));
  }
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

/** The value as written in the file where that is a scalar, e.g. `1.0` rather than `1`. */
function written(node: unknown, value: unknown): string {
  if (isScalar(node) && typeof node.source === 'string' && typeof value !== 'string') return node.source;
  return show(value);
}

function valueAt(data: unknown, path: readonly PathKey[]): unknown {
  let value = data;
  for (const key of path)
    value = value && typeof value === 'object' ? (value as Record<PathKey, unknown>)[key] : undefined;
  return value;
}

const toSnakeCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function unknownKeyHint(key: string, allowed: readonly string[], path: readonly PathKey[]): string {
  // Earlier manifests had a signature block that nothing checked: the signature that counts is a file of its own.
  if (key === 'signature' && path.length === 0) return ' (a plugin is signed by plugin.sig beside plugin.yaml, which hst sign writes)';
  if (allowed.includes(toSnakeCase(key))) return ` (keys are snake_case: ${toSnakeCase(key)})`;
  const near = allowed.find((k) => editDistance(k, key) <= 2 || (key.length >= 3 && k.startsWith(`${key}_`)));
  return near ? ` (did you mean ${near}?)` : '';
}

function reportZodIssues(
  sink: IssueSink,
  doc: ParsedDocument,
  data: unknown,
  issues: readonly z.core.$ZodIssue[],
): void {
  for (const issue of issues) {
    const path = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    const pattern = fieldPattern(path);
    const expected = EXPECTED[pattern] ?? 'a valid value';
    const at = locate(doc, path);
    const value = valueAt(data, path);
    const absent = value === undefined ? 'missing' : value === null ? 'no value given' : undefined;
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const allowed = KEYS[pattern] ?? [];
          const keyAt = locate(doc, [...path, key]);
          sink.add(
            keyAt.keyOffset ?? keyAt.offset,
            fieldName([...path, key]),
            `unknown key${unknownKeyHint(key, allowed, path)}`,
            `one of ${allowed.join(', ')}`,
          );
        }
        break;
      case 'custom': {
        const finding = issue.params as Finding;
        const first = finding.firstPath && locate(doc, finding.firstPath);
        const problem = first ? `${finding.problem} (first at ${sink.position(first.offset)})` : finding.problem;
        sink.add(at.offset, fieldName(path), problem, finding.expected ?? expected);
        break;
      }
      case 'invalid_value':
        sink.add(
          at.offset,
          fieldName(path),
          absent ?? `${written(at.node, value)} is not a ${path[path.length - 1]}`,
          expected,
        );
        break;
      case 'too_big':
      case 'too_small':
        sink.add(at.offset, fieldName(path), `${written(at.node, value)} is out of range`, expected);
        break;
      case 'invalid_type':
        sink.add(at.offset, fieldName(path), absent ?? `${written(at.node, value)} is ${kindOf(value)}`, expected);
        break;
      default:
        sink.add(at.offset, fieldName(path), `${written(at.node, value)}: ${issue.message}`, expected);
    }
  }
}

// ---------------------------------------------------------------- parsing

function toManifest(m: ParsedManifest, file: string): Manifest {
  const absolute = resolve(file);
  const resources: ManifestResources = {};
  if (m.resources.memory_mb !== undefined) resources.memoryMb = m.resources.memory_mb;
  if (m.resources.call_timeout !== undefined) resources.callTimeoutMs = m.resources.call_timeout;
  if (m.resources.cpu !== undefined) resources.cpuSeconds = m.resources.cpu;
  if (m.resources.max_open_files !== undefined) resources.maxOpenFiles = m.resources.max_open_files;
  const manifest: Manifest = {
    name: m.name,
    version: m.version,
    description: m.description,
    runtime: m.runtime,
    command: m.command,
    args: [...m.args],
    handshake: {
      protocolVersions: [...m.handshake.protocol_versions],
      magicCookieKey: m.handshake.magic_cookie_key,
      magicCookieValue: m.handshake.magic_cookie_value,
    },
    capabilities: [...m.capabilities],
    requires: [...m.requires],
    provides: [...m.provides],
    commands: m.commands.map((c) => ({
      name: c.name,
      help: c.help,
      ...(c.usage !== undefined && { usage: c.usage }),
      args: c.args.map((a) => ({
        name: a.name,
        required: a.required,
        ...(a.help !== undefined && { help: a.help }),
        ...(a.default !== undefined && { default: a.default }),
        ...(a.pattern !== undefined && { pattern: a.pattern }),
        type: a.type,
      })),
    })),
    exports: m.exports.map((e): ManifestExport => (e.type === 'object' ? { name: e.name, type: 'object', methods: (e.methods ?? []).map((method) => ({ name: method.name, ...toSignature(method) })) } : { name: e.name, type: 'function', ...toSignature(e) })),
    routes: m.routes.map((r) => ({ method: r.method, path: r.path, handler: r.handler, ...(r.description !== undefined && { description: r.description }) })),
    widgets: m.widgets.map((w) => ({ id: w.id, title: w.title, handler: w.handler, location: w.location, size: w.size })),
    resources,
    dir: dirname(absolute),
    file: absolute,
  };
  return manifest;
}

function toSignature(parsed: { params?: Array<{ name: string; type: ValueType; optional: boolean; default?: unknown; help?: string | undefined }> | undefined; returns?: ValueType | 'none' | undefined }): ManifestSignature {
  return {
    ...(parsed.params && {
      params: parsed.params.map((p) => ({
        name: p.name,
        type: p.type,
        optional: p.optional || p.default !== undefined,
        ...(p.default !== undefined && { default: p.default }),
        ...(p.help !== undefined && { help: p.help }),
      })),
    }),
    ...(parsed.returns && { returns: parsed.returns }),
  };
}

function wholeFileError(file: string, problem: string, expected: string, line = 1, column = 1): ManifestError {
  return new ManifestError([{ file, line, column, field: WHOLE_FILE, problem, expected }]);
}

function tooLarge(file: string, bytes: number): ManifestError {
  return wholeFileError(file, `the file is ${bytes} bytes`, `at most ${MAX_MANIFEST_BYTES} bytes (64 KiB)`);
}

function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const [line, column] = firstInvalidUtf8(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    throw wholeFileError(file, 'the file is not UTF-8', 'UTF-8 text', line, column);
  }
}

/**
 * Parses and validates plugin.yaml, given as text or as the file's bytes (e.g.
 * from signature.ts's readManifestBytes, so the bytes verified are the bytes
 * parsed). `file` names it in messages and gives `dir`/`file` of the result.
 * Throws a ManifestError listing every problem found.
 */
export function parseManifest(source: string | Uint8Array, file: string): Manifest {
  const size = typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength;
  if (size > MAX_MANIFEST_BYTES) throw tooLarge(file, size);
  const text = typeof source === 'string' ? source : decodeUtf8(source, file);
  const lines = new LineCounter();
  const sink = new IssueSink(file, lines);
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    schema: 'core',
    strict: true,
  });

  // A broken document has no reliable shape: report only the YAML problems.
  let tooDeepForParser = false;
  for (const error of [...doc.errors, ...doc.warnings]) {
    const offset = error.pos[0];
    switch (error.code) {
      case 'TAG_RESOLVE_FAILED':
        break; // the tag check below reports it with its field
      case 'DUPLICATE_KEY':
        sink.add(offset, fieldName(pathAt(doc, offset)), 'duplicate key', 'each key at most once in a mapping');
        break;
      case 'MULTIPLE_DOCS':
        sink.add(offset, WHOLE_FILE, 'a second YAML document', 'a single document');
        break;
      default:
        if (error.message.includes('call stack')) {
          // The parser ran out of stack on deep nesting and says so at every level; once is enough.
          if (!tooDeepForParser) {
            sink.add(offset, YAML_SYNTAX, 'the document nests too deeply', `at most ${MAX_NESTING} levels of nesting`);
          }
          tooDeepForParser = true;
        } else {
          // A syntax error is often detected a field or more after its cause, so it names no field.
          sink.add(offset, YAML_SYNTAX, error.message.replace(/\.$/, ''), 'valid YAML');
        }
    }
  }
  if (sink.issues.length > 0) throw sink.error();

  if (!isMap(doc.contents)) {
    const got =
      doc.contents === null || isEmptyScalar(doc.contents)
        ? 'the file is empty'
        : `the top level is ${isSeq(doc.contents) ? 'a list' : 'a scalar'}`;
    sink.add(
      nodeStart(doc.contents) ?? 0,
      WHOLE_FILE,
      got,
      'a mapping of manifest fields such as name, version, runtime, command',
    );
    throw sink.error();
  }

  // One walk refuses nesting deeper than any field and explicit tags (they turn text into types no field
  // takes, like !!binary), and notes the aliases, to point at one if they expand too much.
  const aliases: Array<{ node: Node; path: PathKey[] }> = [];
  let tooDeep = false;
  walk(doc.contents, [], (node, path) => {
    if (path.length > MAX_NESTING) {
      // Deeper than any manifest field; stopping here also keeps toJS and zod from recursing on it.
      if (!tooDeep)
        sink.add(
          nodeStart(node) ?? 0,
          fieldName(path),
          'the document nests too deeply',
          `at most ${MAX_NESTING} levels of nesting`,
        );
      tooDeep = true;
      return false;
    }
    if (isAlias(node)) aliases.push({ node, path });
    else if (node.tag) {
      const tag = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
      sink.add(
        nodeStart(node) ?? 0,
        fieldName(path),
        `the tag ${tag} is not allowed`,
        'plain YAML values without tags',
      );
    }
    return true;
  });
  if (sink.issues.length > 0) throw sink.error();

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const first = aliases[0];
    if (!(err instanceof ReferenceError) || !first) throw err;
    sink.add(
      nodeStart(first.node) ?? 0,
      fieldName(first.path),
      'the aliases expand the document too much',
      `at most ${MAX_ALIAS_COUNT} alias expansions`,
    );
    throw sink.error();
  }

  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    reportZodIssues(sink, doc, data, result.error.issues);
    throw sink.error();
  }
  return toManifest(result.data, file);
}

/** The position of the first byte that is not UTF-8, as [line, column]. */
function firstInvalidUtf8(bytes: Buffer): [number, number] {
  const lossy = bytes.toString('utf8');
  // Before the first bad byte every U+FFFD is genuine and the byte counts agree.
  for (let i = lossy.indexOf('\uFFFD'); i >= 0; i = lossy.indexOf('\uFFFD', i + 1)) {
    const at = Buffer.byteLength(lossy.slice(0, i));
    if (!bytes.subarray(at, at + 3).equals(Buffer.from('\uFFFD'))) {
      const before = lossy.slice(0, i);
      return [before.split('\n').length, i - before.lastIndexOf('\n')];
    }
  }
  return [1, 1];
}

/**
 * Reads and parses a plugin.yaml. The size is checked before the content is
 * read. Errors opening the file (ENOENT, EACCES) are thrown as they are.
 */
export async function loadManifest(path: string): Promise<Manifest> {
  // O_NONBLOCK so that a FIFO in the manifest's place cannot hang the host.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let bytes: Buffer;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      const problem = stat.isDirectory() ? 'the path is a directory' : 'the path is not a regular file';
      throw wholeFileError(path, problem, 'a plugin.yaml file');
    }
    if (stat.size > MAX_MANIFEST_BYTES) throw tooLarge(path, stat.size);
    // One byte past the cap tells a file that grew since the stat apart from one at the cap.
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_MANIFEST_BYTES) throw tooLarge(path, (await handle.stat()).size);
    bytes = buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
  return parseManifest(bytes, path);
}
