/**
 * HTTP/2 settings both ends of hst's gRPC use. Node's defaults (64 KiB
 * stream windows, 10 MB of session memory) hold a 1 MiB message to a
 * trickle of window updates and can reset a busy session; Go peers raise
 * their limits and expect the same of us. The connection's own
 * window stays Node's: widening it with setLocalWindowSize stalls sessions
 * under load on Node 20 (measured: calls stop once the connection's data
 * outgrows it), while wide stream windows alone carry 1 MiB calls at speed.
 */
import type { SessionOptions } from 'node:http2';

/** Per stream: a slow reader still stalls only its own call, but a 1 MiB message needs no round trip for window. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

export const SESSION_OPTIONS: SessionOptions = {
  settings: { initialWindowSize: STREAM_WINDOW_BYTES, enablePush: false },
  maxSessionMemory: 256,
};
