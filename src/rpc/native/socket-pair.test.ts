import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readFileSync, readSync, writeSync } from 'node:fs';
import { socketPair } from './socket-pair.js';

/** O_CLOEXEC as /proc/<pid>/fdinfo prints it (octal flags). */
const O_CLOEXEC = 0o2000000;

describe('socketPair', () => {
  it('gives two connected ends that other programs this process starts do not inherit', () => {
    const ends = socketPair() ?? assert.fail('the addon was not built (dist/native/hst-fs.node): npm run build needs a C compiler');
    try {
      for (const [from, to] of [ends, [ends[1], ends[0]]] as const) {
        assert.equal(writeSync(from, 'hst'), 3);
        const got = Buffer.alloc(8);
        assert.equal(got.toString('utf8', 0, readSync(to, got)), 'hst');
      }
      for (const fd of ends) {
        const flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? 'x', 8);
        assert.ok(flags & O_CLOEXEC, `fd ${fd} is not close-on-exec`);
      }
    } finally {
      for (const fd of ends) closeSync(fd);
    }
  });
});
