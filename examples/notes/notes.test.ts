/**
 * The worked example of docs/extending-host-services.md, end to end: an
 * application adds Notes to hst's host services, and plugins in TypeScript,
 * Go and Python call it under the application's own capabilities, through
 * PluginManager and through the `hst` command line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readAudit } from '../../src/security/audit.js';
import { commandResult, managerFactory } from '../../test/support/managers.js';
import { dist, goPeers, inTempDir, pythonPeer, repo } from '../../test/support/peers.js';
import { notesService } from './notes-service.js';

const run = promisify(execFile);
const pluginsDir = join(repo, 'examples', 'notes', 'plugins');
const go = goPeers();
const python = pythonPeer();
const skip = 'skip' in go ? go.skip : 'skip' in python ? python.skip : false;

/** The Go plugin's binary, where its manifest says it is. */
function buildGoPlugin(): void {
  execFileSync(process.execPath, [join(repo, 'scripts', 'build-plugins.mjs'), 'notes-go'], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
}


const languages = ['ts', 'go', 'py'] as const;

describe('an application adds a host service, and plugins in three languages call it', { skip }, () => {
  it('Notes from TypeScript, Go and Python: each writes its own notes, reads everyone\'s, and is refused the rest', () =>
    inTempDir(async (dir) => {
      buildGoPlugin();
      const m = managerFactory(pluginsDir, dir)({ hostServices: [notesService] });
      try {
        for (const lang of languages) {
          const put = await commandResult(m, `notes-${lang}`, 'put', { name: `shared/notes-${lang}/todo`, text: `hello from ${lang}` });
          assert.deepEqual(put.value, { revision: 1 }, `notes-${lang}: ${put.output}`);
        }
        // Everyone reads everyone's: the host says who wrote each note, whatever the writer claims.
        for (const [reader, writer] of [['ts', 'go'], ['go', 'py'], ['py', 'ts']] as const) {
          const got = await commandResult(m, `notes-${reader}`, 'get', { name: `shared/notes-${writer}/todo` });
          assert.deepEqual(got.value, { text: `hello from ${writer}`, revision: 1, writtenBy: `notes-${writer}` }, `notes-${reader} reading ${writer}: ${got.output}`);
        }
        const again = await commandResult(m, 'notes-go', 'put', { name: 'shared/notes-go/todo', text: 'twice' });
        assert.deepEqual(again.value, { revision: 2 });

        // Writing another plugin's note: the manifest grants notes.write only under the plugin's own name.
        for (const lang of languages) {
          const refused = await commandResult(m, `notes-${lang}`, 'put', { name: 'shared/notes-ts/todo', text: 'overwritten' });
          if (lang === 'ts') {
            assert.equal(refused.exitCode, 0);
            continue;
          }
          assert.equal(refused.exitCode, 1, `notes-${lang} was not refused: ${refused.output}`);
          assert.match(refused.output, /Notes\/Put shared\/notes-ts\/todo: denied/);
        }
        // A name the service cannot even resolve is refused before any handler runs, saying why.
        const invalid = await commandResult(m, 'notes-py', 'put', { name: 'shared/notes-py/../../x', text: 'escape' });
        assert.equal(invalid.exitCode, 1);
        assert.match(invalid.output, /Notes\/Put <invalid>: denied by default deny \("shared\/notes-py\/..\/..\/x" is not a note name/);

        const records = readAudit(m.auditPath).filter((r) => r.op === 'Notes/Put');
        assert.ok(records.some((r) => r.plugin === 'notes-go' && r.capability === 'notes.write' && r.resource === 'shared/notes-go/todo' && r.decision === 'allow'));
        assert.ok(records.some((r) => r.plugin === 'notes-py' && r.resource === 'shared/notes-ts/todo' && r.decision === 'deny'));
        assert.ok(records.some((r) => r.plugin === 'notes-py' && r.resource === '<invalid>' && r.decision === 'deny'), JSON.stringify(records.filter((r) => r.plugin === 'notes-py')));
      } finally {
        await m.shutdown();
      }
    }));

});

describe('hst --host-services', { skip }, () => {
  const hst = (dir: string, ...args: string[]) =>
    run(process.execPath, [join(dist, 'src', 'cli', 'main.js'), '--host-services', join(dist, 'examples', 'notes', 'notes-service.js'), '--plugin-dir', pluginsDir, '--data-dir', join(dir, 'data'), ...args], { cwd: dir });

  it('serves the module to plugins run from the command line; notes outlive the process that wrote them', () =>
    inTempDir(async (dir) => {
      buildGoPlugin();
      assert.equal((await hst(dir, 'run', 'notes-py', 'put', 'shared/notes-py/list', 'milk, eggs')).stdout, 'shared/notes-py/list: revision 1\n');
      const { stdout } = await hst(dir, '--json', 'run', 'notes-go', 'get', 'shared/notes-py/list');
      assert.deepEqual(JSON.parse(stdout), { text: 'milk, eggs', revision: 1, writtenBy: 'notes-py' });
    }));

  it("without the application's module the plugins are refused, each with its manifest's line and how to load the module", () =>
    inTempDir(async (dir) => {
      // A process of its own: capability kinds, once an application defines them, stay defined in its process.
      const { stdout } = await run(process.execPath, [join(dist, 'src', 'cli', 'main.js'), '--plugin-dir', pluginsDir, '--data-dir', join(dir, 'data'), '--json', 'list'], { cwd: dir });
      const plugins = JSON.parse(stdout) as Array<{ name: string; status: string; lastError?: string }>;
      for (const lang of languages) {
        const info = plugins.find((p) => p.name === `notes-${lang}`);
        assert.equal(info?.status, 'invalid', `notes-${lang}: ${info?.status}`);
        assert.match(info?.lastError ?? '', new RegExp(`notes-${lang}/plugin.yaml:14:5: capabilities\\[0\\]: "notes.read:shared/\\*\\*" is not a capability`));
        assert.match(info?.lastError ?? '', /hst --host-services <module>/);
      }
    }));

  it('a module that is missing or exports something else: one line naming it, exit 2', () =>
    inTempDir(async (dir) => {
      for (const [file, said] of [
        [join(dir, 'nowhere.js'), /--host-services .*nowhere\.js: no such module/],
        [join(dist, 'examples', 'notes', 'gen', 'acme', 'notes', 'v1', 'notes.js'), /its default export is not a host service module/],
      ] as const) {
        const failed = await run(process.execPath, [join(dist, 'src', 'cli', 'main.js'), '--host-services', file, 'list'], { cwd: dir }).then(
          () => assert.fail('succeeded'),
          (e: { code: number; stderr: string }) => e,
        );
        assert.equal(failed.code, 2);
        assert.match(failed.stderr, said);
        assert.equal(failed.stderr.trim().split('\n').length, 1, failed.stderr);
      }
    }));
});
