import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { descendants, killTree } from './process-tree.js';

/** A process group leader whose child moved to a session of its own, as bwrap --new-session does. */
async function leaderWithEscapee(): Promise<{ leader: ChildProcess; escapee: number }> {
  const leader = spawn(
    process.execPath,
    ['-e', `const g = require('child_process').spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }); console.log(g.pid); setInterval(() => {}, 1000);`],
    { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const [line] = (await once(leader.stdout!, 'data')) as [Buffer];
  return { leader, escapee: Number(line.toString().trim()) };
}

/** Running, as opposed to gone or a zombie nobody reaps (pid 1 here does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

async function stopped(pid: number): Promise<boolean> {
  const end = Date.now() + 3_000;
  while (running(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return !running(pid);
}

it('a group kill misses a descendant in its own session; killTree does not', async () => {
  const first = await leaderWithEscapee();
  try {
    assert.ok(descendants(first.leader.pid!).includes(first.escapee));
    process.kill(-first.leader.pid!, 'SIGKILL');
    await once(first.leader, 'exit');
    assert.equal(running(first.escapee), true, 'the escapee should outlive a group kill');
  } finally {
    process.kill(first.escapee, 'SIGKILL');
  }

  const second = await leaderWithEscapee();
  assert.equal(killTree(second.leader.pid!), true);
  await once(second.leader, 'exit');
  assert.ok(await stopped(second.escapee), 'killTree left the escapee running');
  assert.equal(killTree(second.leader.pid!, true), false, 'after its exit only the group is signalled, and nothing is left of it');
});
