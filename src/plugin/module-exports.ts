/**
 * A plugin's exports as a JavaScript module, served through
 * hst.plugin.v1.Module: the host calls a function, or a method of an object,
 * by the name the manifest's `exports:` declares, with JSON-like values
 * (google.protobuf.Value). What the function returns (or resolves to) goes
 * back; what it throws becomes the call's status with its message.
 * Describe lists the exports, for a host that found the plugin by its file's
 * name and has no manifest to read them from.
 */
import { ModuleDefinition } from '../gen/hst/plugin/v1/module.js';
import type { ServiceRegistrar } from '../rpc/definition.js';
import { Code, isRpcError, RpcError } from '../rpc/status.js';

type ExportedFunction = (...args: any[]) => unknown;

/** Functions, and objects of functions, by export name. */
export type ModuleExports = Record<string, ExportedFunction | Record<string, ExportedFunction>>;

export function registerModule(registrar: ServiceRegistrar, exports: ModuleExports): void {
  registrar.addService(ModuleDefinition, {
    describe: async () => ({
      exports: Object.entries(exports).map(([name, target]) => ({
        name,
        methods: typeof target === 'function' ? [] : Object.keys(target).filter((method) => typeof target[method] === 'function'),
      })),
    }),
    call: async ({ export: name, method, args }) => {
      const target = Object.hasOwn(exports, name) ? exports[name] : undefined;
      if (target === undefined) throw new RpcError(Code.NOT_FOUND, `this plugin exports no ${JSON.stringify(name)}; it exports ${Object.keys(exports).join(', ') || 'nothing'}`);
      const fn = typeof target === 'function' ? (method ? undefined : target) : Object.hasOwn(target, method) ? target[method] : undefined;
      if (typeof fn !== 'function') {
        throw new RpcError(Code.NOT_FOUND, typeof target === 'function' ? `${name} is a function, not an object with ${JSON.stringify(method)}` : `${name} has no method ${JSON.stringify(method)}`);
      }
      try {
        // JSON-like values only: undefined has no Value, so it comes back as null.
        return { result: (await fn.apply(target, args ?? [])) ?? null };
      } catch (err) {
        if (isRpcError(err)) throw err;
        throw new RpcError(Code.UNKNOWN, err instanceof Error ? err.message : String(err));
      }
    },
  });
}
