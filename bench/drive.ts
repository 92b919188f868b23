/**
 * Bench.Drive on the TypeScript plugin: the plugin calls the host's
 * services (or reads a file itself, for the floor) and times those calls
 * with its own clock, so the host side stays idle apart from serving them.
 */
import { open } from 'node:fs/promises';
import { Code, defaultLimits, hostServices, RpcError } from '../src/plugin/index.js';
import { DriveOp, type DriveRequest, type DriveResponse } from './gen/hst/bench/v1/bench.js';
import { keepInFlight, timeEach, type Call } from './load.js';

/** Read the file directly in the chunks the host streams it in. */
const FS_READ_CHUNK = defaultLimits.streamChunkBytes;

export async function drive(request: DriveRequest): Promise<Partial<DriveResponse>> {
  let bytes = 0;
  const call = await operation(request.op, request.path, (n) => (bytes += n));
  for (let i = 0; i < request.warmup; i++) await call();
  bytes = 0;
  if (request.durationMs > 0) {
    const { calls, elapsedNs } = await keepInFlight(call, Math.max(1, request.inFlight), request.durationMs);
    return { calls, elapsedNs, bytes };
  }
  const samplesNs = await timeEach(call, 0, request.calls);
  return { samplesNs, bytes };
}

async function operation(op: DriveOp, path: string, received: (n: number) => void): Promise<Call> {
  if (op === DriveOp.DRIVE_OP_FS_READ) return () => readDirectly(path, received);
  const host = await hostServices();
  switch (op) {
    case DriveOp.DRIVE_OP_STAT:
      return () => host.filesystem.stat({ path });
    case DriveOp.DRIVE_OP_READ_FILE:
      return async () => received((await host.filesystem.readFile({ path })).data.length);
    case DriveOp.DRIVE_OP_READ_FILE_STREAM:
      return async () => {
        for await (const chunk of host.filesystem.readFileStream({ path })) received(chunk.data.length);
      };
    default:
      throw new RpcError(Code.INVALID_ARGUMENT, `drive: unknown op ${op}`);
  }
}

async function readDirectly(path: string, received: (n: number) => void): Promise<void> {
  const file = await open(path);
  try {
    const buffer = Buffer.allocUnsafe(FS_READ_CHUNK);
    for (let n; (n = (await file.read(buffer, 0, FS_READ_CHUNK, null)).bytesRead) > 0; ) received(n);
  } finally {
    await file.close();
  }
}
