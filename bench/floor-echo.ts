/**
 * The Node side of the floor: a bare unix-socket echo. It prints its socket
 * path as one line (as a plugin prints its handshake), then sends back every
 * byte it receives, unparsed, until the client hangs up or stdin closes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'hst-bench-floor-'));
const path = join(dir, 'echo.sock');
const server = createServer((socket) => {
  socket.pipe(socket);
  socket.on('error', () => socket.destroy());
});
const stop = () => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
server.listen(path, () => process.stdout.write(`${path}\n`));
// The runner holds our stdin open for as long as it wants us.
process.stdin.on('end', stop).on('error', stop).resume();
