/**
 * Splits a byte stream into lines with a cap on line length, as go-plugin's
 * bufio readers do: a longer line arrives in pieces flagged `partial`
 * instead of growing without bound.
 */
import type { Readable } from 'node:stream';

export function readLines(
  stream: Readable,
  maxBytes: number,
  onLine: (line: string, partial: boolean) => void,
): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = (partial: boolean) => {
    let line = Buffer.concat(pending).toString('utf8');
    if (!partial && line.endsWith('\r')) line = line.slice(0, -1);
    pending = [];
    pendingBytes = 0;
    onLine(line, partial);
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      let piece = chunk.subarray(start, end);
      while (pendingBytes + piece.length > maxBytes) {
        const room = maxBytes - pendingBytes;
        pending.push(piece.subarray(0, room));
        pendingBytes += room;
        flush(true);
        piece = piece.subarray(room);
      }
      pending.push(piece);
      pendingBytes += piece.length;
      if (nl === -1) break;
      flush(false);
      start = nl + 1;
    }
  });
  return new Promise((resolve) => {
    const done = () => {
      if (pendingBytes > 0) flush(false);
      resolve();
    };
    stream.once('end', done);
    stream.once('close', () => {
      stream.off('end', done);
      done();
    });
  });
}
