/**
 * Programs a sandboxed plugin starts through Processes run in the plugin's
 * own sandbox: the host's files outside the working directory are not even
 * mounted, there is no network, and Exec and Spawn otherwise behave the same.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputStream, ProcessesDefinition, type ProcessExit } from '../gen/hst/host/v1/processes.js';
import type { Client } from '../rpc/definition.js';
import { Code } from '../rpc/status.js';
import { probeSandbox } from '../security/sandbox.js';
import { fails, failure, openFds, until } from '../../test/support/assertions.js';
import { withHarness, type Harness, type PluginSide } from '../../test/support/host-harness.js';
import type { ExecSandboxProfile } from './caller.js';
import { processesService } from './processes.js';

const HOST_PATH = '/usr/local/bin:/usr/bin:/bin';
const PROFILE: ExecSandboxProfile = { require: ['isolation', 'seccomp'] };
type Processes = Client<typeof ProcessesDefinition>;

const probe = await probeSandbox();
const skip = !probe.bwrap && !probe.launcher && !process.env.CI ? `no isolation here: ${probe.reasons.bwrap}; ${probe.reasons.launcher}` : false;

/** A harness whose plugin-a is sandboxed with `profile`. */
function withSandboxedPlugin(fn: (h: Harness, processes: Processes, plugin: PluginSide) => Promise<void>, profile = PROFILE) {
  return withHarness({ modules: [processesService], env: { PATH: HOST_PATH } }, async (h) => {
    const plugin = await h.plugin('plugin-a');
    plugin.caller.setExecSandbox(profile);
    await fn(h, plugin.client(ProcessesDefinition), plugin);
  });
}

/** A shell script run in the workspace, or in `cwd`. */
const sh = (processes: Processes, script: string, options: { cwd?: string; timeoutMs?: number } = {}) =>
  processes.exec({ program: '/bin/sh', args: ['-c', script], cwd: '.', ...options });

const out = (b: Uint8Array) => Buffer.from(b).toString();

/** Whether a live process (zombies have no command line) has `marker` among its arguments. */
function running(marker: string): boolean {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** A sleep whose duration is unique to this test run, to find its process in /proc. */
function uniqueSleep(): string {
  return `30.${process.pid}${Math.floor(Math.random() * 1e6)}`;
}

async function readOutput(processes: Processes, id: string): Promise<{ stdout: string; exit?: ProcessExit }> {
  let stdout = '';
  let exit: ProcessExit | undefined;
  for await (const msg of processes.processOutput({ id })) {
    if (msg.stream === OutputStream.OUTPUT_STREAM_STDOUT) stdout += out(msg.data);
    else if (msg.exit) exit = msg.exit;
  }
  return { stdout, ...(exit ? { exit } : {}) };
}

/** Runs `fn` with TMPDIR, where the host makes its scratch directories, private: to see that none is left behind. */
async function leavesNoScratch<T>(h: Harness, fn: () => Promise<T>): Promise<T> {
  const scratchBase = join(h.dir, 'tmp');
  mkdirSync(scratchBase, { recursive: true });
  const before = process.env.TMPDIR;
  process.env.TMPDIR = scratchBase;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    assert.deepEqual(readdirSync(scratchBase), [], 'no scratch directory is left behind');
  }
}

describe('Processes service in the plugin sandbox', { skip }, () => {
  it('shows the program only its working directory: host files outside are not even mounted', () =>
    withSandboxedPlugin(async (h, processes, plugin) => {
      writeFileSync(join(h.workspace, 'input.txt'), 'from the workspace\n');
      mkdirSync(join(h.workspace, 'sub'));
      const secret = join(h.dir, 'outside', 'secret.txt');
      mkdirSync(join(h.dir, 'outside'));
      writeFileSync(secret, 'host only\n');
      const probeFiles = `for f in ${secret} /etc/shadow /etc/passwd; do test -e "$f" && echo "visible $f"; done; true`;

      plugin.caller.setExecSandbox(undefined);
      assert.match(out((await sh(processes, probeFiles)).stdout), new RegExp(`visible ${secret}`), 'a plain host process sees the file');

      plugin.caller.setExecSandbox(PROFILE);
      const fdsBefore = openFds();
      const res = await sh(processes, `${probeFiles}; cat input.txt; echo written > out.txt; cut -d' ' -f5 /proc/self/mountinfo`);
      assert.equal(res.exit?.exitCode, 0, out(res.stderr));
      const lines = out(res.stdout).split('\n');
      assert.deepEqual(lines.filter((l) => l.startsWith('visible')), []);
      assert.ok(lines.includes('from the workspace'));
      assert.equal(readFileSync(join(h.workspace, 'out.txt'), 'utf8'), 'written\n');
      const workspace = realpathSync(h.workspace);
      const hostMounts = lines.filter((m) => m.startsWith(realpathSync(h.dir)));
      assert.deepEqual(hostMounts, [workspace], 'of the test directory, only the workspace is mounted');
      const scratch = lines.filter((m) => m.startsWith(join(realpathSync(tmpdir()), 'hst-exec-')));
      assert.equal(scratch.length, 1, `one private socket directory: ${lines}`);
      assert.ok(!existsSync(scratch[0] as string), 'removed once the program is gone');
      assert.equal(openFds(), fdsBefore, 'the sandbox fds are closed');

      // A subdirectory as cwd: the rest of the workspace is out of sight too, and
      // what is written above it lands in the sandbox's own directories, if anywhere.
      const escape = 'test -e ../input.txt && echo parent-visible; echo inner > inner.txt; echo x > ../escape.txt 2>/dev/null; true';
      const sub = await sh(processes, escape, { cwd: 'sub' });
      assert.equal(out(sub.stdout), '');
      assert.equal(readFileSync(join(h.workspace, 'sub', 'inner.txt'), 'utf8'), 'inner\n');
      assert.ok(!existsSync(join(h.workspace, 'escape.txt')));

      const temp = await processes.exec({ program: '/bin/pwd', args: ['-P'], cwd: '$tmp' });
      assert.equal(out(temp.stdout).trim(), realpathSync(plugin.caller.tempHostPath));
    }));

  it('gives the program no network', async (t) => {
    const bash = HOST_PATH.split(':').map((d) => join(d, 'bash')).find((p) => existsSync(p));
    if (!bash) return t.skip('no bash for /dev/tcp');
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    let connections = 0;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const connect = { program: bash, args: ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`] };
    try {
      await withSandboxedPlugin(async (_h, processes, plugin) => {
        plugin.caller.setExecSandbox(undefined);
        assert.equal(out((await processes.exec(connect)).stdout), 'connected\n', 'the listener is reachable from the host');
        await until(() => connections === 1, 'the listener sees the host connection');

        plugin.caller.setExecSandbox(PROFILE);
        const res = await processes.exec(connect);
        assert.equal(out(res.stdout), '');
        assert.notEqual(res.exit?.exitCode, 0);
        assert.equal(connections, 1, 'no connection from inside the sandbox');
      });
    } finally {
      server.close();
    }
  });

  it('passes exactly the scrubbed environment', () =>
    withSandboxedPlugin(async (h, processes) => {
      const env = async (vars: Record<string, string>) => out((await processes.exec({ program: '/usr/bin/env', env: vars, cwd: '.' })).stdout).trim().split('\n').sort();
      // Besides PWD, which the sandbox sets to the working directory it enters.
      const pwd = `PWD=${realpathSync(h.workspace)}`;
      assert.deepEqual(await env({ GREETING: 'hello world', LD_PRELOAD: '/tmp/evil.so', NODE_OPTIONS: '--require x', PATH: '/tmp' }), [
        'GREETING=hello world',
        `PATH=${HOST_PATH}`,
        pwd,
      ]);
      // The sandbox's socket directory variable is not announced, but a plugin's own value of it passes.
      assert.deepEqual(await env({ PLUGIN_UNIX_SOCKET_DIR: 'mine' }), [`PATH=${HOST_PATH}`, 'PLUGIN_UNIX_SOCKET_DIR=mine', pwd]);
    }));

  it('kills the whole sandbox on timeout and reports DEADLINE_EXCEEDED', () =>
    withSandboxedPlugin(async (_h, processes) => {
      const duration = uniqueSleep();
      const call = sh(processes, `sleep ${duration} & wait`, { timeoutMs: 3_000 });
      await until(() => running(duration), 'the program runs', 10_000);
      const err = await failure(call);
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      assert.match(err.details, /Processes\/Exec \/bin\/sh: timed out after 3000 ms/);
      await until(() => !running(duration), 'everything in the sandbox is killed', 10_000);
    }));

  it('runs spawned programs: output, stdin, Signal and Wait', () =>
    withSandboxedPlugin(async (_h, processes) => {
      const cat = await processes.spawn({ program: 'cat', stdin: Buffer.from('first\n') });
      const output = readOutput(processes, cat.id);
      await processes.writeStdin({ id: cat.id, data: Buffer.from('second\n'), close: true });
      assert.deepEqual(await output, { stdout: 'first\nsecond\n', exit: { exitCode: 0, signal: '' } });
      assert.deepEqual((await processes.wait({ id: cat.id })).exit, { exitCode: 0, signal: '' });

      const duration = uniqueSleep();
      const sleeper = await processes.spawn({ program: '/bin/sh', args: ['-c', `sleep ${duration} & wait`] });
      await until(() => running(duration), 'the program runs', 10_000);
      await processes.signal({ id: sleeper.id, signal: 'SIGTERM' });
      assert.deepEqual((await processes.wait({ id: sleeper.id })).exit, { exitCode: -1, signal: 'SIGTERM' });
      await until(() => !running(duration), 'everything in the sandbox is killed', 10_000);

      // Death by a signal inside the sandbox reaches the host as the sandbox's exit code 128+n.
      const killed = await processes.spawn({ program: '/bin/sh', args: ['-c', 'kill -TERM $$'] });
      assert.deepEqual((await processes.wait({ id: killed.id })).exit, { exitCode: 128 + 15, signal: '' });
    }));

  it('kills sandboxed programs when the plugin disconnects', () =>
    withSandboxedPlugin(async (_h, processes, plugin) => {
      const duration = uniqueSleep();
      await processes.spawn({ program: '/bin/sleep', args: [duration] });
      await until(() => running(duration), 'the program runs', 10_000);
      await plugin.disconnect();
      await until(() => !running(duration), 'the sandbox is killed', 10_000);
    }));

  it('refuses to run a program when a required layer is unavailable', () =>
    withSandboxedPlugin(
      async (h, processes) => {
        await leavesNoScratch(h, () =>
          fails(
            processes.exec({ program: '/bin/true' }),
            Code.FAILED_PRECONDITION,
            /Processes\/Exec "\/bin\/true": plugin sandbox: required layer unavailable: node-permissions/,
          ),
        );
      },
      { require: ['isolation', 'node-permissions'] },
    ));

  it('refuses a program the sandbox cannot mount, without naming host paths', () =>
    withSandboxedPlugin(
      async (h, processes) => {
        const err = await leavesNoScratch(h, () =>
          fails(
            processes.exec({ program: '/bin/true' }),
            Code.FAILED_PRECONDITION,
            /Processes\/Exec "\/bin\/true": the program cannot run in the plugin's sandbox$/,
          ),
        );
        assert.ok(!err.details.includes(h.dir));
        assert.match(String(h.logger.find('a program could not be sandboxed')?.fields.err), /no-such-dir/);
      },
      { readOnlyPaths: ['/nonexistent/no-such-dir'] },
    ));
});
