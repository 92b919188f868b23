/**
 * The Node client of the floor: starts bench/floor-echo.js, connects to its
 * unix socket and offers the same call shape as a plugin's Echo, so the
 * floor runs through the very load loops the gRPC pairs run through. A call
 * sends its payload and resolves when that many bytes have come back; calls
 * in flight are answered in order.
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { FloorTarget } from './job.js';
import type { RunnerSide } from './runner-side.js';

interface Pending {
  remaining: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface FloorConnection {
  pid: number;
  echo(payload: Buffer): Promise<void>;
  stop(): Promise<void>;
}

export async function startFloor(echo: string): Promise<FloorConnection> {
  const child = spawn(process.execPath, [echo], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const [path] = (await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited.then(() => [])])) as string[];
  if (!path) throw new Error('floor echo exited before it listened');
  const socket: Socket = connect(path);
  await once(socket, 'connect');

  const queue: Pending[] = [];
  socket.on('data', (chunk: Buffer) => {
    let left = chunk.length;
    while (left > 0 && queue.length > 0) {
      const head = queue[0] as Pending;
      const take = Math.min(left, head.remaining);
      head.remaining -= take;
      left -= take;
      if (head.remaining === 0) {
        queue.shift();
        head.resolve();
      }
    }
  });
  const fail = (err?: Error) => {
    for (const p of queue.splice(0)) p.reject(err ?? new Error('floor echo hung up'));
  };
  socket.on('error', fail).on('close', () => fail());
  return {
    pid: child.pid as number,
    echo: (payload) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ remaining: payload.length, resolve, reject });
        socket.write(payload);
      }),
    async stop() {
      socket.destroy();
      child.stdin.end();
      await exited;
    },
  };
}

export function floorSide(target: FloorTarget): RunnerSide {
  return {
    host: `node ${process.version} net`,
    async connect() {
      const floor = await startFloor(target.echo);
      return { echo: (payload) => floor.echo(payload), close: () => floor.stop() };
    },
    startMember: () => startFloor(target.echo),
  };
}
