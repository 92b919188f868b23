/**
 * failing-ts: a thrown Error (its message reaches the caller as UNKNOWN), an
 * RpcError (its code too), a result its manifest does not allow (the host
 * refuses it), and an exit in the middle of a call (the call fails, and the
 * manager starts the plugin again for the next one).
 */
import { Code, RpcError, serve } from 'hst/plugin';

await serve({
  handshake: { protocolVersion: 1, magicCookieKey: 'HST_PLUGIN', magicCookieValue: 'hst-example-v1' },
  plugins: {},
  exports: {
    fail: (message: string) => {
      throw new Error(message);
    },
    refuse: () => {
      throw new RpcError(Code.PERMISSION_DENIED, 'not today');
    },
    wrongResult: () => 'forty-two',
    crash: (code: number) => process.exit(code),
  },
});
