/**
 * The contract of go-plugin's bidirectional example: the host serves
 * AddHelper on a broker id and passes the id in Counter.Put; the plugin dials
 * it to do the addition. Works with the Go example on either side.
 */
import type { GrpcPlugin, HandshakeConfig } from '../../src/plugin/index.js';
import { AddHelperDefinition, CounterDefinition } from './gen/counter.js';

export const handshake: HandshakeConfig = {
  protocolVersion: 1,
  magicCookieKey: 'BASIC_PLUGIN',
  magicCookieValue: 'hello',
};

export const PLUGIN_NAME = 'counter';

export interface AddHelper {
  sum(a: number, b: number): Promise<number>;
}

export interface Counter {
  put(key: string, value: number, helper: AddHelper): Promise<void>;
  get(key: string): Promise<number>;
}

export function counterPlugin(impl?: Counter): GrpcPlugin<Counter> {
  return {
    server(registrar, broker) {
      if (!impl) throw new Error('counter plugin: no implementation to serve');
      registrar.addService(CounterDefinition, {
        get: async ({ key }) => ({ value: await impl.get(key) }),
        put: async ({ addServer, key, value }) => {
          const connection = await broker.dial(addServer);
          try {
            const helper = connection.client(AddHelperDefinition);
            await impl.put(key, value, { sum: async (a, b) => (await helper.sum({ a, b })).r });
          } finally {
            connection.close();
          }
          return {};
        },
      });
    },
    client(connection, broker) {
      const counter = connection.client(CounterDefinition);
      return {
        get: async (key) => (await counter.get({ key })).value,
        put: async (key, value, helper) => {
          // Serve the helper for the length of this one call.
          const server = await broker.acceptAndServe(broker.nextId(), (registrar) =>
            registrar.addService(AddHelperDefinition, { sum: async ({ a, b }) => ({ r: await helper.sum(a, b) }) }),
          );
          try {
            await counter.put({ addServer: server.id, key, value });
          } finally {
            server.close();
          }
        },
      };
    },
  };
}
