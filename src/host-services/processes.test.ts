import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputStream, ProcessesDefinition, ProcessOutputRequest, SpawnRequest, WriteStdinRequest, type ProcessExit } from '../gen/hst/host/v1/processes.js';
import type { Client } from '../rpc/definition.js';
import { Code, RpcError } from '../rpc/status.js';
import { failure, openFds, sleep, until } from '../../test/support/assertions.js';
import { hostHarness, withHarness, type Harness } from '../../test/support/host-harness.js';
import { alive } from '../../test/support/peers.js';
import type { Limits } from './limits.js';
import { processesService } from './processes.js';

const HOST_PATH = '/usr/local/bin:/usr/bin:/bin';
type Processes = Client<typeof ProcessesDefinition>;

function withHost(fn: (h: Harness, processes: Processes) => Promise<void>, options: { limits?: Partial<Limits>; env?: Record<string, string> } = {}) {
  return withHarness({ modules: [processesService], env: options.env ?? { PATH: HOST_PATH }, limits: options.limits ?? {} }, async (h) =>
    fn(h, (await h.plugin('plugin-a')).client(ProcessesDefinition)),
  );
}

/** Dead or a zombie nobody reaped yet (containers' pid 1 may never reap). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function readOutput(processes: Processes, id: string): Promise<{ stdout: string; stderr: string; exit?: ProcessExit; truncated: boolean }> {
  let stdout = '';
  let stderr = '';
  let last: { exit?: ProcessExit; truncated: boolean } = { truncated: false };
  for await (const msg of processes.processOutput({ id })) {
    if (msg.stream === OutputStream.OUTPUT_STREAM_STDOUT) stdout += Buffer.from(msg.data).toString();
    else if (msg.stream === OutputStream.OUTPUT_STREAM_STDERR) stderr += Buffer.from(msg.data).toString();
    else last = { ...(msg.exit ? { exit: msg.exit } : {}), truncated: msg.truncated };
  }
  return { stdout, stderr, ...last };
}

/** The first line a spawned process prints (e.g. a pid it reports). */
async function firstLine(processes: Processes, id: string): Promise<string> {
  let text = '';
  for await (const msg of processes.processOutput({ id })) {
    text += Buffer.from(msg.data).toString();
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0] as string;
}

/** Polls ListProcesses (Wait would release the handle) until the process has exited. */
async function untilExited(processes: Processes, id: string) {
  for (const end = Date.now() + 3_000; Date.now() < end; await sleep(20)) {
    const info = (await processes.listProcesses({})).processes.find((p) => p.id === id);
    if (info && !info.running) return info;
  }
  return assert.fail(`process ${id} did not exit`);
}

const waitForPidFile = async (path: string) => {
  await until(() => existsSync(path) && readFileSync(path, 'utf8').endsWith('\n'), `${path} is written`, 3_000);
  return Number(readFileSync(path, 'utf8'));
};

describe('Processes service: Exec', () => {
  it('passes argv literally, never through a shell, and finds bare names in the exposed PATH', async () => {
    await withHost(async (_h, processes) => {
      const args = ['a b', ';', 'c;d', '$HOME', '$(id)', '`id`', '*', '|', ''];
      const res = await processes.exec({ program: 'printf', args: ['%s\\n', ...args] });
      assert.equal(Buffer.from(res.stdout).toString(), args.map((a) => `${a}\n`).join(''));
      assert.deepEqual(res.exit, { exitCode: 0, signal: '' });
      assert.equal(res.truncated, false);
      assert.ok(res.durationMs >= 0);
      const expected = HOST_PATH.split(':').map((d) => `${d}/printf`).find((p) => existsSync(p));
      assert.equal(res.program, expected, 'the resolved absolute path is reported');
    });
  });

  it('feeds stdin, returns stderr and nonzero exit codes', async () => {
    await withHost(async (_h, processes) => {
      const cat = await processes.exec({ program: '/bin/cat', stdin: Buffer.from('through stdin') });
      assert.equal(Buffer.from(cat.stdout).toString(), 'through stdin');
      const sh = await processes.exec({ program: '/bin/sh', args: ['-c', 'echo oops >&2; exit 3'] });
      assert.equal(Buffer.from(sh.stderr).toString(), 'oops\n');
      assert.deepEqual(sh.exit, { exitCode: 3, signal: '' });
      // A program that never reads its stdin is no problem.
      const t = await processes.exec({ program: '/bin/true', stdin: Buffer.alloc(256 * 1024) });
      assert.equal(t.exit?.exitCode, 0);
    });
  });

  it('runs with the host PATH and the plugin variables only, loader injection scrubbed', async () => {
    process.env.HST_HOST_SECRET = 'host-only';
    try {
      await withHost(async (h, processes) => {
        const res = await processes.exec({
          program: '/usr/bin/env',
          env: {
            GREETING: 'hello world',
            LD_PRELOAD: '/tmp/evil.so',
            LD_LIBRARY_PATH: '/tmp',
            LD_AUDIT: '/tmp/a.so',
            NODE_OPTIONS: '--require /tmp/evil.js',
            DYLD_INSERT_LIBRARIES: '/tmp/x.dylib',
            BASH_ENV: '/tmp/rc',
            'BASH_FUNC_ls%%': '() { id; }',
            PYTHONPATH: '/tmp',
            GLIBC_TUNABLES: 'glibc.malloc.check=3',
            PATH: '/tmp/evil-bin',
          },
        });
        const lines = Buffer.from(res.stdout).toString().trim().split('\n').sort();
        assert.deepEqual(lines, ['GREETING=hello world', `PATH=${HOST_PATH}`]);
        const warned = h.logger.find('dropped environment variables that inject code');
        assert.ok((warned?.fields.dropped as string[]).includes('LD_PRELOAD'));
      });
    } finally {
      delete process.env.HST_HOST_SECRET;
    }
  });

  it('kills the whole process group on timeout and reports DEADLINE_EXCEEDED', async () => {
    await withHost(async (h, processes) => {
      const started = Date.now();
      const err = await failure(
        processes.exec({ program: '/bin/sh', args: ['-c', 'echo $$ > sh.pid; sleep 30 & echo $! > sleep.pid; wait'], timeoutMs: 300, cwd: '.' }),
      );
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      assert.match(err.details, /Processes\/Exec \/bin\/sh: timed out after 300 ms/);
      assert.ok(Date.now() - started < 5_000);
      const shPid = await waitForPidFile(join(h.workspace, 'sh.pid'));
      const sleepPid = await waitForPidFile(join(h.workspace, 'sleep.pid'));
      await until(() => gone(shPid) && gone(sleepPid), 'the program and its child are killed', 3_000);
    });
  });

  it('lowers timeouts to the host bound and refuses negative ones', async () => {
    await withHost(
      async (_h, processes) => {
        const err = await failure(processes.exec({ program: '/bin/sleep', args: ['30'], timeoutMs: 60_000 }));
        assert.match(err.details, /timed out after 200 ms/);
        const negative = await failure(processes.exec({ program: '/bin/true', timeoutMs: -1 }));
        assert.equal(negative.code, Code.INVALID_ARGUMENT);
      },
      { limits: { maxExecTimeoutMs: 200 } },
    );
  });

  it('caps stdout and stderr at the output limit and says so', async () => {
    await withHost(
      async (_h, processes) => {
        const res = await processes.exec({ program: '/bin/sh', args: ['-c', 'head -c 5000 /dev/zero; head -c 3000 /dev/zero >&2'] });
        assert.equal(res.stdout.length, 1000);
        assert.equal(res.stderr.length, 1000);
        assert.equal(res.truncated, true);
        assert.equal(res.exit?.exitCode, 0);
        const small = await processes.exec({ program: '/bin/sh', args: ['-c', 'head -c 1000 /dev/zero'] });
        assert.equal(small.stdout.length, 1000);
        assert.equal(small.truncated, false);
      },
      { limits: { maxOutputBytes: 1000 } },
    );
  });

  it('runs in a directory inside the workspace and refuses any outside', async () => {
    await withHost(async (h, processes) => {
      mkdirSync(join(h.workspace, 'sub', 'deeper'), { recursive: true });
      symlinkSync('sub', join(h.workspace, 'inner-link'));
      mkdirSync(join(h.dir, 'outside'));
      symlinkSync(join(h.dir, 'outside'), join(h.workspace, 'out-abs'));
      symlinkSync('../outside', join(h.workspace, 'out-rel'));
      const pwd = async (cwd: string) => Buffer.from((await processes.exec({ program: '/bin/pwd', args: ['-P'], cwd })).stdout).toString().trim();
      assert.equal(await pwd('.'), realpathSync(h.workspace));
      // Without a cwd the program gets an empty directory of its own, gone once it ends.
      const own = await pwd('');
      assert.ok(!own.startsWith(realpathSync(h.workspace)), own);
      assert.ok(!existsSync(own), `${own} is removed`);
      assert.equal(await pwd('sub/deeper'), realpathSync(join(h.workspace, 'sub', 'deeper')));
      assert.equal(await pwd('inner-link'), realpathSync(join(h.workspace, 'sub')));
      assert.equal(await pwd('$tmp'), realpathSync(h.hostServices.callers()[0]?.tempHostPath as string));
      for (const cwd of ['..', '../outside', '/etc', 'sub/../..']) {
        const err = await failure(processes.exec({ program: '/bin/pwd', cwd }));
        assert.equal(err.code, Code.INVALID_ARGUMENT, cwd);
        assert.match(err.details, /Processes\/Exec cwd/);
      }
      for (const cwd of ['out-abs', 'out-rel']) {
        const err = await failure(processes.exec({ program: '/bin/pwd', cwd }));
        assert.equal(err.code, Code.PERMISSION_DENIED, cwd);
        assert.match(err.details, new RegExp(`Processes/Exec cwd "${cwd}"`));
      }
      const missing = await failure(processes.exec({ program: '/bin/pwd', cwd: 'nope' }));
      assert.equal(missing.code, Code.NOT_FOUND);
      assert.match(missing.details, /Processes\/Exec cwd "nope": no such file or directory/);
    });
  });

  it('refuses programs that are missing, relative, unclean or not executable', async () => {
    await withHost(async (h, processes) => {
      writeFileSync(join(h.workspace, 'tool'), '#!/bin/sh\necho hi\n');
      chmodSync(join(h.workspace, 'tool'), 0o755);
      const cases: Array<[string, Code, RegExp]> = [
        ['/no/such/program', Code.NOT_FOUND, /Processes\/Exec "\/no\/such\/program": no such program/],
        ['no-such-program-hst', Code.NOT_FOUND, /"no-such-program-hst": not found in PATH/],
        ['./tool', Code.INVALID_ARGUMENT, /clean absolute path or a bare name/],
        ['tool', Code.NOT_FOUND, /not found in PATH/],
        ['/usr/bin/../bin/true', Code.INVALID_ARGUMENT, /clean absolute path/],
        ['/bin//true', Code.INVALID_ARGUMENT, /clean absolute path/],
        ['', Code.INVALID_ARGUMENT, /non-empty/],
        ['/etc/passwd', Code.PERMISSION_DENIED, /"\/etc\/passwd": not an executable file/],
        ['/bin', Code.PERMISSION_DENIED, /not an executable file/],
      ];
      for (const [program, code, message] of cases) {
        const err = await failure(processes.exec({ program }));
        assert.equal(err.code, code, program);
        assert.match(err.details, message, program);
      }
      const nul = await failure(processes.exec({ program: '/bin/echo', args: ['a\0b'] }));
      assert.equal(nul.code, Code.INVALID_ARGUMENT);
      const badEnv = await failure(processes.exec({ program: '/bin/true', env: { 'A=B': 'x' } }));
      assert.equal(badEnv.code, Code.INVALID_ARGUMENT);
      assert.match(badEnv.details, /Processes\/Exec env "A=B"/);
    });
  });

  it('looks bare names up in the PATH the host exposes, not its own', () =>
    withHarness({ modules: [processesService], env: {} }, async (h) => {
      const bin = join(h.dir, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'hst-hello'), '#!/bin/sh\necho hello from $0\n');
      chmodSync(join(bin, 'hst-hello'), 0o755);
      const processes = (await h.plugin('plugin-a')).client(ProcessesDefinition);
      assert.equal((await failure(processes.exec({ program: 'true' }))).code, Code.NOT_FOUND, 'no PATH exposed, no lookup');
      const withPath = await hostHarness({ modules: [processesService], env: { PATH: `relative-dir:${bin}` } });
      try {
        const p = (await withPath.plugin('plugin-a')).client(ProcessesDefinition);
        const res = await p.exec({ program: 'hst-hello' });
        assert.equal(res.program, join(bin, 'hst-hello'));
        assert.equal(Buffer.from(res.stdout).toString(), `hello from ${join(bin, 'hst-hello')}\n`);
      } finally {
        await withPath.close();
      }
    }));

  it('limits stdin to the write limit', async () => {
    await withHost(
      async (_h, processes) => {
        const err = await failure(processes.exec({ program: '/bin/cat', stdin: Buffer.alloc(101) }));
        assert.equal(err.code, Code.OUT_OF_RANGE);
        assert.match(err.details, /Processes\/Exec "\/bin\/cat": stdin is 101 bytes, more than the limit of 100/);
      },
      { limits: { maxWriteBytes: 100 } },
    );
  });
});

describe('Processes service: spawned processes', () => {
  it('streams output, takes stdin, and Wait returns the status and releases the handle', async () => {
    await withHost(async (_h, processes) => {
      const fdsBefore = openFds();
      const spawned = await processes.spawn({ program: 'cat', stdin: Buffer.from('first\n') });
      assert.equal(spawned.program.endsWith('/cat'), true);
      assert.ok(spawned.pid > 0);
      assert.match(spawned.id, /^[0-9a-f-]{36}$/);
      const output = readOutput(processes, spawned.id);
      await processes.writeStdin({ id: spawned.id, data: Buffer.from('second\n') });
      const listed = await processes.listProcesses({});
      assert.deepEqual(listed.processes, [{ id: spawned.id, program: spawned.program, args: [], pid: spawned.pid, running: true, exit: undefined }]);
      await processes.writeStdin({ id: spawned.id, data: Buffer.from('third\n'), close: true });
      const closed = await failure(processes.writeStdin({ id: spawned.id, data: Buffer.from('late') }));
      assert.equal(closed.code, Code.FAILED_PRECONDITION);
      assert.match(closed.details, /Processes\/WriteStdin ".*": (stdin is closed|the process has exited)/);
      const { stdout, exit, truncated } = await output;
      assert.equal(stdout, 'first\nsecond\nthird\n');
      assert.deepEqual(exit, { exitCode: 0, signal: '' });
      assert.equal(truncated, false);
      assert.deepEqual((await processes.wait({ id: spawned.id })).exit, { exitCode: 0, signal: '' });
      assert.deepEqual((await processes.listProcesses({})).processes, []);
      const released = await failure(processes.wait({ id: spawned.id }));
      assert.equal(released.code, Code.NOT_FOUND);
      assert.match(released.details, /Processes\/Wait ".*": no such process handle/);
      assert.equal(openFds(), fdsBefore, 'the pipes are closed');
    });
  });

  it('replays output produced before ProcessOutput, up to the limit', async () => {
    await withHost(
      async (_h, processes) => {
        const { id } = await processes.spawn({ program: '/bin/sh', args: ['-c', 'echo out; echo err >&2'] });
        await untilExited(processes, id);
        assert.deepEqual(await readOutput(processes, id), { stdout: 'out\n', stderr: 'err\n', exit: { exitCode: 0, signal: '' }, truncated: false });
        // Read again: still replayed until Wait releases the handle.
        assert.equal((await readOutput(processes, id)).stdout, 'out\n');

        const big = await processes.spawn({ program: '/bin/sh', args: ['-c', 'head -c 5000 /dev/zero'] });
        await untilExited(processes, big.id);
        const replayed = await readOutput(processes, big.id);
        assert.equal(replayed.stdout.length, 1000);
        assert.equal(replayed.truncated, true);
      },
      { limits: { maxOutputBytes: 1000 } },
    );
  });

  it('holds a program back while a reader lags, instead of buffering its output', async () => {
    // Straight on the handlers: a client reads ahead into its flow-control window, so only a direct reader lags at once.
    const h = await hostHarness({ modules: [processesService], env: { PATH: HOST_PATH }, limits: { maxOutputBytes: 16 * 1024 } });
    const caller = h.hostServices.connect({ owner: 'plugin-a', workspace: h.workspace });
    try {
      const handlers = processesService.create(caller, h.hostServices.context);
      const ctx = { signal: new AbortController().signal, metadata: {}, peer: 'test', method: 'direct' };
      const total = 4 * 1024 * 1024;
      const spawnRequest = SpawnRequest.fromPartial({ program: '/bin/sh', args: ['-c', `read go; head -c ${total} /dev/zero`] });
      const { id } = await handlers.spawn(spawnRequest, ctx);
      const output = handlers.processOutput(ProcessOutputRequest.fromPartial({ id }), ctx)[Symbol.asyncIterator]();
      const first = output.next();
      await handlers.writeStdin(WriteStdinRequest.fromPartial({ id: id as string, data: Buffer.from('go\n') }), ctx);
      let received = (await first).value?.data?.length ?? 0;
      await sleep(300);
      const listed = await handlers.listProcesses({}, ctx);
      assert.equal(listed.processes?.[0]?.running, true, 'the program waits for the reader');
      let final;
      for (let r = await output.next(); !r.done; r = await output.next()) {
        if (r.value.exit) final = r.value;
        else received += r.value.data?.length ?? 0;
      }
      assert.equal(received, total, 'nothing was lost while paused');
      assert.deepEqual(final?.exit, { exitCode: 0, signal: '' });
    } finally {
      await h.hostServices.disconnect(caller);
      await h.close();
    }
  });

  it('signals the whole process group and reports the signal', async () => {
    await withHost(async (_h, processes) => {
      const { id } = await processes.spawn({ program: '/bin/sh', args: ['-c', 'sleep 30 & echo $!; wait'] });
      const sleepPid = Number(await firstLine(processes, id));
      assert.ok(sleepPid > 0 && !gone(sleepPid));
      const badSignal = await failure(processes.signal({ id, signal: 'SIGSTOP' }));
      assert.equal(badSignal.code, Code.INVALID_ARGUMENT);
      assert.match(badSignal.details, /Processes\/Signal ".*": signal "SIGSTOP" is not one of SIGTERM, SIGKILL/);
      await processes.signal({ id, signal: 'SIGTERM' });
      assert.deepEqual((await untilExited(processes, id)).exit, { exitCode: -1, signal: 'SIGTERM' });
      const late = await failure(processes.signal({ id, signal: 'SIGKILL' }));
      assert.equal(late.code, Code.FAILED_PRECONDITION);
      assert.match(late.details, /the process has exited/);
      assert.deepEqual((await processes.wait({ id })).exit, { exitCode: -1, signal: 'SIGTERM' });
      await until(() => gone(sleepPid), 'the child in the group gets the signal', 3_000);
    });
  });

  it('Wait times out without releasing the handle', async () => {
    await withHost(async (_h, processes) => {
      const { id } = await processes.spawn({ program: '/bin/sleep', args: ['30'] });
      const err = await failure(processes.wait({ id, timeoutMs: 100 }));
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      assert.match(err.details, /Processes\/Wait ".*": still running after 100 ms/);
      assert.equal((await failure(processes.wait({ id, timeoutMs: -5 }))).code, Code.INVALID_ARGUMENT);
      assert.equal((await processes.listProcesses({})).processes[0]?.running, true);
      const waiting = processes.wait({ id });
      await processes.signal({ id, signal: 'SIGKILL' });
      assert.deepEqual((await waiting).exit, { exitCode: -1, signal: 'SIGKILL' });
    });
  });

  it('keeps handles per plugin: another plugin gets NOT_FOUND', async () => {
    await withHost(async (h, processes) => {
      const { id } = await processes.spawn({ program: '/bin/sleep', args: ['30'] });
      const other = (await h.plugin('plugin-b')).client(ProcessesDefinition);
      assert.deepEqual((await other.listProcesses({})).processes, []);
      for (const call of [
        () => other.wait({ id, timeoutMs: 10 }),
        () => other.signal({ id, signal: 'SIGKILL' }),
        () => other.writeStdin({ id, data: Buffer.from('x') }),
      ]) {
        const err = await failure(call());
        assert.equal(err.code, Code.NOT_FOUND);
        assert.match(err.details, /no such process handle/);
      }
      const streamed = await failure(readOutput(other, id));
      assert.equal(streamed.code, Code.NOT_FOUND);
      const record = h.records.find((r) => r.operation === 'Processes/ProcessOutput');
      assert.equal(record?.code, Code.NOT_FOUND);
      assert.match(record?.error ?? '', /Processes\/ProcessOutput ".*": no such process handle/);
      assert.equal((await processes.listProcesses({})).processes[0]?.running, true);
      const unknown = await failure(processes.signal({ id: 'not-a-handle', signal: 'SIGTERM' }));
      assert.equal(unknown.code, Code.NOT_FOUND);
    });
  });

  it('enforces the process limit across Spawn and Exec', async () => {
    await withHost(
      async (_h, processes) => {
        const first = await processes.spawn({ program: '/bin/sleep', args: ['30'] });
        await processes.spawn({ program: '/bin/sleep', args: ['30'] });
        const spawnErr = await failure(processes.spawn({ program: '/bin/true' }));
        assert.equal(spawnErr.code, Code.RESOURCE_EXHAUSTED);
        assert.match(spawnErr.details, /Processes\/Spawn "\/bin\/true": the plugin already has 2 processes, the limit/);
        assert.equal((await failure(processes.exec({ program: '/bin/true' }))).code, Code.RESOURCE_EXHAUSTED);
        await processes.signal({ id: first.id, signal: 'SIGKILL' });
        await processes.wait({ id: first.id });
        assert.equal((await processes.exec({ program: '/bin/true' })).exit?.exitCode, 0);
      },
      { limits: { maxProcesses: 2 } },
    );
  });

  it('kills every process group of a plugin when it disconnects', () =>
    withHarness({ modules: [processesService], env: { PATH: HOST_PATH } }, async (h) => {
      const a = await h.plugin('plugin-a');
      const b = await h.plugin('plugin-b');
      const processes = a.client(ProcessesDefinition);
      const spawned = await processes.spawn({ program: '/bin/sh', args: ['-c', 'sleep 60 & echo $!; wait'] });
      const grandchild = Number(await firstLine(processes, spawned.id));
      const running = processes.exec({ program: '/bin/sh', args: ['-c', 'echo $$ > exec.pid; exec sleep 60'], timeoutMs: 60_000, cwd: '.' }).catch((e: unknown) => e);
      const execPid = await waitForPidFile(join(h.workspace, 'exec.pid'));
      const bProcess = await b.client(ProcessesDefinition).spawn({ program: '/bin/sleep', args: ['60'] });

      await a.disconnect();
      for (const pid of [spawned.pid, grandchild, execPid]) assert.ok(gone(pid), `pid ${pid} is gone once disconnect returns`);
      assert.ok((await running) instanceof RpcError);
      assert.ok(!gone(bProcess.pid), "the other plugin's process is untouched");
      await b.disconnect();
      assert.ok(gone(bProcess.pid));
    }));

  it('declares a capability and resource for every method', async () => {
    await withHost(async (h, processes) => {
      await processes.exec({ program: '/bin/true' });
      const { id, program: catPath } = await processes.spawn({ program: 'cat' });
      await processes.writeStdin({ id, data: Buffer.from('x'), close: true });
      await readOutput(processes, id);
      await processes.listProcesses({});
      await processes.wait({ id });
      await failure(processes.signal({ id, signal: 'SIGTERM' }));
      assert.deepEqual(
        h.records.map((r) => [r.operation, r.capability, r.resource]),
        [
          ['Processes/Exec', 'exec', realpathSync('/bin/true')],
          // A bare name is recorded as the program that actually runs.
          ['Processes/Spawn', 'exec', catPath],
          ['Processes/WriteStdin', 'process.spawn', id],
          ['Processes/ProcessOutput', 'process.spawn', id],
          ['Processes/ListProcesses', 'process.spawn', '*'],
          ['Processes/Wait', 'process.spawn', id],
          ['Processes/Signal', 'process.spawn', id],
        ],
      );
    });
  });
});

/** A host that runs `script` through the Processes service (no sandbox), prints the pids it wrote, and stays up. */
const KILLED_HOST = `
const [harnessUrl, processesUrl, genUrl, script] = process.argv.slice(1);
const { hostHarness } = await import(harnessUrl);
const { processesService } = await import(processesUrl);
const { ProcessesDefinition } = await import(genUrl);
const h = await hostHarness({ modules: [processesService], env: { PATH: process.env.PATH } });
const plugin = await h.plugin('plugin');
const processes = plugin.client(ProcessesDefinition);
const spawned = await processes.spawn({ program: '/bin/sh', args: ['-c', script] });
for await (const msg of processes.processOutput({ id: spawned.id })) {
  const text = Buffer.from(msg.data ?? []).toString();
  if (text.includes('ready')) { console.log(text.trim()); break; }
}
setInterval(() => {}, 60_000);
`;

describe('Processes without a sandbox, when the host dies', () => {
  it('a program and all it started, double-forked ones too, die with a host killed by SIGKILL (20 kills)', { timeout: 170_000 }, async () => {
    const url = (path: string) => new URL(path, import.meta.url).href;
    // A duration of this run's own, so that the search for survivors below finds nobody else's sleep.
    const seconds = `600.${randomInt(100_000, 999_999)}`;
    const script = `sleep ${seconds} & a=$!; (sleep ${seconds} & echo $! > /dev/null); sleep ${seconds} & b=$!; echo "$a $b $$ ready"; wait`;
    const survivors: number[] = [];
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          const host = spawn(process.execPath, ['--input-type=module', '-e', KILLED_HOST, url('../../test/support/host-harness.js'), url('./processes.js'), url('../gen/hst/host/v1/processes.js'), script], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          const [line] = (await once(host.stdout.setEncoding('utf8'), 'data')) as [string];
          const pids = line.trim().split(' ').slice(0, 3).map(Number);
          assert.ok(pids.every((pid) => pid > 0), line);
          // The double-forked sleep is found by its command line: nobody knows its pid.
          host.kill('SIGKILL');
          await once(host, 'exit');
          await until(() => pids.every((pid) => !alive(pid)), 'the programs are gone', 10_000).catch(() => survivors.push(...pids.filter(alive)));
        }),
      );
    }
    const orphaned = spawnSync('pgrep', ['-f', `^sleep ${seconds.replace('.', '\\.')}$`], { encoding: 'utf8' }).stdout.trim();
    for (const pid of new Set([...survivors, ...orphaned.split('\n').filter(Boolean).map(Number)])) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    assert.deepEqual(survivors, []);
    assert.equal(orphaned, '', 'a double-forked program outlived the host');
  });
});
