/**
 * The attacks of an independent review, made as a hostile plugin author
 * would: TypeScript and go-plugin Go plugins of their own with
 * least-privilege manifests, run by PluginManager with its defaults (sandbox
 * auto, AutoMTLS), as `hst run` runs them. npm test runs this file with
 * bubblewrap and again with it hidden, so both isolations meet every case.
 * Each case asserts the refusal, that the secret never comes back, and what
 * the audit log says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KVDefinition } from '../../examples/kv/gen/kv.js';
import type { PluginManager } from '../../src/manager/manager.js';
import { Code } from '../../src/rpc/status.js';
import { readAudit, type AuditRecord } from '../../src/security/audit.js';
import { probeSandbox } from '../../src/security/sandbox.js';
import { keygen, signPlugin } from '../../src/security/signature.js';
import { AttackerDefinition } from '../gen/attack.js';
import { managerFactory } from '../support/managers.js';
import { goPeers, repo, transportUnderTest } from '../support/peers.js';

const probe = await probeSandbox();
const go = goPeers();
const SECRET = `SECRET-${randomBytes(12).toString('hex')}`;
const scratch = mkdtempSync(join(tmpdir(), 'hst-manager-attacks-'));
const workspace = join(scratch, 'workspace');
const outside = join(scratch, 'outside', 'secret.txt');
const pluginsDir = join(scratch, 'plugins');
/** The host's temp dir for this file alone: where plugin sockets are made, so the attacks can be pointed at them. */
const hostTmp = join(scratch, 'tmp');

function writePlugin(name: string, manifest: string): string {
  const dir = join(pluginsDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plugin.yaml'), manifest);
  return dir;
}

function nodeAttacker(name: string, capabilities: string[]): void {
  const dir = writePlugin(
    name,
    `name: ${name}\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  protocol_versions: [1]\n  magic_cookie_key: BASIC_PLUGIN\n  magic_cookie_value: hello\ncapabilities: ${JSON.stringify(capabilities)}\n`,
  );
  writeFileSync(join(dir, 'main.js'), `import ${JSON.stringify(join(repo, 'dist', 'test', 'fixtures', 'attacker-plugin.js'))};\n`);
}

before(() => {
  mkdirSync(join(workspace, 'public'), { recursive: true });
  mkdirSync(join(workspace, 'private'), { recursive: true });
  mkdirSync(join(scratch, 'outside'));
  mkdirSync(hostTmp);
  writeFileSync(join(workspace, 'public', 'readme.txt'), 'public readme\n');
  writeFileSync(join(workspace, 'private', 'p.txt'), `${SECRET} private\n`);
  writeFileSync(join(workspace, 'secret.txt'), `${SECRET} workspace\n`);
  writeFileSync(outside, `${SECRET} host\n`);
  nodeAttacker('attacker', ['fs.read:public/**', 'exec:/usr/bin/cat', 'exec:/usr/bin/ln']);
  nodeAttacker('victim', ['fs.read:**', 'kv']);
  if ('bin' in go) {
    const dir = writePlugin(
      'goattacker',
      'name: goattacker\nversion: 1.0.0\nruntime: binary\ncommand: bin/attacker-plugin\nhandshake:\n  protocol_versions: [1]\n  magic_cookie_key: BASIC_PLUGIN\n  magic_cookie_value: hello\ncapabilities: ["fs.read:public/**"]\n',
    );
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(go.bin, 'attacker-plugin'), join(dir, 'bin', 'attacker-plugin'));
  }
  process.env.TMPDIR = hostTmp;
});
after(() => rmSync(scratch, { recursive: true, force: true }));

const manager = managerFactory(pluginsDir, scratch, { workspace: () => workspace });

interface Outcome {
  ok: boolean;
  code: number;
  message: string;
  response: any;
  /** Everything that came back: what must never hold the secret. */
  raw: string;
}

async function attack(m: PluginManager, plugin: string, service: string, method: string, request: unknown = {}): Promise<Outcome> {
  const res = await m.call(plugin, ({ connection, signal }) =>
    connection.client(AttackerDefinition).run({ service, method, requestJson: JSON.stringify(request), metadata: {} }, { signal }),
  );
  const raw = `${res.message} ${res.responseJson}`;
  // The victim may hold the secret; nobody else may ever see it.
  if (plugin !== 'victim') assert.ok(!raw.includes(SECRET) && !raw.includes(Buffer.from(SECRET).toString('base64').slice(0, 16)), `the secret came back: ${raw}`);
  return { ok: res.ok, code: res.code, message: res.message, response: res.responseJson ? JSON.parse(res.responseJson) : undefined, raw };
}

/** The Go attacker's KV Get of `key` (a host call, or an `os-` attack of its own); the error text when refused. */
async function goAttack(m: PluginManager, key: string): Promise<{ ok: boolean; text: string }> {
  try {
    const { value } = await m.call('goattacker', ({ connection, signal }) => connection.client(KVDefinition).get({ key }, { signal }));
    const text = Buffer.from(value).toString();
    assert.ok(!text.includes(SECRET), `the secret came back: ${text}`);
    return { ok: true, text };
  } catch (err) {
    const text = (err as Error).message;
    assert.ok(!text.includes(SECRET), `the secret came back in an error: ${text}`);
    return { ok: false, text };
  }
}

function audit(m: PluginManager, plugin: string): AuditRecord[] {
  return readAudit(m.auditPath, { plugin });
}

/** Sockets under the host's temp dir for this file, as any process of the host's user could list them. */
function hostSockets(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.isSocket() && entry.name.startsWith('plugin')) found.push(join(dir, entry.name));
    }
  };
  walk(hostTmp);
  return found;
}

describe(`attacks through PluginManager, sandbox auto (${probe.bwrap ? 'bubblewrap' : "hst's launcher"})`, () => {
  let m: PluginManager;
  before(async () => {
    m = manager();
    await m.discover();
    await m.start('victim');
    await m.start('attacker');
    // The victim holds something worth stealing in its own name.
    assert.equal((await attack(m, 'victim', 'kv', 'put', { key: 'token', value: { $bytes: Buffer.from(SECRET).toString('base64') } })).ok, true);
  });
  after(() => m.shutdown());

  it('runs every plugin isolated, and says how', () => {
    for (const name of ['victim', 'attacker']) {
      const layers = m.info(name)?.sandbox?.layers ?? [];
      assert.ok(layers.includes('isolation'), `${name}: ${layers.join(', ')}`);
      assert.equal(layers.includes('bwrap'), probe.bwrap);
    }
    const recorded = audit(m, 'attacker').find((r) => r.event === 'sandbox');
    assert.ok((recorded?.detail?.layers as string[]).includes('isolation'));
  });

  it("cannot reach another plugin's host-services listener, nor call the host as that plugin", async () => {
    const sockets = hostSockets();
    if (transportUnderTest === 'native') {
      // Each plugin's host services are a channel of its own socket pair: there is no listener to try.
      assert.deepEqual(sockets, [], `the host made listeners in ${hostTmp}`);
      const outcome = await attack(m, 'attacker', 'direct', 'impersonate', { dir: hostTmp, file: 'secret.txt' });
      assert.equal(outcome.ok, false, `the attacker found something to connect to: ${outcome.raw}`);
    }
    if (transportUnderTest === 'grpc') assert.ok(sockets.length >= 2, `the host made its listeners in ${hostTmp}: ${sockets.join(', ')}`);
    for (const path of sockets) {
      const outcome = await attack(m, 'attacker', 'direct', 'impersonate', { path, file: 'secret.txt' });
      const results = (outcome.response?.results ?? []) as Array<{ plaintext: { ok: boolean }; tls: { ok: boolean } }>;
      assert.ok(!outcome.ok || results.every((r) => !r.plaintext.ok && !r.tls.ok), `${path}: ${outcome.raw}`);
    }
    assert.ok(!audit(m, 'victim').some((r) => r.op === 'Filesystem/ReadFile' && r.decision === 'allow' && r.resource === 'secret.txt'), 'no read in the victim\'s name');
  });

  it('cannot stop or kill the host, its parent or anything outside its sandbox', async () => {
    const stopParent = await attack(m, 'attacker', 'direct', 'killParent', { signal: 'SIGSTOP' });
    const stopHost = await attack(m, 'attacker', 'direct', 'kill', { pid: process.pid, signal: 'SIGSTOP' });
    const killHost = await attack(m, 'attacker', 'direct', 'kill', { pid: process.pid, signal: 'SIGKILL' });
    // Were any of them delivered, this process would not be here to check.
    assert.equal(stopHost.ok, false, stopHost.raw);
    assert.equal(killHost.ok, false, killHost.raw);
    assert.ok(!stopParent.ok || stopParent.response?.killed !== process.pid, stopParent.raw);
    const victimPid = m.info('victim')?.pid as number;
    assert.equal((await attack(m, 'attacker', 'direct', 'kill', { pid: victimPid, signal: 'SIGKILL' })).ok, false);
    assert.equal(m.info('victim')?.status, 'running');
    assert.equal((await attack(m, 'victim', 'kv', 'get', { key: 'token' })).ok, true, 'the victim still answers');
  });

  it('cannot read host files, the KV store or the audit log itself', async () => {
    const kvStore = join(dirname(dirname(m.auditPath)), 'kv.sqlite');
    assert.ok(existsSync(kvStore) && existsSync(m.auditPath), 'they are there to be read');
    for (const path of [outside, join(workspace, 'secret.txt'), m.auditPath, kvStore, '/etc/shadow']) {
      const outcome = await attack(m, 'attacker', 'direct', 'readFile', { path });
      assert.equal(outcome.ok, false, path);
    }
  });

  it("Exec's working directory obeys fs.read: no reading private/, no hard link out of it", async () => {
    const inPrivate = await attack(m, 'attacker', 'processes', 'exec', { program: '/usr/bin/cat', args: ['p.txt'], cwd: 'private' });
    assert.equal(inPrivate.code, Code.PERMISSION_DENIED, inPrivate.raw);
    assert.match(inPrivate.message, /cwd "private"/);
    const whole = await attack(m, 'attacker', 'processes', 'exec', { program: '/usr/bin/cat', args: ['private/p.txt'], cwd: '.' });
    assert.equal(whole.code, Code.PERMISSION_DENIED, whole.raw);
    const link = await attack(m, 'attacker', 'processes', 'exec', { program: '/usr/bin/ln', args: ['../private/p.txt', 'p.txt'], cwd: 'public' });
    assert.notEqual(link.response?.exit?.exitCode ?? 1, 0, `ln must fail in a read-only public/: ${link.raw}`);
    assert.ok(!existsSync(join(workspace, 'public', 'p.txt')));
    const control = await attack(m, 'attacker', 'processes', 'exec', { program: '/usr/bin/cat', args: ['readme.txt'], cwd: 'public' });
    assert.equal(control.ok, true, control.raw);
    assert.equal(Buffer.from(control.response.stdout.$bytes, 'base64').toString(), 'public readme\n', Buffer.from(control.response.stderr?.$bytes ?? '', 'base64').toString());
    const denials = audit(m, 'attacker').filter((r) => r.op === 'Processes/Exec' && r.decision === 'deny');
    assert.ok(denials.length >= 2, JSON.stringify(denials));
  });

  it('a hard link planted in public/ is refused, not followed to what it shares an inode with', async (t) => {
    const planted = join(workspace, 'public', 'hard.txt');
    linkSync(join(workspace, 'private', 'p.txt'), planted);
    t.after(() => rmSync(planted));
    const read = await attack(m, 'attacker', 'filesystem', 'readFile', { path: 'public/hard.txt' });
    assert.equal(read.code, Code.PERMISSION_DENIED, read.raw);
    assert.match(read.message, /hard links/);
    assert.ok(audit(m, 'attacker').some((r) => r.op === 'Filesystem/ReadFile' && r.resource === 'public/hard.txt' && r.decision === 'deny'));
  });

  describe('from a go-plugin Go plugin', { skip: 'skip' in go ? go.skip : false }, () => {
    before(() => m.start('goattacker'));

    it('cannot read host files or forge audit lines', async () => {
      const before = readFileSync(m.auditPath, 'utf8');
      for (const key of [`os-read:${outside}`, `os-read:${m.auditPath}`, `os-read:${join(workspace, 'private', 'p.txt')}`, `os-append:${m.auditPath}`]) {
        const outcome = await goAttack(m, key);
        assert.equal(outcome.ok, false, `${key}: ${outcome.text}`);
      }
      assert.ok(!readFileSync(m.auditPath, 'utf8').includes('"rule":"forged"'));
      assert.ok(readFileSync(m.auditPath, 'utf8').startsWith(before));
    });

    it('cannot set up io_uring', async () => {
      const outcome = await goAttack(m, 'os-syscall:io_uring_setup');
      assert.equal(outcome.ok, false, outcome.text);
      assert.match(outcome.text, /io_uring_setup: (operation not permitted|function not implemented)/);
    });

    it('still gets what its manifest grants, through the host', async () => {
      const outcome = await goAttack(m, 'readFile:public/readme.txt');
      assert.deepEqual(outcome, { ok: true, text: 'public readme\n' });
    });
  });
});

describe('identity without the sandbox (--sandbox off): only the plugin\'s own certificate opens its listener', () => {
  let m: PluginManager;
  before(async () => {
    for (const entry of readdirSync(hostTmp)) rmSync(join(hostTmp, entry), { recursive: true, force: true });
    m = manager({ sandbox: 'off' });
    await m.discover();
    await m.start('victim');
    await m.start('attacker');
  });
  after(() => m.shutdown());

  it('refuses plaintext and a certificate of the attacker\'s making on every listener, and audits each as impersonation', async () => {
    const outcome = await attack(m, 'attacker', 'direct', 'impersonate', { dir: hostTmp, file: 'secret.txt' });
    if (transportUnderTest === 'native') {
      // On the native transport the host listens nowhere: not even an unsandboxed attacker has a socket to try.
      assert.equal(outcome.ok, false, outcome.raw);
      assert.match(outcome.raw, /no socket to try/);
      assert.deepEqual(hostSockets(), []);
      assert.ok(!audit(m, 'victim').some((r) => r.op === 'Filesystem/ReadFile' && r.resource === 'secret.txt'), 'no read in the victim\'s name');
      return;
    }
    assert.equal(outcome.ok, true, outcome.raw);
    const results = outcome.response.results as Array<{ socket: string; plaintext: { ok: boolean; error: string }; tls: { ok: boolean; error: string } }>;
    assert.ok(results.length >= 2, `both host-services listeners were found: ${outcome.raw}`);
    for (const r of results) {
      assert.equal(r.plaintext.ok, false, `${r.socket} answered in plaintext`);
      assert.equal(r.tls.ok, false, `${r.socket} accepted the attacker's certificate`);
    }
    const attempts = audit(m, 'victim').filter((r) => r.event === 'impersonation');
    assert.ok(attempts.length >= 2, `the victim's listener audited the attempts: ${JSON.stringify(attempts)}`);
    assert.ok(attempts.every((r) => r.decision === 'deny' && /own certificate/.test(r.rule)));
    assert.equal(m.info('attacker')?.sandboxMode, 'off');
    assert.ok(audit(m, 'attacker').some((r) => r.event === 'sandbox' && /sandbox off/.test(JSON.stringify(r.detail))));
  });
});

describe('signatures through PluginManager and hst run: every file the plugin loads', () => {
  const signedDir = () => join(pluginsDir, 'signed');
  let keys: string;
  let m: PluginManager;

  before(async () => {
    const dir = writePlugin(
      'signed',
      'name: signed\nversion: 1.0.0\nruntime: node\ncommand: main.js\nhandshake:\n  protocol_versions: [1]\n  magic_cookie_key: HST_PLUGIN\n  magic_cookie_value: signed\ncommands:\n  - name: greet\n    help: Says what its module and data file say\n',
    );
    writeFileSync(
      join(dir, 'main.js'),
      `import { readFileSync } from 'node:fs';\nimport { serve } from ${JSON.stringify(join(repo, 'dist', 'src', 'index.js'))};\nimport { greeting } from './lib.js';\n` +
        `await serve({ handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'signed' }, plugins: {}, commands: {\n` +
        `  greet: () => ({ greeting, data: readFileSync(new URL('./data.txt', import.meta.url), 'utf8') }),\n} });\n`,
    );
    writeFileSync(join(dir, 'lib.js'), "export const greeting = 'as signed';\n");
    writeFileSync(join(dir, 'data.txt'), 'signed data\n');
    keys = join(scratch, 'keys');
    const key = keygen(keys);
    await signPlugin(dir, key.privateKeyPath, { name: 'signed', version: '1.0.0', command: 'main.js' });
    m = manager({ signaturePolicy: 'require', trustedKeysDir: keys });
    await m.discover();
  });
  after(() => m.shutdown());

  async function greet(): Promise<{ greeting: string; data: string }> {
    const events = [];
    for await (const event of m.runCommand('signed', 'greet')) events.push(event);
    const last = events.at(-1) as { result: { value: { greeting: string; data: string } } };
    return last.result.value;
  }

  it('runs from the copy that was verified: a file changed afterwards does not reach it', async (t) => {
    await m.start('signed');
    assert.equal(m.info('signed')?.signature?.status, 'valid');
    writeFileSync(join(signedDir(), 'data.txt'), 'changed after the check\n');
    t.after(() => writeFileSync(join(signedDir(), 'data.txt'), 'signed data\n'));
    assert.deepEqual(await greet(), { greeting: 'as signed', data: 'signed data\n' });
    await m.stop('signed');
  });

  it('refuses a plugin whose imported module changed after signing, and says tampered everywhere', async (t) => {
    writeFileSync(join(signedDir(), 'lib.js'), "export const greeting = 'pwned';\n");
    t.after(() => writeFileSync(join(signedDir(), 'lib.js'), "export const greeting = 'as signed';\n"));
    await assert.rejects(m.start('signed'), /failed signature verification \(tampered\): lib\.js changed since it was signed/);
    assert.equal(m.info('signed')?.signature?.status, 'tampered');
    const record = audit(m, 'signed').findLast((r) => r.event === 'signature');
    assert.equal(record?.decision, 'deny');
    assert.equal((record?.detail as { status: string }).status, 'tampered');

    const dataDir = join(scratch, 'cli-data');
    mkdirSync(join(dataDir, 'trusted-keys'), { recursive: true });
    for (const name of readdirSync(keys).filter((n) => n.endsWith('.pub'))) copyFileSync(join(keys, name), join(dataDir, 'trusted-keys', name));
    const hst = (...args: string[]) =>
      spawnSync(process.execPath, [join(repo, 'dist', 'src', 'cli', 'main.js'), '--plugin-dir', pluginsDir, '--data-dir', dataDir, ...args], { encoding: 'utf8', timeout: 60_000 });
    const run = hst('--signatures', 'require', 'run', 'signed', 'greet');
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, /tampered/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'one line, no stack trace');
    const list = hst('list');
    assert.match(list.stdout, /^signed +\S+ +node .* tampered +greet$/m);
    const auditText = hst('audit', '--plugin', 'signed');
    assert.match(auditText.stdout, /signature status=tampered detail=lib\.js changed since it was signed/);
    const inspect = hst('inspect', signedDir());
    assert.match(inspect.stdout, /^ {2}signature {4}tampered: lib\.js changed since it was signed$/m);
  });
});
