/** Names and defaults fixed by go-plugin's wire protocol. */

/** The only core protocol version go-plugin has ever had. */
export const CORE_PROTOCOL_VERSION = 1;

export const ENV_MIN_PORT = 'PLUGIN_MIN_PORT';
export const ENV_MAX_PORT = 'PLUGIN_MAX_PORT';
export const ENV_PROTOCOL_VERSIONS = 'PLUGIN_PROTOCOL_VERSIONS';
export const ENV_CLIENT_CERT = 'PLUGIN_CLIENT_CERT';
export const ENV_MULTIPLEX_GRPC = 'PLUGIN_MULTIPLEX_GRPC';
export const ENV_UNIX_SOCKET_DIR = 'PLUGIN_UNIX_SOCKET_DIR';
export const ENV_UNIX_SOCKET_GROUP = 'PLUGIN_UNIX_SOCKET_GROUP';
/**
 * hst's own addition, set by an hst host for a plugin outside a pid
 * namespace: the host's pid, so a plugin whose host died before the plugin
 * could look at its parent still knows to leave. Other hosts do not set it.
 */
export const ENV_HOST_PID = 'HST_HOST_PID';
/**
 * hst's own addition, set by an hst host for every plugin it starts: the
 * host's gRPC is Node's http2, so a plugin's servers must not widen their
 * connection window toward it (rpc/http2/session-options.ts). Without it
 * (go-plugin's Go host) they do.
 */
export const ENV_HST_HOST = 'HST_HOST';

/**
 * hst's own offer of its native transport (src/rpc/native/): the fd, in the
 * plugin, of one end of a socket pair the host made. An hst plugin answers
 * protocol `hst1` on network `socketpair`; anything else ignores it.
 */
export const ENV_NATIVE_FD = 'HST_NATIVE_FD';
/** The protocol field of an hst plugin's handshake line when it took the offer. */
export const NATIVE_PROTOCOL = 'hst1';
/** The network field of that line (its address is the plugin's fd), and of broker announcements on the session. */
export const NATIVE_NETWORK = 'socketpair';
/** Set to `grpc` in the host's environment to offer no native transport (go-plugin's gRPC everywhere). */
export const ENV_TRANSPORT = 'HST_TRANSPORT';

export const DEFAULT_MIN_PORT = 10000;
export const DEFAULT_MAX_PORT = 25000;

/** How long a host waits for the handshake line. */
export const DEFAULT_START_TIMEOUT_MS = 60_000;
/** How long a host waits for a plugin to exit after Shutdown before killing it. */
export const GRACEFUL_EXIT_WAIT_MS = 2_000;
/** Broker: wait for a ConnInfo on dial, and how long an unclaimed ConnInfo is kept. */
export const BROKER_WAIT_MS = 5_000;
/** Longest handshake line (and stderr line) the host reads. */
export const MAX_LINE_BYTES = 64 * 1024;

/** The health service name go-plugin hosts ping. */
export const HEALTH_SERVICE = 'plugin';

export const COOKIE_MISMATCH_MESSAGE =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';

export const MISCONFIGURED_COOKIE_MESSAGE =
  'Misconfigured ServeConfig given to serve this plugin: no magic cookie\n' +
  'key or value was set. Please notify the plugin author and report\n' +
  'this as a bug.\n';

export type Protocol = 'grpc' | 'netrpc';
