/**
 * Path attacks from a real plugin process: every traversal encoding against
 * every file RPC, symlinks and hard links that lead out, /proc, and a
 * symlink swapped in while the plugin reads. The attacker may read public/**
 * and write out/** of its workspace; the secrets sit in the workspace root
 * and in a sibling directory.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Code } from '../../src/rpc/status.js';
import { ATTACKER, bytes, createScene, narrowManifest, sceneDir, textOf, type AttackCase, type Expectation, type Scene } from './scene.js';

const dir = sceneDir();
const workspace = join(dir, 'workspace');
const outside = join(dir, 'outside');

type Kind = 'read' | 'write';

/** A file RPC as a function of the path under attack. */
interface FileMethod {
  service: string;
  method: string;
  label: string;
  kind: Kind;
  request: (path: string) => unknown;
  /** For a path that the policy allows but that does not exist: how this RPC says "nothing there". */
  absent: Expectation;
}

const notFound: Expectation = { code: Code.NOT_FOUND };
const data = bytes('pwned');

const methods: FileMethod[] = [
  { service: 'filesystem', method: 'readFile', label: 'ReadFile', kind: 'read', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'readFileStream', label: 'ReadFileStream', kind: 'read', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'stat', label: 'Stat', kind: 'read', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'lstat', label: 'Lstat', kind: 'read', request: (path) => ({ path }), absent: notFound },
  {
    service: 'filesystem',
    method: 'exists',
    label: 'Exists',
    kind: 'read',
    request: (path) => ({ path }),
    absent: { allowed: (r) => assert.equal(r.exists, false) },
  },
  { service: 'filesystem', method: 'readDir', label: 'ReadDir', kind: 'read', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'readlink', label: 'Readlink', kind: 'read', request: (path) => ({ path }), absent: notFound },
  {
    service: 'filesystem',
    method: 'glob',
    label: 'Glob',
    kind: 'read',
    request: (pattern) => ({ pattern }),
    absent: { allowed: (r) => assert.deepEqual(r.matches, []) },
  },
  { service: 'filesystem', method: 'walk', label: 'Walk', kind: 'read', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'diskUsage', label: 'DiskUsage', kind: 'read', request: (path) => ({ path, subtree: true }), absent: notFound },
  { service: 'filesystem', method: 'watch', label: 'Watch', kind: 'read', request: (path) => ({ path, recursive: true }), absent: notFound },
  { service: 'handles', method: 'open', label: 'Open(read)', kind: 'read', request: (path) => ({ path, read: true }), absent: notFound },
  { service: 'filesystem', method: 'writeFile', label: 'WriteFile', kind: 'write', request: (path) => ({ path, data }), absent: notFound },
  { service: 'filesystem', method: 'appendFile', label: 'AppendFile', kind: 'write', request: (path) => ({ path, data }), absent: notFound },
  { service: 'filesystem', method: 'writeFileStream', label: 'WriteFileStream', kind: 'write', request: (path) => [{ path, data }], absent: notFound },
  { service: 'filesystem', method: 'mkdir', label: 'Mkdir', kind: 'write', request: (path) => ({ path, recursive: true }), absent: notFound },
  { service: 'filesystem', method: 'remove', label: 'Remove', kind: 'write', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'removeAll', label: 'RemoveAll', kind: 'write', request: (path) => ({ path }), absent: notFound },
  { service: 'filesystem', method: 'rename', label: 'Rename(from)', kind: 'write', request: (from) => ({ from, to: 'out/stolen.txt' }), absent: notFound },
  { service: 'filesystem', method: 'rename', label: 'Rename(to)', kind: 'write', request: (to) => ({ from: 'out/movable.txt', to }), absent: notFound },
  { service: 'filesystem', method: 'copy', label: 'Copy(from)', kind: 'write', request: (from) => ({ from, to: 'out/stolen.txt', overwrite: true }), absent: notFound },
  { service: 'filesystem', method: 'copy', label: 'Copy(to)', kind: 'write', request: (to) => ({ from: 'out/movable.txt', to, overwrite: true }), absent: notFound },
  { service: 'filesystem', method: 'chmod', label: 'Chmod', kind: 'write', request: (path) => ({ path, mode: 0o777 }), absent: notFound },
  { service: 'filesystem', method: 'truncate', label: 'Truncate', kind: 'write', request: (path) => ({ path, size: 0 }), absent: notFound },
  { service: 'handles', method: 'open', label: 'Open(write)', kind: 'write', request: (path) => ({ path, write: true, create: true, truncate: true }), absent: notFound },
];

/**
 * A path and what the policy must make of it. `deny`: refused before any
 * handler runs. `literal`: inside the read grant once taken literally, so
 * reads find nothing and writes are still denied: never decoded into `..`.
 * `invalid`: denied, or (where the policy reads it as a temp path) refused
 * as an invalid path by the handler.
 */
interface PathAttack {
  label: string;
  path: string;
  verdict: 'deny' | 'literal' | 'invalid';
}

const traversal: PathAttack[] = [
  { label: '..', path: '..', verdict: 'deny' },
  { label: '../outside/secret.txt', path: '../outside/secret.txt', verdict: 'deny' },
  { label: 'public/../../outside/secret.txt', path: 'public/../../outside/secret.txt', verdict: 'deny' },
  { label: 'public/../secret.txt (in the root, outside the grant)', path: 'public/../secret.txt', verdict: 'deny' },
  { label: './../outside/secret.txt', path: './../outside/secret.txt', verdict: 'deny' },
  { label: 'public/./../../outside/secret.txt', path: 'public/./../../outside/secret.txt', verdict: 'deny' },
  { label: 'public//../../outside/secret.txt', path: 'public//../../outside/secret.txt', verdict: 'deny' },
  { label: '../outside/secret.txt/ (trailing slash)', path: '../outside/secret.txt/', verdict: 'deny' },
  { label: 'public/../secret.txt// (trailing slashes)', path: 'public/../secret.txt//', verdict: 'deny' },
  { label: 'secret.txt/ (trailing slash)', path: 'secret.txt/', verdict: 'deny' },
  { label: '%2e%2e/outside/secret.txt', path: '%2e%2e/outside/secret.txt', verdict: 'deny' },
  { label: 'public/%2e%2e/secret.txt', path: 'public/%2e%2e/secret.txt', verdict: 'literal' },
  { label: 'public/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt', path: 'public/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt', verdict: 'literal' },
  { label: 'public/%252e%252e/secret.txt (double encoded)', path: 'public/%252e%252e/secret.txt', verdict: 'literal' },
  { label: 'public/..%2fsecret.txt', path: 'public/..%2fsecret.txt', verdict: 'deny' },
  { label: 'U+2025 two-dot leader', path: 'public/\u2025/secret.txt', verdict: 'literal' },
  { label: 'U+2025 at the start', path: '\u2025/outside/secret.txt', verdict: 'deny' },
  { label: 'fullwidth ．．', path: 'public/\uff0e\uff0e/secret.txt', verdict: 'literal' },
  { label: 'fullwidth ．．／ solidus', path: 'public/\uff0e\uff0e\uff0f\uff0e\uff0e\uff0foutside\uff0fsecret.txt', verdict: 'literal' },
  { label: 'U+2215 division slash', path: 'public/..\u2215..\u2215outside\u2215secret.txt', verdict: 'deny' },
  { label: '/etc/passwd', path: '/etc/passwd', verdict: 'deny' },
  { label: 'absolute host path of the outside secret', path: join(outside, 'secret.txt'), verdict: 'deny' },
  { label: 'absolute host path of the workspace secret', path: join(workspace, 'secret.txt'), verdict: 'deny' },
  { label: '//etc/passwd', path: '//etc/passwd', verdict: 'deny' },
  { label: 'NUL then ..', path: 'public/\0/../../outside/secret.txt', verdict: 'deny' },
  { label: 'NUL-truncated extension', path: 'public/readme.txt\0../../secret.txt', verdict: 'deny' },
  { label: 'Windows ..\\outside\\secret.txt', path: '..\\outside\\secret.txt', verdict: 'deny' },
  { label: 'Windows public\\..\\..\\outside\\secret.txt', path: 'public\\..\\..\\outside\\secret.txt', verdict: 'deny' },
  { label: 'Windows public/..\\secret.txt', path: 'public/..\\secret.txt', verdict: 'deny' },
  { label: 'Windows drive C:\\Windows\\win.ini', path: 'C:\\Windows\\win.ini', verdict: 'deny' },
  { label: 'empty path', path: '', verdict: 'deny' },
  { label: '. (the root itself)', path: '.', verdict: 'deny' },
  { label: 'very long ../ chain', path: `${'../'.repeat(4096)}etc/passwd`, verdict: 'deny' },
  { label: '$tmp/../secret.txt', path: '$tmp/../secret.txt', verdict: 'invalid' },
  { label: '$tmp/../../outside/secret.txt', path: '$tmp/../../outside/secret.txt', verdict: 'invalid' },
  { label: '~/secret.txt', path: '~/secret.txt', verdict: 'deny' },
  { label: 'file:///etc/passwd', path: 'file:///etc/passwd', verdict: 'deny' },
  { label: '/proc/self/environ', path: '/proc/self/environ', verdict: 'deny' },
  { label: '/proc/self/root/etc/passwd', path: '/proc/self/root/etc/passwd', verdict: 'deny' },
  { label: '/proc/self/cwd/secret.txt', path: '/proc/self/cwd/secret.txt', verdict: 'deny' },
  { label: '/proc/self/fd/0', path: '/proc/self/fd/0', verdict: 'deny' },
  { label: '/proc/<hostpid>/environ', path: `/proc/${process.pid}/environ`, verdict: 'deny' },
  { label: '/proc/<hostpid>/root/<outside secret>', path: `/proc/${process.pid}/root${join(outside, 'secret.txt')}`, verdict: 'deny' },
  { label: 'proc/self/environ (relative)', path: 'proc/self/environ', verdict: 'deny' },
];

function traversalCase(m: FileMethod, p: PathAttack): AttackCase {
  const expect: Expectation = p.verdict === 'invalid' ? { denyOr: Code.INVALID_ARGUMENT } : p.verdict === 'deny' || m.kind === 'write' ? 'deny' : m.absent;
  return { name: `${m.label} ${p.label}`, service: m.service, method: m.method, request: m.request(p.path), expect };
}

/** Links the test plants in the workspace (a plugin has no RPC to make one); again before each case, which may have removed one. */
function plantLinks(): void {
  rmSync(join(workspace, 'out'), { recursive: true, force: true });
  mkdirSync(join(workspace, 'out'));
  const link = (target: string, at: string) => {
    rmSync(join(workspace, at), { recursive: true, force: true });
    symlinkSync(target, join(workspace, at));
  };
  link('../../outside/secret.txt', 'public/link-out');
  link(join(outside, 'secret.txt'), 'public/link-abs');
  link('/etc/passwd', 'public/link-etc');
  link('/proc/self/environ', 'public/link-proc');
  link(`/proc/${process.pid}/root${outside}`, 'public/link-proc-root');
  link('../../outside', 'public/link-dir-out');
  link('link-chain-2', 'public/link-chain');
  link('../../outside/secret.txt', 'public/link-chain-2');
  link('link-loop', 'public/link-loop');
  link('../secret.txt', 'public/link-ws-secret');
  link('../../outside/secret.txt', 'out/link-out');
  link(join(outside, 'secret.txt'), 'out/link-abs');
  link('../../outside', 'out/link-dir-out');
  link('../secret.txt', 'out/link-ws-secret');
  writeFileSync(join(workspace, 'out', 'movable.txt'), 'movable');
}

/** A symlink path and the RPCs that would follow it out. */
const symlinkReads: Array<[string, string]> = [
  ['public/link-out', 'relative symlink to the outside secret'],
  ['public/link-abs', 'absolute symlink to the outside secret'],
  ['public/link-etc', 'symlink to /etc/passwd'],
  ['public/link-proc', 'symlink to /proc/self/environ'],
  ['public/link-proc-root', 'symlink through /proc/<hostpid>/root'],
  ['public/link-dir-out/secret.txt', 'through a symlinked directory'],
  ['public/link-chain', 'chain of two symlinks'],
  ['public/link-ws-secret', 'symlink to a workspace file outside the read grant'],
];
const symlinkWrites: Array<[string, string]> = [
  ['out/link-out', 'relative symlink to the outside secret'],
  ['out/link-abs', 'absolute symlink to the outside secret'],
  ['out/link-dir-out/secret.txt', 'through a symlinked directory'],
  ['out/link-dir-out/new.txt', 'creating through a symlinked directory'],
  ['out/link-ws-secret', 'symlink to a workspace file outside the write grant'],
];

const readVia = new Set(['ReadFile', 'ReadFileStream', 'Stat', 'Exists', 'ReadDir', 'Walk', 'DiskUsage', 'Watch', 'Open(read)']);
const writeVia = new Set(['WriteFile', 'AppendFile', 'WriteFileStream', 'Mkdir', 'Chmod', 'Truncate', 'Open(write)', 'Copy(from)', 'Copy(to)', 'Rename(from)', 'RemoveAll']);

/** RPCs that may act on a link itself (replace it, create next to it) rather than refuse; the checks that nothing outside changed still apply. */
const actOnLink = new Set(['Copy(to)', 'Mkdir']);

/**
 * Following the link is refused (PERMISSION_DENIED from the confinement,
 * whose record is a deny). Removing or renaming the link itself is allowed:
 * it is a name in out/; what it points to must stay untouched.
 */
function symlinkCase(m: FileMethod, path: string, what: string): AttackCase {
  const onLinkItself = !path.includes('link-dir-out/') && (m.label === 'RemoveAll' || m.label === 'Rename(from)');
  const expect: Expectation = onLinkItself ? { allowed: () => {} } : actOnLink.has(m.label) ? 'contained' : 'deny';
  return { name: `${m.label} ${path} (${what})`, service: m.service, method: m.method, request: m.request(path), expect };
}

let scene: Scene;
/** A case as a test body. */
const check = (c: AttackCase) => async () => void (await scene.attack(c));

describe('filesystem attacks', () => {
  before(async () => {
    scene = await createScene({ dir, attacker: narrowManifest(1) });
    plantLinks();
    scene.markOutside();
  });
  after(() => scene.close());

  describe('path traversal, every encoding, every file RPC', () => {
    for (const m of methods) for (const p of traversal) {
      const c = traversalCase(m, p);
      it(c.name, check(c));
    }
  });

  describe('symlinks that lead out', () => {
    beforeEach(plantLinks);
    for (const m of methods.filter((m) => readVia.has(m.label))) for (const [path, what] of symlinkReads) {
      const c = symlinkCase(m, path, what);
      it(c.name, check(c));
    }
    for (const m of methods.filter((m) => writeVia.has(m.label))) for (const [path, what] of symlinkWrites) {
      const c = symlinkCase(m, path, what);
      it(c.name, check(c));
    }

    it('a refusal by the confinement is not audited as a deny by the rule that allowed the call', async () => {
      const { audit } = await scene.attack({ name: 'link-out', service: 'filesystem', method: 'readFile', request: { path: 'public/link-out' }, expect: 'deny' });
      const deny = audit.find((r) => r.decision === 'deny');
      assert.notEqual(deny?.rule, 'fs.read:public/**', `the record says the grant denied it: ${JSON.stringify(deny)}`);
    });

    it('a symlink loop is refused, not spun on', check({ name: 'loop', service: 'filesystem', method: 'readFile', request: { path: 'public/link-loop' }, expect: 'deny' }));

    it('listings of public/ do not descend into a symlinked directory', async () => {
      for (const [method, request] of [
        ['walk', { path: 'public' }],
        ['glob', { pattern: 'public/**' }],
        ['glob', { pattern: 'public/*/*' }],
        ['readDir', { path: 'public/link-dir-out' }],
      ] as const) {
        const { outcome } = await scene.attack({
          name: method,
          service: 'filesystem',
          method,
          request,
          expect: method === 'readDir' ? 'deny' : { allowed: () => {} },
        });
        assert.ok(!outcome.raw.includes('link-dir-out/secret.txt') && !outcome.raw.includes('link-proc-root/'), `${method} listed what is behind a symlink: ${outcome.raw}`);
      }
    });
  });

  describe('a deny rule, and a symlink around it', () => {
    const privateText = `PRIVATE-${process.pid}-${Date.now()}`;
    before(() => {
      mkdirSync(join(workspace, 'public', 'private'));
      writeFileSync(join(workspace, 'public', 'private', 'key.txt'), privateText);
      symlinkSync('../private', join(workspace, 'public', 'docs', 'p'));
      scene.policy.grant(ATTACKER, 'deny:fs.read:public/private/**');
    });
    after(() => scene.policy.revoke(ATTACKER, 'deny:fs.read:public/private/**'));

    it('the denied file by its own name', async () => {
      const { audit } = await scene.attack({ name: 'direct', service: 'filesystem', method: 'readFile', request: { path: 'public/private/key.txt' }, expect: 'deny' });
      assert.equal(audit[0]?.rule, 'deny:fs.read:public/private/**');
    });
    for (const m of methods.filter((m) => ['ReadFile', 'ReadFileStream', 'Open(read)', 'Stat'].includes(m.label))) {
      it(`${m.label} of the denied file through an in-root symlink to its directory`, async () => {
        const { outcome } = await scene.attack({ name: m.label, service: m.service, method: m.method, request: m.request('public/docs/p/key.txt'), expect: 'deny' });
        assert.ok(!outcome.raw.includes(privateText));
      });
    }
    // WriteFileStream opens its file after awaiting its first message: the check must still know whose call it is.
    for (const m of methods.filter((m) => ['WriteFile', 'WriteFileStream', 'Open(write)'].includes(m.label))) {
      it(`${m.label} into a write-denied directory through an in-root symlink to it`, async (t) => {
        scene.policy.grant(ATTACKER, 'deny:fs.write:public/private/**');
        t.after(() => scene.policy.revoke(ATTACKER, 'deny:fs.write:public/private/**'));
        await scene.attack({ name: m.label, service: m.service, method: m.method, request: m.request('public/docs/p/planted.txt'), expect: 'deny' });
        assert.ok(!existsSync(join(workspace, 'public', 'private', 'planted.txt')), `${m.label} wrote through the symlink`);
      });
    }
  });

  describe('hard links', () => {
    it('a hard link to the outside secret, planted inside public/, is refused: a file with several links may be anything', async (t) => {
      const hardLink = join(workspace, 'public', 'hard-secret');
      linkSync(join(outside, 'secret.txt'), hardLink);
      t.after(() => rmSync(hardLink));
      scene.freshAudit();
      for (const [service, method, request] of [
        ['filesystem', 'readFile', { path: 'public/hard-secret' }],
        ['handles', 'open', { path: 'public/hard-secret', read: true }],
        ['filesystem', 'stat', { path: 'public/hard-secret' }],
      ] as const) {
        const outcome = await scene.attacker.run(service, method, request);
        assert.equal(outcome.ok, false, `${method} through a hard link: ${outcome.raw}`);
        assert.equal(outcome.code, Code.PERMISSION_DENIED, outcome.raw);
        assert.match(outcome.message, /hard links/);
        assert.ok(!outcome.raw.includes(scene.secrets.outside), outcome.raw);
      }
      const audit = scene.freshAudit().filter((r) => r.resource === 'public/hard-secret');
      assert.ok(audit.length >= 3 && audit.every((r) => r.decision === 'deny' && r.rule === 'workspace confinement'), JSON.stringify(audit));
    });
    it(
      'the plugin cannot make a hard link of its own: Copy copies bytes, and only from where it may write',
      check({ name: 'copy', service: 'filesystem', method: 'copy', request: { from: '../outside/secret.txt', to: 'out/hard' }, expect: 'deny' }),
    );
  });

  describe('a symlink swapped in while the plugin reads', () => {
    it('0 reads of the secret in 400 tries', async (t) => {
      // public/race is a real directory one moment and a link to the outside directory the next,
      // swapped by another thread so that it can land between the host's checks.
      const real = join(workspace, 'public', 'race-real');
      mkdirSync(real);
      writeFileSync(join(real, 'secret.txt'), 'public copy');
      symlinkSync('../../outside', join(workspace, 'public', 'race-link'));
      const swapper = new Worker(
        `const { renameSync } = require('node:fs');
         const { workerData: w, parentPort } = require('node:worker_threads');
         let stop = false, swaps = 0;
         parentPort.on('message', () => (stop = true));
         (function loop() {
           for (let i = 0; i < 200; i++) {
             try { renameSync(w.real, w.race); renameSync(w.race, w.real); renameSync(w.link, w.race); renameSync(w.race, w.link); swaps++; } catch {}
           }
           if (stop) parentPort.postMessage(swaps); else setImmediate(loop);
         })();`,
        { eval: true, workerData: { real, link: join(workspace, 'public', 'race-link'), race: join(workspace, 'public', 'race') } },
      );
      try {
        scene.freshAudit();
        const outcome = await scene.attacker.run('repeat', 'filesystem.readFile', { times: 400, request: { path: 'public/race/secret.txt' } });
        for (const secret of scene.secretValues) assert.ok(!outcome.raw.includes(secret), 'a read returned the outside secret');
        const summary = outcome.response as { ok: number; failed: number; codes: Record<string, number>; responses: Array<{ data: unknown }> };
        assert.equal(summary.ok + summary.failed, 400);
        for (const r of summary.responses) assert.equal(textOf(r.data), 'public copy');
        t.diagnostic(`${summary.ok} reads of the public copy, ${summary.failed} refused (${JSON.stringify(summary.codes)})`);
        const audit = scene.freshAudit().filter((r) => r.op === 'Filesystem/ReadFile');
        assert.equal(audit.length, 400, 'one audit record per read');
        assert.ok(audit.every((r) => r.plugin === 'attacker' && r.instance === scene.attacker.clientId));
        // Every refusal is on record as one.
        assert.equal(audit.filter((r) => r.decision === 'deny' || r.error !== undefined).length, summary.failed);
      } finally {
        const swaps = await new Promise<number>((resolve) => {
          swapper.once('message', resolve);
          swapper.postMessage('stop');
        });
        await swapper.terminate();
        t.diagnostic(`${swaps} swaps`);
        assert.ok(swaps > 0, 'the swapper never ran');
      }
    });
  });

  it('nothing outside the workspace changed', () => scene.assertOutsideUntouched());
});
