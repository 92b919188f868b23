/**
 * The Go and Python SDKs' own tests, as their READMEs say to run them: they
 * run in CI with everything else. (Their use by real plugins is tested in
 * test/cli/new.test.ts and test/packed-package.test.ts; the wire, in the
 * interop tests.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { goToolchain, pythonPeer, repo } from './support/peers.js';
import { succeeds } from './support/assertions.js';

const go = goToolchain();
const python = pythonPeer();

function passes(cwd: string, command: string, args: string[]): string {
  const { stdout, stderr } = succeeds(cwd, command, args);
  return stdout + stderr;
}

describe('the Go SDK (sdk/go)', { skip: 'skip' in go ? go.skip : false }, () => {
  it('is vetted and passes its tests', () => {
    const dir = join(repo, 'sdk', 'go');
    passes(dir, 'go', ['vet', './...']);
    assert.match(passes(dir, 'go', ['test', '-count=1', './...']), /^ok\s+hst\.local\/sdk\/hostconn\s/m);
  });
});

describe('the Python SDK (sdk/python)', { skip: 'skip' in python ? python.skip : false }, () => {
  it('passes its tests', () => {
    const out = passes(join(repo, 'sdk', 'python'), 'python' in python ? python.python : 'python3', ['-m', 'unittest', 'discover', '-s', 'tests']);
    assert.match(out, /^Ran [1-9]\d* tests? in .*\n\nOK\n$/ms);
  });
});
