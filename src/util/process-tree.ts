/**
 * Killing a process and everything it started. A process group is not
 * enough: a sandbox's inner processes run in a session of their own, and
 * bwrap's die-with-parent was seen to miss under load, leaving the program
 * running after its sandbox was killed. So the tree is read from /proc
 * before anything is killed, and every process in it is killed by pid.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Every process below `pid`, from /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return; // gone, or no /proc
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

/**
 * SIGKILL to `pid`'s process group, `pid` itself and every descendant;
 * whether anything was there. Once the leader has exited (and been reaped)
 * its pid may belong to someone else: then only its group is killed.
 */
export function killTree(pid: number, leaderExited = false): boolean {
  const targets = leaderExited ? [-pid] : [-pid, pid, ...descendants(pid)];
  let any = false;
  for (const target of targets) {
    try {
      process.kill(target, 'SIGKILL');
      any = true;
    } catch {
      // already gone, or not a group leader
    }
  }
  return any;
}
