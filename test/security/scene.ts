/**
 * One host for a file of attack cases: real HostServices under a Policy and
 * an AuditLog, a workspace with things worth stealing next to it, and real
 * plugin processes (the attacker, and a victim when asked) connected to it
 * over go-plugin's broker. A case names one call the attacker makes from its
 * own process; `attack` checks how it was refused, that no secret came back,
 * and what the audit log says about it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { PluginClient, type PluginCommand, type PluginSandboxOptions } from '../../src/host/plugin-client.js';
import type { GrpcPlugin, PluginSet } from '../../src/plugin-set.js';
import { MemoryLogger } from '../../src/log.js';
import { allHostServices } from '../../src/host-services/catalog.js';
import { establishHostServices, type HostServicesConnection } from '../../src/host-services/establish.js';
import { HostServices } from '../../src/host-services/host-services.js';
import type { CallRecord } from '../../src/host-services/dispatch.js';
import { hostServiceDefinitions } from '../../src/plugin/host-services-client.js';
import type { Client } from '../../src/rpc/definition.js';
import { Code } from '../../src/rpc/status.js';
import { AuditLog, type AuditRecord } from '../../src/security/audit.js';
import { guardHostServices } from '../../src/security/guard.js';
import { Policy } from '../../src/security/policy.js';
import { AttackerDefinition } from '../gen/attack.js';
import { eventually } from '../support/assertions.js';
import { nodePlugin } from '../support/peers.js';

export const ATTACKER = 'attacker';
export const VICTIM = 'victim';

export const handshake = { protocolVersion: 1, magicCookieKey: 'BASIC_PLUGIN', magicCookieValue: 'hello' };

/** The attacker's manifest in most files: a narrow, realistic set of grants. */
export function narrowManifest(netPort: number): string[] {
  return [
    'fs.read:public/**',
    'fs.write:out/**',
    'env:APP_*',
    'exec:/bin/echo',
    `net:127.0.0.1:${netPort}`,
    'kv',
    'temp',
    'events.publish:attacker.*',
    'events.subscribe:attacker.*',
    'log',
  ];
}

/** `{"$bytes": base64}`: how a bytes field travels in an attack's request JSON. */
export function bytes(s: string | Buffer): { $bytes: string } {
  return { $bytes: Buffer.from(s).toString('base64') };
}

/** A response with every `{"$bytes": ...}` turned into its text, so that a secret in bytes is seen as the secret. */
function decodeBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeBytes);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$bytes === 'string') return textOf(record);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decodeBytes(v)]));
  }
  return value;
}

/** The text of a `{"$bytes": ...}` in an attack's response. */
export function textOf(value: unknown): string {
  return Buffer.from((value as { $bytes: string }).$bytes, 'base64').toString();
}

export interface Outcome {
  ok: boolean;
  code: number;
  message: string;
  response: any;
  /** Everything the plugin got back, as text: what must never contain a secret. */
  raw: string;
}

export interface PluginUnderTest {
  name: string;
  client: PluginClient;
  connection: HostServicesConnection;
  clientId: string;
  run(service: string, method: string, request?: unknown, metadata?: Record<string, string>): Promise<Outcome>;
  /** A call that has to succeed (a victim's setup); returns its response. */
  must(service: string, method: string, request?: unknown): Promise<any>;
}

/** How a case must end. */
export type Expectation =
  /** PERMISSION_DENIED, audited as a deny: by the policy, or by the confinement once the policy let the path through. */
  | 'deny'
  /** Refused by the handler with this code (not a policy decision): audited as allowed, with the error, under the caller's own identity. */
  | { code: Code }
  /** Either of the above: for paths the policy may refuse before the handler does. */
  | { denyOr: Code }
  /** Allowed and harmless: `check` looks at the response. */
  | { allowed: (response: any) => void }
  /**
   * Whatever the host answers, as long as it stays inside: for calls on a
   * symlink that may act on the link itself (remove it, replace it) rather
   * than refuse. The checks every case gets still apply.
   */
  | 'contained';

export interface AttackCase {
  name: string;
  service: string;
  method: string;
  /** The request, or a function of the scene for values known only once it runs (ports, ids). */
  request?: unknown;
  metadata?: Record<string, string>;
  expect: Expectation;
  /** The audit `op`; default derived from service and method. */
  op?: string;
}

export interface SceneOptions {
  /** The base directory, made beforehand so that case tables can name host paths. */
  dir?: string;
  /** The attacker fixture's manifest; without it no plugin is started (the file starts its own). */
  attacker?: string[] | ((scene: Scene) => string[]);
  victim?: string[];
  /** How to run a plugin; default the attacker fixture under node. */
  command?: (name: string, scene: Scene) => Promise<PluginCommand> | PluginCommand;
  /** Run each plugin in PluginClient's OS sandbox; `command.path` is then its entry. */
  sandbox?: (name: string, scene: Scene) => PluginSandboxOptions;
  /** Runs before the plugins start (e.g. local servers whose ports go into the manifest). */
  prepare?: (scene: Scene) => Promise<void>;
}

export interface LaunchOptions {
  /** Default: true, unless sandboxed. */
  skipHostEnv?: boolean;
  plugins?: PluginSet;
  sandbox?: PluginSandboxOptions;
}

function token(what: string): string {
  return `${what}-${randomBytes(12).toString('hex')}`;
}

/** A fresh, real (symlink-free) directory for a scene. */
export function sceneDir(): string {
  return realpathSync(mkdtempSync(join(tmpdir(), 'hst-attack-')));
}

function attackerPlugin(): GrpcPlugin<Client<typeof AttackerDefinition>> {
  return { client: (connection) => connection.client(AttackerDefinition) };
}

/** The audit op of a host-services method: `Filesystem/ReadFile`. */
function opOf(service: string, method: string): string {
  const definition = (hostServiceDefinitions as Record<string, { name: string; methods: Record<string, { name: string }> }>)[service];
  const m = definition?.methods[method];
  if (!definition || !m) throw new Error(`no host method ${service}.${method}`);
  return `${definition.name}/${m.name}`;
}

/** Reads the audit records appended since the last read. */
class AuditTail {
  private offset = 0;
  private pending = '';
  constructor(private readonly path: string) {}

  read(): AuditRecord[] {
    const fd = openSync(this.path, 'r');
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const buffer = Buffer.alloc(64 * 1024);
        const n = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        chunks.push(buffer.subarray(0, n));
      }
      const lines = (this.pending + Buffer.concat(chunks).toString('utf8')).split('\n');
      this.pending = lines.pop() ?? '';
      return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as AuditRecord);
    } finally {
      closeSync(fd);
    }
  }
}

/** Every file below `dir` with its content (or link target), to prove nothing outside a root changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      if (st.isSymbolicLink()) out[key] = `-> ${readlinkSync(path)}`;
      else if (st.isDirectory()) {
        out[`${key}/`] = `mode ${(st.mode & 0o7777).toString(8)}`;
        visit(path, key);
      } else out[key] = `mode ${(st.mode & 0o7777).toString(8)} ${readFileSync(path, 'utf8')}`;
    }
  };
  visit(dir, '');
  return out;
}

/** Puts a directory back as `snapshot` saw it (files, directories, links and modes). */
function restore(dir: string, saved: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [key, value] of Object.entries(saved)) {
    const path = join(dir, key);
    if (value.startsWith('-> ')) symlinkSync(value.slice(3), path);
    else if (key.endsWith('/')) mkdirSync(path, { mode: parseInt(value.split(' ')[1] as string, 8) });
    else {
      const [, mode = '644', ...content] = value.split(' ');
      writeFileSync(path, content.join(' '));
      chmodSync(path, parseInt(mode, 8));
    }
  }
}

export class Scene {
  readonly dir: string;
  /** The attacker's workspace: public/, out/, secret.txt. */
  readonly workspace: string;
  /** A sibling of the workspace holding a secret. */
  readonly outside: string;
  readonly victimWorkspace: string;
  readonly secrets: {
    workspace: string;
    outside: string;
    env: string;
    victimFile: string;
    victimKv: string;
    victimTemp: string;
  };
  readonly hostServices: HostServices;
  readonly policy = new Policy();
  readonly audit: AuditLog;
  readonly records: CallRecord[] = [];
  readonly plugins = new Map<string, PluginUnderTest>();
  /** Cleanups registered by files (servers, sandbox plans). */
  readonly cleanups: Array<() => void | Promise<void>> = [];
  private readonly tail: AuditTail;
  private outsideBefore: Record<string, string> = {};

  constructor(dir: string) {
    this.dir = dir;
    this.workspace = join(dir, 'workspace');
    this.outside = join(dir, 'outside');
    this.victimWorkspace = join(dir, 'victim');
    this.secrets = {
      workspace: token('SECRET-WORKSPACE'),
      outside: token('SECRET-OUTSIDE'),
      env: token('SECRET-ENV'),
      victimFile: token('SECRET-VICTIM-FILE'),
      victimKv: token('SECRET-VICTIM-KV'),
      victimTemp: token('SECRET-VICTIM-TEMP'),
    };
    mkdirSync(join(this.workspace, 'public', 'docs'), { recursive: true });
    mkdirSync(join(this.workspace, 'out'));
    writeFileSync(join(this.workspace, 'public', 'readme.txt'), 'public readme\n');
    writeFileSync(join(this.workspace, 'public', 'docs', 'a.txt'), 'public doc\n');
    writeFileSync(join(this.workspace, 'secret.txt'), this.secrets.workspace);
    mkdirSync(this.outside);
    writeFileSync(join(this.outside, 'secret.txt'), this.secrets.outside);
    mkdirSync(this.victimWorkspace);
    writeFileSync(join(this.victimWorkspace, 'data.txt'), this.secrets.victimFile);
    // What the Environment service exposes: a few APP_* the attacker may read, and secrets it may not.
    const hostEnv = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/home/host-user',
      APP_NAME: 'demo',
      APP_MODE: 'test',
      SECRET_TOKEN: this.secrets.env,
      AWS_SECRET_ACCESS_KEY: this.secrets.env,
    };
    this.hostServices = new HostServices({
      modules: allHostServices,
      dataDir: join(dir, 'data'),
      tempDir: join(dir, 'temp'),
      env: hostEnv,
      logger: new MemoryLogger(),
    });
    this.hostServices.on('call', (r) => this.records.push(r));
    // Host-owned, outside every workspace.
    this.audit = new AuditLog({ path: join(dir, 'data', 'audit', 'audit.jsonl') });
    this.tail = new AuditTail(this.audit.path);
    guardHostServices({ hostServices: this.hostServices, policy: this.policy, audit: this.audit });
  }

  /** Every secret a plugin must never see. */
  get secretValues(): string[] {
    return [...Object.values(this.secrets), 'root:x:0:0'];
  }

  get attacker(): PluginUnderTest {
    return this.plugin(ATTACKER);
  }

  get victim(): PluginUnderTest {
    return this.plugin(VICTIM);
  }

  plugin(name: string): PluginUnderTest {
    const p = this.plugins.get(name);
    if (!p) throw new Error(`plugin ${name} is not running`);
    return p;
  }

  /** The outside directory as it was when the plugins started. */
  markOutside(): void {
    this.outsideBefore = snapshot(this.outside);
  }

  /**
   * Fails if the outside directory or the workspace secret changed, after
   * putting them back, so that one escape does not spoil every later case.
   */
  assertOutsideUntouched(): void {
    const now = snapshot(this.outside);
    const secret = readFileSync(join(this.workspace, 'secret.txt'), 'utf8');
    if (secret !== this.secrets.workspace) writeFileSync(join(this.workspace, 'secret.txt'), this.secrets.workspace);
    try {
      assert.deepEqual(now, this.outsideBefore, 'the directory outside the workspace changed');
    } catch (err) {
      restore(this.outside, this.outsideBefore);
      throw err;
    }
    assert.equal(secret, this.secrets.workspace, 'the workspace secret changed');
  }

  /** No file in the attacker's workspace but secret.txt holds a secret: nothing was copied in from elsewhere. */
  assertNoSecretCopied(): void {
    const copies = Object.entries(snapshot(this.workspace)).filter(
      ([key, value]) => key !== 'secret.txt' && this.secretValues.some((secret) => value.includes(secret)),
    );
    for (const [key] of copies) rmSync(join(this.workspace, key), { force: true });
    assert.deepEqual(copies.map(([key]) => key), [], 'a secret was copied into the workspace');
  }

  /** Audit records written since the last call. */
  freshAudit(): AuditRecord[] {
    return this.tail.read();
  }

  /**
   * Starts a plugin process under `name` with these capabilities and connects it to host services.
   * A sandboxed one has its 'sandbox' event (the active layers) recorded in the audit log.
   */
  async launch(
    name: string,
    capabilities: string[],
    command: PluginCommand,
    workspace: string,
    extra: LaunchOptions = {},
  ): Promise<{ client: PluginClient; connection: HostServicesConnection }> {
    this.policy.setManifest(name, capabilities);
    const stderr: string[] = [];
    const client = new PluginClient({
      name,
      handshake,
      plugins: extra.plugins ?? { attacker: attackerPlugin() },
      command,
      logger: new MemoryLogger(),
      stdin: 'ignore',
      // A sandboxed plugin is offered the host's environment, so that only the sandbox keeps it out.
      skipHostEnv: extra.skipHostEnv ?? !extra.sandbox,
      ...(extra.sandbox ? { sandbox: extra.sandbox } : {}),
      startTimeoutMs: 20_000,
      stderr: new Writable({ write: (chunk, _encoding, done) => (stderr.push(String(chunk)), done()) }),
    });
    client.on('sandbox', (report) => this.audit.recordEvent(name, 'sandbox', { ...report }));
    let connection: HostServicesConnection | undefined;
    try {
      connection = await establishHostServices(client, this.hostServices, { workspace, owner: name });
    } catch (err) {
      await client.kill();
      throw new Error(`plugin ${name} did not start: ${(err as Error).message}\n${stderr.join('')}`, { cause: err });
    }
    if (!connection) {
      await client.kill();
      assert.fail(`plugin ${name} did not take host services`);
    }
    return { client, connection };
  }

  /** Starts the attacker fixture as `name`; the scene keeps it and stops it on close. */
  async start(name: string, capabilities: string[], command: PluginCommand, workspace: string, extra: Omit<LaunchOptions, 'plugins'> = {}): Promise<PluginUnderTest> {
    const { client, connection } = await this.launch(name, capabilities, command, workspace, extra);
    const attacker = await client.dispense<Client<typeof AttackerDefinition>>('attacker');
    const run = async (service: string, method: string, request: unknown = {}, metadata: Record<string, string> = {}): Promise<Outcome> => {
      const res = await attacker.run({ service, method, requestJson: JSON.stringify(request), metadata }, { deadline: 30_000 });
      const response = res.responseJson ? JSON.parse(res.responseJson) : undefined;
      return { ok: res.ok, code: res.code, message: res.message, response, raw: `${res.message}\n${JSON.stringify(decodeBytes(response))}` };
    };
    const plugin: PluginUnderTest = {
      name,
      client,
      connection,
      clientId: connection.caller.clientId,
      run,
      async must(service, method, request) {
        const out = await run(service, method, request);
        assert.ok(out.ok, `${name}: ${service}.${method} failed: ${out.code} ${out.message}`);
        return out.response;
      },
    };
    return this.adopt(plugin);
  }

  /** Keeps a plugin started some other way: it can attack, and is stopped on close. */
  adopt(plugin: PluginUnderTest): PluginUnderTest {
    this.plugins.set(plugin.name, plugin);
    return plugin;
  }

  /**
   * Runs one case as the attacker and checks: the outcome the case expects,
   * no secret in anything that came back, nothing outside the workspace
   * changed, and the audit record of the call.
   */
  async attack(c: AttackCase, as: PluginUnderTest = this.attacker): Promise<{ outcome: Outcome; audit: AuditRecord[] }> {
    this.freshAudit();
    const recordsBefore = this.records.length;
    const request = typeof c.request === 'function' ? (c.request as (s: Scene) => unknown)(this) : c.request;
    const outcome = await as.run(c.service, c.method, request ?? {}, c.metadata);
    const op = c.op ?? opOf(c.service, c.method);
    // A stream the attacker gave up on is recorded once the host has heard of it: a moment after the answer.
    const audit: AuditRecord[] = [];
    await eventually(() => audit.push(...this.freshAudit().filter((r) => r.op === op)) > 0, 5_000, 5);
    const calls = this.records.slice(recordsBefore).filter((r) => r.operation === op);
    for (const secret of this.secretValues) {
      assert.ok(!outcome.raw.includes(secret), `the attacker got a secret back (${secret.slice(0, 20)}…): ${outcome.raw.slice(0, 300)}`);
    }
    if (!JSON.stringify(request ?? {}).includes(this.dir)) {
      assert.ok(!outcome.raw.includes(this.dir), `a host path came back: ${outcome.raw.slice(0, 300)}`);
    }
    this.assertOutsideUntouched();
    this.assertNoSecretCopied();
    assert.ok(audit.length > 0, `no audit record for ${op}; outcome ${JSON.stringify(outcome).slice(0, 300)}`);
    for (const r of audit) {
      assert.equal(r.plugin, as.name, 'audited under another plugin');
      assert.equal(r.instance, as.clientId, 'audited under another instance');
    }
    const expect = c.expect;
    const denied = () => {
      assert.deepEqual([outcome.ok, outcome.code], [false, Code.PERMISSION_DENIED], `expected PERMISSION_DENIED, got ${JSON.stringify(outcome).slice(0, 300)}`);
      assert.ok(outcome.message.includes(op), `the message does not name ${op}: ${outcome.message}`);
      assert.ok(
        audit.some((r) => r.decision === 'deny'),
        `no deny record: ${JSON.stringify(audit)}`,
      );
      for (const r of audit.filter((r) => r.decision === 'deny')) assert.ok(r.rule && r.rule !== 'no policy', `deny without a rule: ${JSON.stringify(r)}`);
    };
    const refused = (code: Code) => {
      assert.deepEqual([outcome.ok, outcome.code], [false, code], `expected ${Code[code]}, got ${JSON.stringify(outcome).slice(0, 300)}`);
      assert.ok(
        audit.some((r) => r.decision === 'allow' && r.error !== undefined),
        `no record of the failed call: ${JSON.stringify(audit)}`,
      );
      assert.ok(calls.length > 0 && calls.every((r) => !r.ok && r.clientId === as.clientId && r.owner === as.name), `call records: ${JSON.stringify(calls)}`);
    };
    if (expect === 'contained') return { outcome, audit };
    if (expect === 'deny') denied();
    else if ('code' in expect) refused(expect.code);
    else if ('denyOr' in expect) {
      if (outcome.code === Code.PERMISSION_DENIED) denied();
      else refused(expect.denyOr);
    } else {
      assert.ok(outcome.ok, `expected the call to be allowed, got ${outcome.code} ${outcome.message}`);
      expect.allowed(outcome.response);
      assert.ok(
        audit.every((r) => r.decision === 'allow' && r.error === undefined),
        `allowed call audited otherwise: ${JSON.stringify(audit)}`,
      );
    }
    return { outcome, audit };
  }

  async close(): Promise<void> {
    for (const p of this.plugins.values()) await p.client.kill();
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
    await this.hostServices.close();
    this.audit.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Builds the scene and starts the attacker (and the victim) as real plugin processes. */
export async function createScene(options: SceneOptions): Promise<Scene> {
  const scene = new Scene(options.dir ?? sceneDir());
  try {
    await options.prepare?.(scene);
    const command = options.command ?? (() => nodePlugin('attacker-plugin'));
    const manifest = typeof options.attacker === 'function' ? options.attacker(scene) : options.attacker;
    const extra = (name: string) => (options.sandbox ? { sandbox: options.sandbox(name, scene) } : {});
    const starts: Promise<PluginUnderTest>[] = [];
    if (manifest) starts.push(scene.start(ATTACKER, manifest, await command(ATTACKER, scene), scene.workspace, extra(ATTACKER)));
    if (options.victim) starts.push(scene.start(VICTIM, options.victim, await command(VICTIM, scene), scene.victimWorkspace, extra(VICTIM)));
    await Promise.all(starts);
    scene.markOutside();
    return scene;
  } catch (err) {
    await scene.close();
    throw err;
  }
}
