/**
 * The contract shared by the KV host and plugin: go-plugin's classic gRPC
 * example, so either side also works with its Go counterpart.
 */
import type { GrpcPlugin, HandshakeConfig } from '../../src/plugin/index.js';
import { KVDefinition } from './gen/kv.js';

export const handshake: HandshakeConfig = {
  protocolVersion: 1,
  magicCookieKey: 'BASIC_PLUGIN',
  magicCookieValue: 'hello',
};

export interface KV {
  get(key: string): Promise<Uint8Array>;
  put(key: string, value: Uint8Array): Promise<void>;
}

export function kvPlugin(impl?: KV): GrpcPlugin<KV> {
  return {
    server(registrar) {
      if (!impl) throw new Error('kv plugin: no implementation to serve');
      registrar.addService(KVDefinition, {
        get: async ({ key }) => ({ value: await impl.get(key) }),
        put: async ({ key, value }) => {
          await impl.put(key, value);
          return {};
        },
      });
    },
    client(connection) {
      const kv = connection.client(KVDefinition);
      return {
        get: async (key) => (await kv.get({ key })).value,
        put: async (key, value) => {
          await kv.put({ key, value });
        },
      };
    },
  };
}

/** The plugin name go-plugin's example host dispenses. */
export const PLUGIN_NAME = 'kv_grpc';
