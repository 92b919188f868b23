/**
 * hst's whole public API, for compatibility: a plugin should import
 * `hst/plugin` and an application `hst/host`, each of which loads only its side.
 */
export * from './plugin/index.js';
export * from './host/index.js';
/** go-plugin's gRPC (on node:http2), for a PluginClient or serve() told to use it explicitly; both load it on their own when needed. */
export { http2Transport } from './rpc/http2/transport.js';
