/**
 * A seccomp filter for sandboxed plugins, as a classic BPF program in the
 * raw form `bwrap --seccomp FD` reads (an array of 8-byte sock_filter
 * instructions). It allows everything except what a plugin has no business
 * doing and what widens the kernel surface an escape would use: sockets
 * other than AF_UNIX, tracing other processes, mounts and new namespaces,
 * eBPF, io_uring, the kernel keyring, kernel modules, kexec, and a few
 * host-administration calls. A syscall from a foreign ABI (i386 or x32 on
 * x86_64, arm32 on aarch64) kills the process, because the numbers
 * checked here would mean something else there.
 */
import { constants } from 'node:os';

export type SeccompArch = 'x86_64' | 'aarch64';

/** Syscalls the filter names, by architecture. */
export type SyscallName = (typeof DENIED)[number] | 'socket' | 'clone' | 'clone3';

const DENIED = [
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'kcmp',
  'mount',
  'umount2',
  'pivot_root',
  'chroot',
  'open_tree',
  'move_mount',
  'fsopen',
  'fsconfig',
  'fsmount',
  'fspick',
  'mount_setattr',
  'unshare',
  'setns',
  'bpf',
  'perf_event_open',
  'userfaultfd',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
  'keyctl',
  'add_key',
  'request_key',
  'init_module',
  'finit_module',
  'delete_module',
  'kexec_load',
  'kexec_file_load',
  'open_by_handle_at',
  'name_to_handle_at',
  'swapon',
  'swapoff',
  'reboot',
  'acct',
  'quotactl',
  'syslog',
  'settimeofday',
  'clock_settime',
  'clock_adjtime',
  'adjtimex',
] as const;

/** Numbers from the kernel's unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64). */
export const SYSCALLS: Record<SeccompArch, Record<SyscallName, number>> = {
  x86_64: {
    socket: 41, clone: 56, clone3: 435,
    ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, kcmp: 312,
    mount: 165, umount2: 166, pivot_root: 155, chroot: 161,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    unshare: 272, setns: 308, bpf: 321, perf_event_open: 298, userfaultfd: 323,
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    keyctl: 250, add_key: 248, request_key: 249,
    init_module: 175, finit_module: 313, delete_module: 176, kexec_load: 246, kexec_file_load: 320,
    open_by_handle_at: 304, name_to_handle_at: 303,
    swapon: 167, swapoff: 168, reboot: 169, acct: 163, quotactl: 179, syslog: 103,
    settimeofday: 164, clock_settime: 227, clock_adjtime: 305, adjtimex: 159,
  },
  aarch64: {
    socket: 198, clone: 220, clone3: 435,
    ptrace: 117, process_vm_readv: 270, process_vm_writev: 271, kcmp: 272,
    mount: 40, umount2: 39, pivot_root: 41, chroot: 51,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    unshare: 97, setns: 268, bpf: 280, perf_event_open: 241, userfaultfd: 282,
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    keyctl: 219, add_key: 217, request_key: 218,
    init_module: 105, finit_module: 273, delete_module: 106, kexec_load: 104, kexec_file_load: 294,
    open_by_handle_at: 265, name_to_handle_at: 264,
    swapon: 224, swapoff: 225, reboot: 142, acct: 89, quotactl: 60, syslog: 116,
    settimeofday: 170, clock_settime: 112, clock_adjtime: 266, adjtimex: 171,
  },
};

/** AUDIT_ARCH_* from linux/audit.h: what seccomp_data.arch holds. */
export const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

/** x32 syscalls share x86_64's audit arch and are told apart by this bit in the number. */
const X32_SYSCALL_BIT = 0x40000000;

/** clone() flags that create namespaces: a nested sandbox is a way out of ours. */
const CLONE_NAMESPACE_FLAGS =
  0x00020000 /* NEWNS */ | 0x02000000 /* NEWCGROUP */ | 0x04000000 /* NEWUTS */ | 0x08000000 /* NEWIPC */ |
  0x10000000 /* NEWUSER */ | 0x20000000 /* NEWPID */ | 0x40000000; /* NEWNET */

const AF_UNIX = 1;

const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | (errno & 0xffff);

// struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. Both arches are little-endian,
// so an argument's low 32 bits sit at its own offset.
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const offsetArg = (i: number) => 16 + 8 * i;

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** The architecture this process runs on, if the filter knows it. */
export function hostSeccompArch(): SeccompArch | undefined {
  return process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
}

type Label = 'kill' | 'eafnosupport' | 'eperm' | 'enosys' | 'socket' | 'clone';
type Op =
  | { code: number; k: number }
  | { code: number; k: number; jt: Label | 0; jf: Label | 0 }
  | { label: Label };

/**
 * The filter for `arch` as bytes for `bwrap --seccomp`. BPF jumps only go
 * forward, so the shared returns sit at the end.
 */
export function buildSeccompFilter(arch: SeccompArch): Buffer {
  const nr = SYSCALLS[arch];
  const ops: Op[] = [
    { code: LD_W_ABS, k: OFFSET_ARCH },
    { code: JEQ_K, k: AUDIT_ARCH[arch], jt: 0, jf: 'kill' },
    { code: LD_W_ABS, k: OFFSET_NR },
  ];
  if (arch === 'x86_64') ops.push({ code: JGE_K, k: X32_SYSCALL_BIT, jt: 'kill', jf: 0 });
  for (const name of DENIED) ops.push({ code: JEQ_K, k: nr[name], jt: 'eperm', jf: 0 });
  ops.push(
    { code: JEQ_K, k: nr.socket, jt: 'socket', jf: 0 },
    { code: JEQ_K, k: nr.clone, jt: 'clone', jf: 0 },
    // clone3 passes its flags in memory a filter cannot read; ENOSYS makes libc fall back to clone.
    { code: JEQ_K, k: nr.clone3, jt: 'enosys', jf: 0 },
    { code: RET_K, k: RET_ALLOW },
    { label: 'socket' },
    { code: LD_W_ABS, k: offsetArg(0) },
    { code: JEQ_K, k: AF_UNIX, jt: 0, jf: 'eafnosupport' },
    { code: RET_K, k: RET_ALLOW },
    { label: 'clone' },
    { code: LD_W_ABS, k: offsetArg(0) },
    { code: JSET_K, k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 0 },
    { code: RET_K, k: RET_ALLOW },
    { label: 'eafnosupport' },
    { code: RET_K, k: retErrno(constants.errno.EAFNOSUPPORT) },
    { label: 'eperm' },
    { code: RET_K, k: retErrno(constants.errno.EPERM) },
    { label: 'enosys' },
    { code: RET_K, k: retErrno(constants.errno.ENOSYS) },
    { label: 'kill' },
    { code: RET_K, k: RET_KILL_PROCESS },
  );
  return assemble(ops);
}

function assemble(ops: Op[]): Buffer {
  const at = new Map<Label, number>();
  let count = 0;
  for (const op of ops) {
    if ('label' in op) at.set(op.label, count);
    else count++;
  }
  const out = Buffer.alloc(count * 8);
  let pc = 0;
  for (const op of ops) {
    if ('label' in op) continue;
    const jump = (target: Label | 0): number => {
      if (target === 0) return 0;
      const offset = (at.get(target) as number) - pc - 1;
      if (offset < 0 || offset > 255) throw new Error(`seccomp filter: jump to ${target} out of range (${offset})`);
      return offset;
    };
    out.writeUInt16LE(op.code, pc * 8);
    out.writeUInt8('jt' in op ? jump(op.jt) : 0, pc * 8 + 2);
    out.writeUInt8('jf' in op ? jump(op.jf) : 0, pc * 8 + 3);
    out.writeUInt32LE(op.k >>> 0, pc * 8 + 4);
    pc++;
  }
  return out;
}

/** What the filter returns for a syscall: the action and, for errno returns, the errno. */
export interface FilterVerdict {
  action: 'allow' | 'errno' | 'kill';
  errno?: number;
}

/**
 * Runs the filter the way the kernel would, for one syscall: lets tests
 * check the program's logic without the kernel, on any architecture.
 */
export function evaluateFilter(program: Buffer, data: { arch: number; nr: number; args?: number[] }): FilterVerdict {
  const word = (offset: number): number => {
    if (offset === OFFSET_NR) return data.nr >>> 0;
    if (offset === OFFSET_ARCH) return data.arch >>> 0;
    const arg = (offset - 16) / 8;
    if (!Number.isInteger(arg) || arg < 0 || arg > 5) throw new Error(`filter reads unexpected offset ${offset}`);
    return (data.args?.[arg] ?? 0) >>> 0;
  };
  let acc = 0;
  for (let pc = 0; pc * 8 < program.length; ) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case LD_W_ABS:
        acc = word(k);
        pc++;
        break;
      case JEQ_K:
        pc += 1 + (acc === k ? jt : jf);
        break;
      case JGE_K:
        pc += 1 + (acc >= k ? jt : jf);
        break;
      case JSET_K:
        pc += 1 + ((acc & k) !== 0 ? jt : jf);
        break;
      case RET_K:
        if (k === RET_ALLOW) return { action: 'allow' };
        if (k === RET_KILL_PROCESS) return { action: 'kill' };
        return { action: 'errno', errno: k & 0xffff };
      default:
        throw new Error(`unknown BPF instruction 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('BPF program fell off its end');
}
