/**
 * GRPCStdio. After the handshake a plugin's stdout and stderr writes are
 * captured and streamed to the host, which hands them to its sinks; the
 * process's real stderr stays reserved for hclog lines and crash output.
 */
import type { Writable } from 'node:stream';
import { StdioData_Channel as Channel, type GRPCStdioDefinition, type StdioData } from '../gen/plugin/grpc_stdio.js';
import type { Client, ServiceImplementation } from '../rpc/definition.js';
import { AsyncQueue } from '../rpc/async-queue.js';
import { Code, RpcError } from '../rpc/status.js';
import type { Logger } from '../log.js';

const CHUNK_BYTES = 64 * 1024;
/** What is kept for a host that has not opened the stream yet. */
const BUFFER_LIMIT_BYTES = 4 * 1024 * 1024;

type WriteFn = typeof process.stdout.write;

/** Plugin side: redirects process.stdout/stderr writes into the stdio stream. */
export class StdioCapture {
  private readonly queue = new AsyncQueue<StdioData>();
  private buffered = 0;
  private dropped = 0;
  private claimed = false;
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
      const data = typeof chunk === 'string' ? Buffer.from(chunk, enc) : Buffer.from(chunk as Uint8Array);
      this.push(channel, data);
      if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
      return true;
    };
    stream.write = write as WriteFn;
    this.restore.push(() => {
      stream.write = original;
    });
  }

  private push(channel: Channel, data: Buffer): void {
    for (let off = 0; off < data.length; off += CHUNK_BYTES) {
      const piece = data.subarray(off, off + CHUNK_BYTES);
      if (!this.claimed && this.buffered + piece.length > BUFFER_LIMIT_BYTES) {
        this.dropped += piece.length;
        continue;
      }
      if (!this.claimed) this.buffered += piece.length;
      this.queue.push({ channel, data: piece });
    }
  }

  implementation(): ServiceImplementation<GRPCStdioDefinition> {
    return {
      streamStdio: (_req, ctx) => {
        // go-plugin hosts call this once; a second reader would split the output.
        if (this.claimed) throw new RpcError(Code.FAILED_PRECONDITION, 'stdio is already being streamed');
        this.claimed = true;
        this.buffered = 0;
        const queue = this.queue;
        const dropped = this.dropped;
        return (async function* () {
          if (dropped > 0) {
            yield { channel: Channel.STDERR, data: Buffer.from(`[hst: ${dropped} bytes of output dropped before the host connected]\n`) };
          }
          ctx.signal.addEventListener('abort', () => queue.end());
          yield* queue;
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
      if (sink) sink.write(data);
      else if (channel !== Channel.STDOUT && channel !== Channel.STDERR) logger.warn({ channel }, 'unknown stdio channel');
    }
  } catch (err) {
    if (signal.aborted) return;
    const code = (err as RpcError).code;
    // Plugins without the service, or already gone, are only worth a warning.
    if (code === Code.UNIMPLEMENTED || code === Code.UNAVAILABLE) logger.warn({ err: String(err) }, 'plugin does not stream stdio');
    else logger.debug({ err: String(err) }, 'stdio stream ended');
  }
}
