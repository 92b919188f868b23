/**
 * hst for applications (`hst/host`): starting plugins (PluginClient,
 * PluginManager), the host services they call, and the types a host shares
 * with its plugins.
 *
 * @module hst/host
 */
export { PluginClient, PluginStartError, type PluginClientOptions, type PluginCommand, type ReattachConfig } from './plugin-client.js';
export { cleanupClients } from './managed.js';
export type { ExitInfo, PluginProcess } from './plugin-process.js';
export type { Runner, RunnerLaunch, RunningPlugin } from './runners/runner.js';
export { processRunner } from './runners/process-runner.js';
export { containerRunner, type ContainerRunnerOptions } from './runners/container-runner.js';
export type { SecureConfig } from './secure-exec.js';
export { ChecksumMismatchError } from './secure-exec.js';
export { runCommand, type CommandEvent } from './commands.js';
export type { GrpcPlugin, PluginSet, HandshakeConfig } from '../plugin-set.js';
export { GrpcBroker, type BrokerServer } from '../protocol/broker.js';
export type { HandshakeInfo } from '../protocol/handshake.js';
export { createHclogLogger } from '../protocol/hclog.js';
export type { CertificateAndKey } from '../protocol/mtls.js';

/** A certificate from go-plugin's AutoMTLS template (for manual TLS set-ups and tests). */
export async function generateCertificate(): Promise<import('../protocol/mtls.js').CertificateAndKey> {
  return (await import('../protocol/mtls.js')).generateCertificate();
}
export { Code, RpcError } from '../rpc/status.js';
export type * from '../rpc/definition.js';
export type { Address, TlsMaterial, Transport } from '../rpc/transport.js';
export { defaultLogger, silentLogger, type Logger } from '../log.js';
export { HostServices, type HostServicesOptions } from '../host-services/host-services.js';
export { establishHostServices, type EstablishOptions, type HostServicesConnection } from '../host-services/establish.js';
export { allHostServices } from '../host-services/catalog.js';
export type { Caller } from '../host-services/caller.js';
export type { CallRecord, Authorizer, Decision } from '../host-services/dispatch.js';
export { defaultLimits, type Limits } from '../host-services/limits.js';
export { hostService, type HostServiceModule, type OperationSpec } from '../host-services/operation.js';
export { PluginManager, type PluginManagerOptions } from '../manager/manager.js';
export { readManifest } from './read-manifest.js';
export type { Manifest } from '../security/manifest.js';
export { verifyPlugin, SignatureError, type SignaturePolicy, type SignatureStatus, type VerifyResult } from '../security/signature.js';
export { importablePlugins } from '../manager/plugin-modules.js';
export type { PluginInfo, PluginStatus, PluginManagerEvents } from '../manager/plugin-info.js';
