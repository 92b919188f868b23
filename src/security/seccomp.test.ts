import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_ARCH, buildSeccompFilter, evaluateFilter, hostSeccompArch, SYSCALLS, type SeccompArch, type SyscallName } from './seccomp.js';
import { planSandbox, probeSandbox, type SandboxProbe } from './sandbox.js';

const { EPERM, EAFNOSUPPORT, ENOSYS } = constants.errno;
const ARCHES: SeccompArch[] = ['x86_64', 'aarch64'];
const HEADERS: Record<SeccompArch, string> = {
  x86_64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
  aarch64: '/usr/include/asm-generic/unistd.h',
};
const DENIED_ERRNO: Array<Exclude<SyscallName, 'socket' | 'clone' | 'clone3'>> = (Object.keys(SYSCALLS.x86_64) as SyscallName[]).filter(
  (n): n is Exclude<SyscallName, 'socket' | 'clone' | 'clone3'> => !['socket', 'clone', 'clone3'].includes(n),
);
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
/** What glibc passes for a new thread: no namespace flags. */
const THREAD_FLAGS = 0x003d0f00;

describe('seccomp syscall tables', () => {
  for (const arch of ARCHES) {
    it(`${arch} numbers match the kernel headers`, { skip: !existsSync(HEADERS[arch]) && `${HEADERS[arch]} not installed` }, () => {
      const header = readFileSync(HEADERS[arch], 'utf8');
      for (const [name, nr] of Object.entries(SYSCALLS[arch])) {
        const m = new RegExp(`#define __NR(?:3264)?_${name}\\s+(\\d+)`).exec(header);
        assert.ok(m, `${name} not in ${HEADERS[arch]}`);
        assert.equal(nr, Number(m[1]), name);
      }
    });
  }
});

describe('seccomp filter logic', () => {
  for (const arch of ARCHES) {
    const program = buildSeccompFilter(arch);
    const nr = SYSCALLS[arch];
    const call = (name: SyscallName, args: number[] = []) => evaluateFilter(program, { arch: AUDIT_ARCH[arch], nr: nr[name], args });

    it(`${arch}: kills a foreign ABI and allows ordinary syscalls`, () => {
      assert.equal(program.length % 8, 0);
      const other = arch === 'x86_64' ? 'aarch64' : 'x86_64';
      assert.deepEqual(evaluateFilter(program, { arch: AUDIT_ARCH[other], nr: 0 }), { action: 'kill' });
      assert.deepEqual(evaluateFilter(program, { arch: 0x40000003 /* i386 */, nr: nr.socket, args: [AF_UNIX] }), { action: 'kill' });
      for (const ordinary of [0, 1, 3, 57, 63, 64, 200, 334]) {
        if (Object.values(nr).includes(ordinary)) continue;
        assert.deepEqual(evaluateFilter(program, { arch: AUDIT_ARCH[arch], nr: ordinary }), { action: 'allow' }, `syscall ${ordinary}`);
      }
    });

    it(`${arch}: sockets only for AF_UNIX`, () => {
      assert.deepEqual(call('socket', [AF_UNIX]), { action: 'allow' });
      for (const family of [AF_INET, AF_INET6, AF_NETLINK, 17 /* AF_PACKET */, 0]) {
        assert.deepEqual(call('socket', [family]), { action: 'errno', errno: EAFNOSUPPORT }, `family ${family}`);
      }
    });

    it(`${arch}: EPERM for every denied syscall, namespaces through clone included; ENOSYS for clone3`, () => {
      for (const name of DENIED_ERRNO) assert.deepEqual(call(name), { action: 'errno', errno: EPERM }, name);
      assert.deepEqual(call('clone', [THREAD_FLAGS]), { action: 'allow' });
      assert.deepEqual(call('clone', [17 /* SIGCHLD: fork */]), { action: 'allow' });
      assert.deepEqual(call('clone', [CLONE_NEWUSER | 17]), { action: 'errno', errno: EPERM });
      assert.deepEqual(call('clone', [CLONE_NEWNET]), { action: 'errno', errno: EPERM });
      assert.deepEqual(call('clone3'), { action: 'errno', errno: ENOSYS });
    });
  }

  it('x86_64: kills x32 syscalls, which share the audit arch', () => {
    const program = buildSeccompFilter('x86_64');
    assert.deepEqual(evaluateFilter(program, { arch: AUDIT_ARCH.x86_64, nr: 0x40000000 | 39 }), { action: 'kill' });
    assert.deepEqual(evaluateFilter(program, { arch: AUDIT_ARCH.x86_64, nr: 0x40000000 | SYSCALLS.x86_64.socket, args: [AF_INET] }), { action: 'kill' });
  });
});

const probe = await probeSandbox();
const arch = hostSeccompArch();
const hasPython = spawnSync('python3', ['-c', 'import ctypes'], { stdio: 'ignore' }).status === 0;

/**
 * Makes raw syscalls through ctypes and reports each errno (0 for
 * success). The arguments are chosen so that, without the filter, the kernel
 * fails them harmlessly or succeeds without side effects outside the process.
 */
const SYSCALL_PROBE = `
import ctypes, json, os, subprocess, sys, threading
nr = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr[name]), *[ctypes.c_long(a) for a in args])
    return 0 if r >= 0 else ctypes.get_errno()
if sys.argv[2] == 'x32':
    libc.syscall(ctypes.c_long(0x40000000 | 39))
    print('survived')
    sys.exit(0)
report = {
    'ptrace': call('ptrace', 3, -1, 0, 0),
    'mount': call('mount', 0, 0, 0, 0, 0),
    'setns': call('setns', -1, 0),
    'bpf': call('bpf', 0, 0, 0),
    'io_uring_setup': call('io_uring_setup', 1, 0),
    'keyctl': call('keyctl', 0, 0),
    'perf_event_open': call('perf_event_open', 0, 0, -1, -1, 0),
    'clone_newuser': call('clone', 0x10000000 | 0x200, 0, 0, 0, 0),
    'clone3': call('clone3', 0, 0),
    'inet6': call('socket', 10, 1, 0),
    'netlink': call('socket', 16, 3, 0),
    'unix': call('socket', 1, 1, 0),
}
t = threading.Thread(target=lambda: None); t.start(); t.join()
report['thread'] = 'ok'
report['subprocess'] = subprocess.run(['/usr/bin/true']).returncode
report['unshare'] = call('unshare', 0x10000000)
print(json.dumps(report))
`;

async function runProbe(sandboxProbe: SandboxProbe, mode: 'report' | 'x32'): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'hst-seccomp-')));
  try {
    for (const d of ['plugin', 'work', 'sock']) mkdirSync(join(base, d));
    writeFileSync(join(base, 'plugin', 'probe.py'), SYSCALL_PROBE);
    const plan = await planSandbox(
      {
        runtime: 'python',
        entry: join(base, 'plugin', 'probe.py'),
        args: [JSON.stringify(SYSCALLS[arch as SeccompArch]), mode],
        pluginDir: join(base, 'plugin'),
        workDir: join(base, 'work'),
        socketDir: join(base, 'sock'),
        env: {},
      },
      sandboxProbe,
    );
    assert.equal(plan.layers.includes('seccomp'), sandboxProbe.seccomp);
    const child = spawn(plan.command, plan.args, { env: plan.env, cwd: plan.cwd, stdio: ['ignore', 'pipe', 'pipe', ...plan.stdio] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    plan.cleanup();
    return { code, signal, stdout, stderr };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

describe('seccomp filter in the kernel (bwrap --seccomp)', { skip: (!probe.seccomp && `seccomp unavailable: ${probe.reasons.seccomp}`) || (!hasPython && 'python3 with ctypes unavailable') }, () => {
  it('denies what it names, where the same calls without it reach the kernel; threads and plain subprocesses still work', async () => {
    const filtered = await runProbe(probe, 'report');
    assert.equal(filtered.code, 0, filtered.stderr);
    const unfiltered = await runProbe({ ...probe, seccomp: false, reasons: { seccomp: 'off for comparison' } }, 'report');
    assert.equal(unfiltered.code, 0, unfiltered.stderr);
    const got = JSON.parse(filtered.stdout) as Record<string, number | string>;
    const without = JSON.parse(unfiltered.stdout) as Record<string, number | string>;

    for (const name of ['ptrace', 'mount', 'setns', 'bpf', 'io_uring_setup', 'keyctl', 'perf_event_open', 'clone_newuser', 'unshare']) {
      assert.equal(got[name], EPERM, `${name} under the filter`);
      assert.notEqual(without[name], EPERM, `${name} without the filter: the EPERM above must come from the filter`);
    }
    for (const name of ['inet6', 'netlink']) {
      assert.equal(got[name], EAFNOSUPPORT, name);
      assert.equal(without[name], 0, `${name} without the filter`);
    }
    assert.equal(got.clone3, ENOSYS);
    assert.equal(got.unix, 0);
    assert.equal(got.thread, 'ok');
    assert.equal(got.subprocess, 0);
  });

  it('kills the process on an x32 syscall', { skip: arch !== 'x86_64' && 'x32 exists on x86_64 only' }, async () => {
    const result = await runProbe(probe, 'x32');
    assert.equal(result.stdout, '');
    assert.equal(result.signal ?? (result.code === 128 + constants.signals.SIGSYS ? 'SIGSYS' : result.code), 'SIGSYS', result.stderr);
  });
});
