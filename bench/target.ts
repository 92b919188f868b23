/**
 * The plugin target a side's host is handed, and the transport the side
 * stands for. An hst host offers its native transport to a plugin run by
 * Node and hst's serve() takes it, so ts->ts runs on it without asking;
 * ts->ts/grpc declines it (native: false); every other side speaks
 * go-plugin's gRPC, the only protocol go-plugin and the Python SDK know.
 */
import { NATIVE_PROTOCOL } from '../src/protocol/constants.js';
import type { PluginTarget, TransportProtocol } from './job.js';
import type { Side } from './sides.js';

export function expectedProtocol(side: Side): TransportProtocol {
  return side.runner === 'node' && side.plugin === 'ts' && side.native !== false ? NATIVE_PROTOCOL : 'grpc';
}

export interface TargetOptions {
  autoMTLS?: boolean;
  multiplex?: boolean;
  hostServices?: PluginTarget['hostServices'];
}

export function pluginTarget(side: Side, command: string[], options: TargetOptions = {}): PluginTarget {
  return {
    kind: 'plugin',
    command,
    autoMTLS: options.autoMTLS ?? false,
    // Only a side that departs from hst's default says so: ts->ts measures what users get unasked.
    ...(side.native === false ? { native: false } : {}),
    protocol: expectedProtocol(side),
    ...(options.multiplex ? { multiplex: true } : {}),
    ...(options.hostServices ? { hostServices: options.hostServices } : {}),
  };
}
