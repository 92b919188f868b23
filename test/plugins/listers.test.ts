/**
 * The two listers in other languages, golister (Go, real go-plugin) and
 * pylelister (Python, sdk/python): one suite, run against each, through a
 * host with the policy from each plugin's own manifest.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, PluginClient, RpcError, runCommand, type CommandEvent } from '../../src/index.js';
import { MemoryLogger } from '../../src/log.js';
import { allHostServices } from '../../src/host-services/catalog.js';
import { establishHostServices } from '../../src/host-services/establish.js';
import { HostServices } from '../../src/host-services/host-services.js';
import { AuditLog, readAudit } from '../../src/security/audit.js';
import { guardHostServices } from '../../src/security/guard.js';
import { loadManifest } from '../../src/security/manifest.js';
import { Policy } from '../../src/security/policy.js';
import { eventually, goPeers, pythonPeer, repo } from '../support/peers.js';

interface Lister {
  name: 'golister' | 'pylelister';
  language: string;
  skip: string | false;
  /** Builds or checks the plugin, returning what build-plugins printed and how to launch an entry. */
  prepare(): { built: RegExp; env: NodeJS.ProcessEnv; launch(entry: string, args: string[]): { path: string; args: string[] } };
}

const go = goPeers();
const py = pythonPeer();
const python = 'python' in py ? py.python : 'python3';
const listers: Lister[] = [
  {
    name: 'golister',
    language: 'Go',
    skip: 'skip' in go ? go.skip : false,
    prepare: () => ({ built: /golister: binary, built plugins\/golister\/bin\/golister/, env: process.env, launch: (entry, args) => ({ path: entry, args }) }),
  },
  {
    name: 'pylelister',
    language: 'Python',
    skip: 'skip' in py ? py.skip : false,
    prepare: () => ({
      built: /pylelister: python, ready: the Python SDK packages import/,
      env: { ...process.env, PYTHON: python },
      launch: (entry, args) => ({ path: python, args: [entry, ...args] }),
    }),
  },
];

for (const lister of listers) {
  const pluginDir = join(repo, 'plugins', lister.name);

  describe(`${lister.name} (${lister.language})`, { skip: lister.skip }, () => {
    let dir: string;
    let workspace: string;
    let outside: string;
    let hostServices: HostServices;
    let audit: AuditLog;
    let client: PluginClient;

    before(async () => {
      const prep = lister.prepare();
      const built = execFileSync(process.execPath, [join(repo, 'scripts', 'build-plugins.mjs'), lister.name], { cwd: repo, encoding: 'utf8', env: prep.env });
      assert.match(built, prep.built);
      const manifest = await loadManifest(join(pluginDir, 'plugin.yaml'));

      dir = mkdtempSync(join(tmpdir(), `hst-${lister.name}-`));
      workspace = join(dir, 'workspace');
      outside = join(dir, 'outside');
      mkdirSync(join(workspace, 'project', 'docs'), { recursive: true });
      mkdirSync(outside);
      writeFileSync(join(workspace, 'project', 'a.txt'), 'hello');
      symlinkSync('a.txt', join(workspace, 'project', 'link'));
      writeFileSync(join(workspace, 'readme.md'), 'top');

      hostServices = new HostServices({ modules: allHostServices, dataDir: join(dir, 'data'), logger: new MemoryLogger() });
      const policy = new Policy();
      policy.setManifest(manifest.name, manifest.capabilities);
      audit = new AuditLog({ path: join(dir, 'data', 'audit.jsonl') });
      guardHostServices({ hostServices, policy, audit });
      const { protocolVersions, magicCookieKey, magicCookieValue } = manifest.handshake;
      client = new PluginClient({
        name: manifest.name,
        handshake: { protocolVersion: protocolVersions[0] ?? 1, magicCookieKey, magicCookieValue },
        plugins: {},
        command: prep.launch(join(manifest.dir, manifest.command), manifest.args),
        logger: new MemoryLogger(),
        stdin: 'ignore',
      });
      assert.ok(await establishHostServices(client, hostServices, { workspace, owner: manifest.name }), `${lister.name} did not take host services`);
    });

    after(async () => {
      await client?.kill();
      if (hostServices) {
        assert.ok(await eventually(() => hostServices.callers().length === 0), 'the plugin still holds host services after it exited');
        await hostServices.close();
      }
      audit?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function run(command: string, args: Record<string, string> = {}, color = false): Promise<CommandEvent[]> {
      const events: CommandEvent[] = [];
      for await (const e of runCommand(await client.connect(), command, args, { color })) events.push(e);
      return events;
    }

    /** What the host reports for each entry of project/ (ReadDir does not follow symlinks). */
    function projectEntries() {
      return ['a.txt', 'docs', 'link'].map((name) => {
        const st = lstatSync(join(workspace, 'project', name));
        return { name, type: st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file', size: st.size };
      });
    }

    const lines = (entries: Array<{ name: string; type: string; size: number }>) => entries.map((e) => `${e.type} ${e.size} ${e.name}\n`);

    /** The plugin's audit records, as [op, resource, decision, rule]. */
    const audited = () => readAudit(audit.path, { plugin: lister.name }).map((r) => [r.op, r.resource, r.decision, r.rule]);

    it('lists a directory: one "type size name" line per entry, then the entries as the result', async () => {
      const entries = projectEntries();
      assert.deepEqual(entries.map((e) => e.type), ['file', 'dir', 'symlink']);
      assert.deepEqual(await run('list', { path: 'project' }), [
        ...lines(entries).map((output) => ({ output })),
        { result: { value: { path: 'project', entries }, exitCode: 0 } },
      ]);
      assert.deepEqual(audited().at(-1), ['Filesystem/ReadDir', 'project', 'allow', 'fs.read:**']);
    });

    it('colours directory names only when the terminal shows colours', async () => {
      const outputs = (events: CommandEvent[]) => events.flatMap((e) => ('output' in e ? [e.output] : []));
      assert.ok(outputs(await run('list', { path: 'project' }, true)).includes(`dir ${projectEntries()[1]?.size} \x1b[1;34mdocs\x1b[0m\n`));
      assert.ok(outputs(await run('list', { path: 'project' })).every((o) => !o.includes('\x1b')));
    });

    it('saves a listing under listings/, creating the directory, through the host', async () => {
      const listing = lines(projectEntries()).join('');
      const before = audited().length;
      assert.deepEqual(await run('save', { path: 'project', out: 'listings/project.txt' }), [
        { progress: 'listing project' },
        { progress: 'writing listings/project.txt' },
        { output: 'saved 3 entries of project to listings/project.txt\n' },
        { result: { value: { path: 'project', out: 'listings/project.txt', entries: 3, bytes: Buffer.byteLength(listing) }, exitCode: 0 } },
      ]);
      assert.equal(readFileSync(join(workspace, 'listings', 'project.txt'), 'utf8'), listing);
      assert.deepEqual(audited().slice(before), [
        ['Filesystem/ReadDir', 'project', 'allow', 'fs.read:**'],
        ['Filesystem/WriteFile', 'listings/project.txt', 'allow', 'fs.write:listings/**'],
        ['Filesystem/Mkdir', 'listings', 'allow', 'fs.write:listings/**'],
        ['Filesystem/WriteFile', 'listings/project.txt', 'allow', 'fs.write:listings/**'],
      ]);
    });

    it('a save outside listings/ is denied by the manifest and audited, and writes nothing', async () => {
      const events = await run('save', { path: 'project', out: 'notes.txt' });
      const message = 'Filesystem/WriteFile notes.txt: denied by default deny';
      assert.deepEqual(events.slice(2), [{ output: `${message}\n` }, { result: { value: { error: message }, exitCode: 1 } }]);
      assert.equal(existsSync(join(workspace, 'notes.txt')), false);
      assert.deepEqual(audited().at(-1), ['Filesystem/WriteFile', 'notes.txt', 'deny', 'default deny']);
    });

    it('cannot save out of the workspace through a symlink under listings/', async () => {
      symlinkSync(outside, join(workspace, 'listings', 'out'));
      const message = 'Filesystem/WriteFile listings/out/stolen.txt: a symbolic link on the way points outside the workspace';
      assert.deepEqual((await run('save', { path: 'project', out: 'listings/out/stolen.txt' })).slice(2), [
        { output: `${message}\n` },
        { result: { value: { error: message }, exitCode: 1 } },
      ]);
      assert.deepEqual(readdirSync(outside), []);
      assert.deepEqual(audited().at(-1), ['Filesystem/WriteFile', 'listings/out/stolen.txt', 'deny', 'workspace confinement']);
    });

    it('a missing directory or a path out of the workspace is a failed run naming the path', async () => {
      for (const path of ['missing', '../outside']) {
        const events = await run('list', { path });
        assert.equal(events.length, 2, JSON.stringify(events));
        const [output, result] = events;
        assert.ok(output && 'output' in output && output.output.startsWith('Filesystem/ReadDir') && output.output.includes(path), JSON.stringify(output));
        assert.ok(result && 'result' in result && result.result.exitCode === 1, JSON.stringify(result));
      }
    });

    it('an unknown command is NOT_FOUND', async () => {
      const err = await run('nope').catch((e: unknown) => e);
      assert.ok(err instanceof RpcError, String(err));
      assert.equal(err.code, Code.NOT_FOUND);
      assert.match(err.details, /no command "nope"; this plugin has list, save/);
    });

    it('lists the workspace root by default', async () => {
      const events = await run('list');
      const result = events.at(-1);
      assert.ok(result && 'result' in result && result.result.exitCode === 0, JSON.stringify(events));
      const { path, entries } = result.result.value as { path: string; entries: Array<{ name: string }> };
      assert.equal(path, '.');
      assert.deepEqual(entries.map((e) => e.name), ['listings', 'project', 'readme.md']);
    });
  });
}
