/**
 * hst for plugins (`hst/plugin`): serve, the host-services client, commands,
 * and the types a plugin shares with its host. Nothing here loads the host,
 * the manager, SQLite, the CLI or the TUI, and gRPC's code loads only when
 * the host is not hst (the module-graph test holds it to that): a plugin starts
 * and idles on what it uses.
 *
 * @module hst/plugin
 */
export { serve, type ServeConfig, type ServingPlugin } from './serve.js';
export { hostServiceClient, hostServices, requiredService, hostServiceDefinitions, type HostServiceClients } from './host-services-client.js';
export { hostConnection } from './host-connection.js';
export { CommandError, type CommandContext, type CommandHandler, type CommandSet } from './commands.js';
export type { ModuleExports } from './module-exports.js';
export type { HttpHandler, HttpHandlers, HttpRequestView, HttpResult } from './http-handlers.js';
export type { GrpcPlugin, PluginSet, HandshakeConfig } from '../plugin-set.js';
export type { GrpcBroker, BrokerServer } from '../protocol/broker.js';
export { createHclogLogger } from '../protocol/hclog.js';
export { Code, RpcError } from '../rpc/status.js';
export type * from '../rpc/definition.js';
export type { Address, TlsMaterial, Transport } from '../rpc/transport.js';
export { defaultLogger, silentLogger, type Logger } from '../log.js';
export { defaultLimits, type Limits } from '../host-services/limits.js';
