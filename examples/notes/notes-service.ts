/**
 * A host service an application adds (docs/extending-host-services.md):
 * Notes, from ./proto/acme/notes/v1/notes.proto. The module says which
 * capability each operation exercises and on what resource; hst checks every
 * call against the calling plugin's manifest and the operator's policy,
 * audits it, and only then runs the handler, which knows the caller by an
 * identity the plugin cannot choose (`caller.owner`).
 *
 * The notes live in `<data dir>/notes.json`, so `hst --host-services` runs
 * in separate processes see each other's notes.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, hostService, RpcError } from '../../src/host/index.js';
import { NotesDefinition } from './gen/acme/notes/v1/notes.js';

interface Note {
  text: string;
  revision: number;
  writtenBy: string;
}

/** The notes of one host, in one JSON file written whole (write, then rename) on every change. */
class NoteStore {
  private readonly notes: Map<string, Note>;

  constructor(private readonly file: string) {
    let saved: Record<string, Note> = {};
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Note>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.notes = new Map(Object.entries(saved));
  }

  get(name: string): Note | undefined {
    return this.notes.get(name);
  }

  put(name: string, text: string, writtenBy: string): number {
    const revision = (this.notes.get(name)?.revision ?? 0) + 1;
    this.notes.set(name, { text, revision, writtenBy });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.notes)));
    renameSync(`${this.file}.tmp`, this.file);
    return revision;
  }
}

/** Names like "shared/todo": segments of letters, digits, '.', '_' and '-', none of them "." or "..". */
const NOTE_NAME = /^(?!\.\.?(\/|$))[\w.-]+(\/(?!\.\.?(\/|$))[\w.-]+)*$/;

function checkedName(name: string): string {
  if (!NOTE_NAME.test(name)) throw new RpcError(Code.INVALID_ARGUMENT, `${JSON.stringify(name)} is not a note name (segments of letters, digits, ".", "_" and "-", separated by "/")`);
  return name;
}

export const notesService = hostService({
  definition: NotesDefinition,
  // Capability kinds of the application's own: manifests ask for notes.read:<glob> and notes.write:<glob>.
  capabilities: { 'notes.read': 'glob', 'notes.write': 'glob' },
  operations: {
    put: { capability: 'notes.write', resource: (r) => checkedName(r.name) },
    get: { capability: 'notes.read', resource: (r) => checkedName(r.name) },
  },
  create: (caller, host) => {
    const store = host.shared('acme.notes', () => new NoteStore(join(host.dataDir, 'notes.json')));
    return {
      put: ({ name, text }) => ({ revision: store.put(name, text, caller.owner) }),
      get: ({ name }) => {
        const note = store.get(name);
        if (!note) throw new RpcError(Code.NOT_FOUND, `no note named ${JSON.stringify(name)}`);
        return note;
      },
    };
  },
});

/** What `hst --host-services examples/notes/notes-service.js` loads. */
export default notesService;
