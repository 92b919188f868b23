/**
 * hst's whole public API, for compatibility: a plugin should import
 * `hst/plugin` and an application `hst/host`, each of which loads only its side.
 */
export * from './plugin/index.js';
export * from './host/index.js';
