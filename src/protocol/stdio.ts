/**
 * GRPCStdio. After the handshake a plugin's stdout and stderr writes are
 * captured and streamed to the host, which hands them to its sinks; the
 * process's real stderr stays reserved for hclog lines and crash output.
 *
 * Both ends are bounded. The host waits for a slow sink before it reads on,
 * so HTTP/2's flow control slows the stream; the plugin keeps at most
 * BUFFER_LIMIT_BYTES not yet sent, tells writers to wait past HIGH_WATER_BYTES
 * (write() returns false, 'drain' follows, as on a pipe), and drops what
 * comes beyond the limit, saying how much once the host has caught up.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StdioData_Channel as Channel, type GRPCStdioDefinition, type StdioData } from '../gen/plugin/grpc_stdio.js';
import type { Client, ServiceImplementation } from '../rpc/definition.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import { Code, RpcError } from '../rpc/status.js';
import type { Logger } from '../log.js';

const CHUNK_BYTES = 64 * 1024;
/** What is kept not yet sent, before the host opens the stream or while it reads slower than the plugin writes. */
const BUFFER_LIMIT_BYTES = 4 * 1024 * 1024;
/** Past this, writes return false until the backlog has drained below it. */
const HIGH_WATER_BYTES = 1024 * 1024;

type WriteFn = typeof process.stdout.write;

/** Plugin side: redirects process.stdout/stderr writes into the stdio stream. */
export class StdioCapture {
  private readonly queue = new AsyncQueue<StdioData>();
  /** Bytes pushed and not yet taken by the stream. */
  private buffered = 0;
  private dropped = 0;
  private claimed = false;
  /** Writers were told to wait: emit 'drain' on these once the backlog is low again. */
  private readonly waiting = new Set<NodeJS.WriteStream>();
  private readonly restore: Array<() => void> = [];

  start(): void {
    this.capture(process.stdout, Channel.STDOUT);
    this.capture(process.stderr, Channel.STDERR);
  }

  stop(): void {
    for (const r of this.restore.splice(0)) r();
    this.queue.end();
  }

  private capture(stream: NodeJS.WriteStream, channel: Channel): void {
    const original = stream.write;
    const write = (chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      const callback = typeof encoding === 'function' ? encoding : cb;
      const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
      if (typeof chunk === 'string') this.push(channel, Buffer.from(chunk, enc), false);
      else this.push(channel, chunk as Uint8Array, true);
      if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
      if (this.buffered < HIGH_WATER_BYTES) return true;
      this.waiting.add(stream);
      return false;
    };
    stream.write = write as WriteFn;
    this.restore.push(() => {
      stream.write = original;
    });
  }

  /**
   * Queues `data` in CHUNK_BYTES pieces. A writer may reuse its buffer once
   * write() returns, so a borrowed buffer is copied, but only the pieces kept:
   * a flood past the limit costs no allocation.
   */
  private push(channel: Channel, data: Uint8Array, borrowed: boolean): void {
    for (let off = 0; off < data.length; off += CHUNK_BYTES) {
      const piece = data.subarray(off, off + CHUNK_BYTES);
      if (this.buffered + piece.length > BUFFER_LIMIT_BYTES) {
        this.dropped += piece.length;
        continue;
      }
      this.buffered += piece.length;
      this.queue.push({ channel, data: borrowed ? Buffer.from(piece) : piece });
    }
  }

  /** The stream took `bytes`: wake waiting writers, and own up to what was dropped once there is room to say so. */
  private taken(bytes: number): StdioData | undefined {
    this.buffered -= bytes;
    if (this.buffered < HIGH_WATER_BYTES) {
      for (const stream of this.waiting) stream.emit('drain');
      this.waiting.clear();
    }
    if (this.dropped === 0 || this.buffered >= HIGH_WATER_BYTES) return undefined;
    const notice = `[hst: ${this.dropped} bytes of output dropped: the host read them slower than the plugin wrote]\n`;
    this.dropped = 0;
    return { channel: Channel.STDERR, data: Buffer.from(notice) };
  }

  implementation(): ServiceImplementation<GRPCStdioDefinition> {
    return {
      streamStdio: (_req, ctx) => {
        // go-plugin hosts call this once; a second reader would split the output.
        if (this.claimed) throw new RpcError(Code.FAILED_PRECONDITION, 'stdio is already being streamed');
        this.claimed = true;
        const queue = this.queue;
        const taken = (bytes: number) => this.taken(bytes);
        return (async function* () {
          ctx.signal.addEventListener('abort', () => queue.end());
          for await (const message of queue) {
            yield message;
            const notice = taken(message.data.length);
            if (notice) yield notice;
          }
        })();
      },
    };
  }
}

export interface StdioSinks {
  stdout?: Writable;
  stderr?: Writable;
}

/** Host side: reads the plugin's stdio stream into the sinks until it ends. */
export async function consumeStdio(
  client: Client<GRPCStdioDefinition>,
  sinks: StdioSinks,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  try {
    for await (const { channel, data } of client.streamStdio({}, { signal })) {
      const sink = channel === Channel.STDOUT ? sinks.stdout : channel === Channel.STDERR ? sinks.stderr : undefined;
      // A sink that is behind holds the stream, and so the plugin, back: nothing piles up here.
      if (sink && !sink.write(data)) await once(sink, 'drain', { signal });
      else if (!sink && channel !== Channel.STDOUT && channel !== Channel.STDERR) logger.warn({ channel }, 'unknown stdio channel');
    }
  } catch (err) {
    if (signal.aborted) return;
    const code = (err as RpcError).code;
    // Plugins without the service, or already gone, are only worth a warning.
    if (code === Code.UNIMPLEMENTED || code === Code.UNAVAILABLE) logger.warn({ err: String(err) }, 'plugin does not stream stdio');
    else logger.debug({ err: String(err) }, 'stdio stream ended');
  }
}
