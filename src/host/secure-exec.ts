/**
 * SecureConfig without go-plugin's check-to-exec gap: the executable is
 * opened once, that open file is hashed, and that same open file is what
 * gets executed (through /proc/<pid>/fd/<n>), so swapping the path after
 * the check changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { accessSync } from 'node:fs';

export interface SecureConfig {
  /** Expected digest, hex. */
  checksum: string;
  /** A node:crypto hash name; default sha256. */
  hash?: string;
}

export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

/** Resolves a command the way execvp would, so we hash what would run. */
export function resolveExecutable(command: string, pathEnv = process.env.PATH ?? ''): string {
  if (command.includes('/')) return command;
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  const err = new Error(`${command}: executable file not found in $PATH`) as NodeJS.ErrnoException;
  err.code = 'ENOENT';
  throw err;
}

export interface VerifiedExecutable {
  /** Path to exec: the already-open, already-hashed file. */
  execPath: string;
  /** That open file, for a sandbox that cannot see this process's /proc entry. */
  fd: number;
  /** Close once the process has exited (interpreters may reopen the file by that path). */
  release(): void;
}

export async function openVerified(command: string, config: SecureConfig, pathEnv?: string): Promise<VerifiedExecutable> {
  const path = resolveExecutable(command, pathEnv);
  const fd = openSync(isAbsolute(path) ? path : join(process.cwd(), path), constants.O_RDONLY);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`error verifying checksum: ${path} is not a regular file`);
    const hash = createHash(config.hash ?? 'sha256');
    for await (const chunk of createReadStream('', { fd, autoClose: false, start: 0 })) hash.update(chunk as Buffer);
    const actual = hash.digest();
    const expected = Buffer.from(config.checksum, 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new ChecksumMismatchError(
        `checksums did not match: ${path} has ${config.hash ?? 'sha256'} ${actual.toString('hex')}, expected ${config.checksum}`,
      );
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  let open = true;
  return {
    execPath: `/proc/${process.pid}/fd/${fd}`,
    fd,
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
