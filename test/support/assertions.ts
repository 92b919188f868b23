/**
 * Small helpers the tests share, so that each file awaits failures, polls,
 * drains streams, counts fds and converts bytes the same way, with the same
 * failure messages.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Readable } from 'node:stream';
import { readdirSync, readlinkSync } from 'node:fs';
import { Code, RpcError } from '../../src/rpc/status.js';
import type { Harness } from './host-harness.js';

/** Waits `ms` milliseconds: for tests about real time passing (TTLs, timeouts, retries). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The UTF-8 bytes of a string: request fields and stored values are bytes. */
export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** The UTF-8 text of bytes a call returned; an absent optional value stays undefined. */
export function text(b: Uint8Array): string;
export function text(b: Uint8Array | undefined): string | undefined;
export function text(b: Uint8Array | undefined): string | undefined {
  return b ? Buffer.from(b).toString() : undefined;
}

/** Reads a stream to its end: to assert on everything a server stream sent. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** Awaits a call that must fail with an RpcError and returns it, for the test to check its code and details. */
export async function failure(promise: Promise<unknown>, expected = 'expected the call to fail'): Promise<RpcError> {
  const err = await promise.then(
    () => assert.fail(expected),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
  return err;
}

/** Awaits a call (or drains a stream) that must fail with `code` and details matching `message`; returns the error. */
export async function fails(call: Promise<unknown> | AsyncIterable<unknown>, code: Code, message: RegExp): Promise<RpcError> {
  const err = await failure(Symbol.asyncIterator in call ? collect(call) : call, `expected ${Code[code]}`);
  assert.equal(err.code, code, `${Code[err.code]}: ${err.details}`);
  assert.match(err.details, message);
  return err;
}

/** Polls until `condition` holds, failing with `what` after `timeoutMs`: for what the host finishes asynchronously. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 2_000): Promise<void> {
  if (!(await eventually(condition, timeoutMs, 5))) assert.fail(`timed out waiting until ${what}`);
}

/** Polls `check` every `everyMs` until it holds or `ms` pass; says whether it held (for custom failure messages). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000, everyMs = 25): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return check();
}

/**
 * Reads a stream to its end and returns how the host ended it, from its call
 * record: what it sent the plugin, whatever the plugin side makes of it.
 */
export async function streamOutcome(h: Harness, stream: AsyncIterator<unknown>, operation: string): Promise<{ code: number | undefined; details: string }> {
  for (;;) {
    const next = await stream.next().catch(() => ({ done: true }));
    if (next.done) break;
  }
  await until(() => h.records.some((r) => r.operation === operation && !r.ok), `${operation} is recorded as failed`);
  const record = h.records.findLast((r) => r.operation === operation && !r.ok);
  return { code: record?.code, details: record?.error ?? '' };
}

/** How many fds this process has open: to check that an operation leaves none behind. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** How many fds of this process point at files below `dir`: a leak check that other fds (sockets, the runner's) cannot disturb. */
export function openFdsUnder(dir: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
    } catch {
      return false;
    }
  }).length;
}

/** `promise`, or a rejection naming `what` when it does not settle within `ms`. */
export async function settles<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Everything a stream delivers until its end. (Not `for await`: that
 * destroys the stream at its end, which resets a yamux stream whose writing
 * side is still open.)
 */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** A seeded PRNG (mulberry32): integers in [0, n), so a failing case can be replayed. */
export function seededRandom(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/**
 * Runs a program to its end in `cwd` as a user would: it must exit 0, else the
 * assertion shows what it printed. A test runner it starts prints for people,
 * not to ours in our runner's protocol.
 */
export function succeeds(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { stdout: string; stderr: string } {
  const { NODE_TEST_CONTEXT: _, ...rest } = env;
  const done = spawnSync(command, args, { cwd, env: rest, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(done.status, 0, `${command} ${args.join(' ')} in ${cwd}:\n${done.stdout}${done.stderr}`);
  return { stdout: done.stdout, stderr: done.stderr };
}
