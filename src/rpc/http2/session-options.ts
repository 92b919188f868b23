/**
 * HTTP/2 settings both ends of hst's gRPC use, and who may widen the
 * connection's window.
 *
 * Node's defaults (64 KiB windows, 10 MB of session memory) hold a 1 MiB
 * message to a trickle of window updates and can reset a busy session; Go
 * peers raise their limits and expect the same of us. Stream windows are
 * raised by SETTINGS on every session.
 *
 * The connection's own window is another matter. Node's http2 stops reading
 * its socket while a write to it is still pending (node_http2.cc,
 * MaybeStopReading). If both ends of a connection are Node and both let the
 * other send more than the socket buffers hold, both can end up with a write
 * pending and neither reading: the connection stalls for good (measured
 * here, ts->ts on gRPC with 1 MiB calls, both sides widened: stuck within
 * seconds, frames queued, nothing moving). So only one end of a connection
 * between two Node peers may widen it:
 * - a client always does (hst's host toward its plugins, a plugin toward the
 *   host's services): the server answering it then writes into room the
 *   client keeps reading, and the client's own writes are bounded by the
 *   server's default window, which the socket buffers hold;
 * - a server does only when told its clients are not Node (an hst plugin
 *   whose host is not hst: go-plugin's Go host, which reads and writes on
 *   separate goroutines and never stops reading).
 */
import type { Http2Session, SessionOptions } from 'node:http2';

/** Per stream: a slow reader still stalls only its own call, but a 1 MiB message needs no round trip for window. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/** A widened connection: several 1 MiB messages in flight at once without a WINDOW_UPDATE round trip between them. */
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

export const SESSION_OPTIONS: SessionOptions = {
  settings: { initialWindowSize: STREAM_WINDOW_BYTES, enablePush: false },
  maxSessionMemory: 256,
};

/** Lets the peer send CONNECTION_WINDOW_BYTES before it waits for us; call once the session is connected. */
export function widenConnectionWindow(session: Http2Session): void {
  if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
}
