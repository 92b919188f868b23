/**
 * Turns a failed plugin start into something a person can act on. go-plugin
 * stops at "Unrecognized remote plugin message"; we add why, from what the
 * process did: its exit status, its last stderr lines, what it printed, and
 * what the executable is.
 */
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { COOKIE_MISMATCH_MESSAGE } from '../protocol/constants.js';
import { PYTHON_SDK_INSTALL } from '../util/package-root.js';

export interface StartFacts {
  plugin: string;
  command: string;
  spawnError?: NodeJS.ErrnoException;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  stderrTail: string[];
  stdoutLine?: string;
  timedOut?: boolean;
  startTimeoutMs?: number;
  cookie?: { key: string; value: string };
  /** It ran in hst's sandbox, which lets a Node plugin read only its own directory and hst's files. */
  sandboxed?: boolean;
}

/** ELF e_machine values for the architectures Node runs on. */
const ELF_MACHINES: Record<number, string> = {
  0x03: 'ia32',
  0x08: 'mips',
  0x14: 'ppc',
  0x15: 'ppc64',
  0x16: 's390x',
  0x28: 'arm',
  0x3e: 'x64',
  0xb7: 'arm64',
  0xf3: 'riscv64',
  0x102: 'loong64',
};

/** What kind of file the executable is, if it is plainly not runnable here. */
export function executableProblem(path: string): string | undefined {
  let header: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) return `${path} is a directory, not an executable`;
    if ((st.mode & 0o111) === 0) return `${path} is not executable (mode ${(st.mode & 0o777).toString(8)}); run chmod +x on it`;
    const fd = openSync(path, 'r');
    header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    closeSync(fd);
  } catch {
    return undefined;
  }
  if (header.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    const little = header[5] === 1;
    const machine = little ? header.readUInt16LE(18) : header.readUInt16BE(18);
    const arch = ELF_MACHINES[machine] ?? `ELF machine 0x${machine.toString(16)}`;
    if (arch !== process.arch) return `${path} is built for ${arch}, but this machine is ${process.arch}; rebuild the plugin for ${process.platform}/${process.arch}`;
    return undefined;
  }
  if (header.subarray(0, 4).equals(Buffer.from([0xcf, 0xfa, 0xed, 0xfe])) || header.subarray(0, 2).toString() === 'MZ') {
    return `${path} is a ${header[0] === 0x4d ? 'Windows' : 'macOS'} executable; rebuild the plugin for ${process.platform}/${process.arch}`;
  }
  return undefined;
}

export function diagnose(facts: StartFacts): string {
  const notes: string[] = [];
  const stderr = facts.stderrTail.join('\n');

  if (facts.spawnError) {
    const code = facts.spawnError.code;
    if (code === 'ENOENT') notes.push(`the plugin command ${JSON.stringify(facts.command)} was not found (check the path, or PATH)`);
    else if (code === 'EACCES') notes.push(executableProblem(facts.command) ?? `permission denied running ${facts.command}`);
    else if (code === 'ENOEXEC') notes.push(executableProblem(facts.command) ?? `${facts.command} is not in an executable format`);
    else notes.push(`the plugin could not be started: ${facts.spawnError.message}`);
  }

  if (stderr.includes(COOKIE_MISMATCH_MESSAGE.split('\n')[0] as string)) {
    notes.push(
      `the plugin refused the magic cookie: it expects a different cookie than ${facts.cookie ? `${facts.cookie.key}=${facts.cookie.value}` : "the host's"}; host and plugin must use the same handshake config`,
    );
  } else if (facts.exit && !facts.spawnError && (facts.exit.code === 126 || facts.exit.code === 127)) {
    // 126/127 is how a shell or a sandbox launcher says it could not execute the command (execvp hands a foreign binary to /bin/sh):
    // any other exit means the command ran, and what kind of file it is explains nothing.
    const problem = executableProblem(facts.command);
    if (problem) notes.push(problem);
    else if (facts.exit.code === 126) notes.push(`${facts.command} could not be executed (exit 126)`);
  }

  const missingName = /Cannot find (?:package|module) '([^']+)'/.exec(stderr)?.[1];
  if (missingName !== undefined || stderr.includes('ERR_MODULE_NOT_FOUND')) {
    const what = missingName !== undefined ? `the module ${missingName}` : 'a module';
    notes.push(
      facts.sandboxed
        ? `the plugin could not load ${what}: in its sandbox a Node plugin reads its own directory and hst's own files, not the application's node_modules; bundle it (hst build), or install its dependencies beside its plugin.yaml`
        : `the plugin could not load ${what}; install its dependencies, or bundle it (hst build)`,
    );
  }

  const pythonModule = /ModuleNotFoundError: No module named '([^'.]+)/.exec(stderr)?.[1];
  if (pythonModule === 'hst_plugin' || pythonModule === 'grpc') {
    notes.push(`the plugin could not import ${pythonModule}: install hst's Python SDK for the python3 that runs plugins: ${PYTHON_SDK_INSTALL}`);
  }

  if (facts.stdoutLine !== undefined && facts.stdoutLine.trim() !== '' && facts.stdoutLine.split('|').length < 4) {
    notes.push(
      `the plugin printed ${JSON.stringify(truncate(facts.stdoutLine.trim(), 200))} on stdout before its handshake line; ` +
        'a plugin must not write to stdout before it serves (log to stderr instead)',
    );
  }

  if (facts.exit) {
    const how = facts.exit.signal ? `was killed by ${facts.exit.signal}` : `exited with code ${facts.exit.code}`;
    const handshook = facts.stdoutLine !== undefined && facts.stdoutLine.split('|').length >= 4;
    notes.push(`the plugin process ${how} ${handshook ? 'after its handshake line, before the host could connect' : 'before completing the handshake'}`);
  } else if (facts.timedOut) {
    notes.push(
      `the plugin is still running but printed no handshake line within ${(facts.startTimeoutMs ?? 0) / 1000}s; ` +
        'it may be blocked before serving, or not be a go-plugin plugin',
    );
  }

  if (facts.stderrTail.length > 0) {
    notes.push(`last stderr lines:\n${facts.stderrTail.map((l) => `  | ${truncate(l, 500)}`).join('\n')}`);
  }
  return notes.length ? `plugin ${JSON.stringify(facts.plugin)}: ${notes.join('\n')}` : '';
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
