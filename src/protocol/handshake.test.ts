import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatHandshake, HandshakeError, negotiateVersion, parseHandshake } from './handshake.js';

const expect = { versions: [1, 3], allowedProtocols: ['grpc'] };

function parseError(line: string, e: Parameters<typeof parseHandshake>[1] = expect): HandshakeError {
  try {
    parseHandshake(line, e);
  } catch (err) {
    assert.ok(err instanceof HandshakeError);
    return err;
  }
  assert.fail(`parsed: ${line}`);
}

describe('handshake line', () => {
  it('is byte-exact, with an empty 6th field and no 7th unless asked', () => {
    const address = { network: 'unix', address: '/tmp/plugin123' } as const;
    assert.equal(formatHandshake({ coreVersion: 1, appVersion: 3, address, protocol: 'grpc' }), '1|3|unix|/tmp/plugin123|grpc|');
    assert.equal(
      formatHandshake({ coreVersion: 1, appVersion: 1, address: { network: 'tcp', address: '127.0.0.1:10000' }, protocol: 'grpc', certificate: 'QUJD', multiplex: false }),
      '1|1|tcp|127.0.0.1:10000|grpc|QUJD|false',
    );
  });

  it('parses what it formats, trimming whitespace', () => {
    const cert = 'A'.repeat(60);
    const info = parseHandshake(`  1|3|tcp|127.0.0.1:1234|grpc|${cert}\r\n`, expect);
    assert.deepEqual(info, { coreVersion: 1, appVersion: 3, address: { network: 'tcp', address: '127.0.0.1:1234' }, protocol: 'grpc', certificate: cert });
  });

  it('ignores a short 6th field, as go-plugin does', () => {
    assert.equal(parseHandshake('1|1|unix|/s|grpc|junk', expect).certificate, undefined);
  });

  it('rejects fewer than four fields with go-plugin\'s text', () => {
    const err = parseError('hello world');
    assert.equal(err.kind, 'unrecognized');
    assert.equal(err.message, 'Unrecognized remote plugin message: hello world');
    assert.equal(parseError('').message, 'Unrecognized remote plugin message: ');
  });

  it('rejects a bad or foreign core version', () => {
    assert.match(parseError('x|1|unix|/s|grpc').message, /^error parsing core protocol version/);
    const err = parseError('2|1|unix|/s|grpc');
    assert.equal(err.kind, 'core-version');
    assert.match(err.message, /^incompatible core API version with plugin\. Plugin version: 2, Core version: 1/);
  });

  it('rejects an app version the host did not offer, listing both', () => {
    assert.match(parseError('1|v2|unix|/s|grpc').message, /^Error parsing protocol version "v2"/);
    const err = parseError('1|2|unix|/s|grpc');
    assert.equal(err.kind, 'app-version');
    assert.equal(err.message, 'incompatible API version with plugin. Plugin version: 2, Client versions: [1 3]');
  });

  it('rejects unknown networks', () => {
    assert.equal(parseError('1|1|udp|1.2.3.4:5|grpc').message, 'unknown address type: 1.2.3.4:5');
  });

  it('defaults to netrpc when the protocol is missing, and enforces allowed protocols', () => {
    assert.equal(parseError('1|1|unix|/s').message, 'unsupported plugin protocol "netrpc". Supported: [grpc]');
    assert.equal(parseHandshake('1|1|unix|/s', { ...expect, allowedProtocols: ['netrpc'] }).protocol, 'netrpc');
  });

  it('takes the socket pair only as the native protocol, and only when it was offered', () => {
    const offered = { ...expect, allowedProtocols: ['grpc', 'hst1'] };
    assert.deepEqual(parseHandshake('1|3|socketpair|3|hst1|', offered).address, { network: 'socketpair', address: '3' });
    assert.equal(parseError('1|3|socketpair|3|hst1|').message, 'unknown address type: 3');
    assert.equal(parseError('1|3|socketpair|3|hst1|').kind, 'network');
    assert.equal(parseError('1|3|socketpair|3|grpc|', offered).kind, 'network');
    assert.equal(parseError('1|3|unix|/s|hst1|', offered).message, 'unsupported plugin protocol "hst1". Supported: [grpc]');
  });

  it('rejects a certificate that is not base64', () => {
    assert.equal(parseError(`1|1|unix|/s|grpc|${'*'.repeat(60)}`).kind, 'certificate');
  });

  it('checks the multiplexing answer only when the host asked', () => {
    const mux = { ...expect, multiplex: true };
    assert.match(parseError('1|1|unix|/s|grpc|', mux).message, /does not support the feature; for Go plugins/);
    assert.match(parseError('1|1|unix|/s|grpc||maybe', mux).message, /error parsing "maybe" as a boolean/);
    assert.match(parseError('1|1|unix|/s|grpc||false', mux).message, /does not support the feature$/);
    assert.equal(parseHandshake('1|1|unix|/s|grpc||true', mux).multiplex, true);
    assert.equal(parseHandshake('1|1|unix|/s|grpc||true', expect).multiplex, true);
  });
});

describe('version negotiation (plugin side)', () => {
  it('picks the highest version both sides have, whatever the order', () => {
    assert.equal(negotiateVersion([1, 3], '3,2'), 3);
    assert.equal(negotiateVersion([3, 1], '1,2,3'), 3);
    assert.equal(negotiateVersion([1, 2], '2,1'), 2);
  });

  it('falls back to its lowest version so the host can report the mismatch', () => {
    assert.equal(negotiateVersion([4, 5], '1,2'), 4);
    assert.equal(negotiateVersion([4, 5], undefined), 4);
  });

  it('skips malformed entries in PLUGIN_PROTOCOL_VERSIONS', () => {
    assert.equal(negotiateVersion([1, 2], 'x, 2 ,'), 2);
  });
});
