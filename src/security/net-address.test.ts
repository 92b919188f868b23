import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAddress, ipLiteral, isPublicAddress, sameAddress, type AddressClass } from './net-address.js';

function expectClasses(cases: Record<string, AddressClass>): void {
  const wrong = Object.entries(cases)
    .map(([address, expected]) => ({ address, expected, actual: classifyAddress(address) }))
    .filter((c) => c.actual !== c.expected);
  assert.deepEqual(wrong, []);
}

describe('address classification', () => {
  it('IPv4: loopback, private, link-local, unspecified, shared, multicast, broadcast, reserved', () => {
    expectClasses({
      '127.0.0.1': 'loopback',
      '127.255.255.254': 'loopback',
      '127.0.0.53': 'loopback',
      '10.0.0.1': 'private',
      '10.255.255.255': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local',
      '169.254.0.1': 'link-local',
      '0.0.0.0': 'unspecified',
      '0.1.2.3': 'unspecified',
      '100.64.0.1': 'shared',
      '100.127.255.255': 'shared',
      '224.0.0.1': 'multicast',
      '239.255.255.250': 'multicast',
      '255.255.255.255': 'broadcast',
      '240.0.0.1': 'reserved',
      '255.255.255.254': 'reserved',
      '192.0.0.8': 'reserved',
      '192.0.2.1': 'reserved',
      '198.18.0.1': 'reserved',
      '198.19.255.255': 'reserved',
      '198.51.100.7': 'reserved',
      '203.0.113.9': 'reserved',
      '192.88.99.1': 'reserved',
    });
  });

  it('IPv4: the neighbours of every block are public', () => {
    expectClasses({
      '8.8.8.8': 'public',
      '1.1.1.1': 'public',
      '9.255.255.255': 'public',
      '11.0.0.0': 'public',
      '100.63.255.255': 'public',
      '100.128.0.0': 'public',
      '126.255.255.255': 'public',
      '128.0.0.0': 'public',
      '169.253.255.255': 'public',
      '169.255.0.0': 'public',
      '172.15.255.255': 'public',
      '172.32.0.0': 'public',
      '192.167.255.255': 'public',
      '192.169.0.0': 'public',
      '192.0.1.1': 'public',
      '198.17.255.255': 'public',
      '198.20.0.0': 'public',
      '223.255.255.255': 'public',
    });
  });

  it('IPv6: loopback, unspecified, unique local, site local, link local, multicast, documentation', () => {
    expectClasses({
      '::1': 'loopback',
      '0:0:0:0:0:0:0:1': 'loopback',
      '0000:0000:0000:0000:0000:0000:0000:0001': 'loopback',
      '::': 'unspecified',
      '0::0': 'unspecified',
      'fc00::1': 'private',
      'fd12:3456:789a::1': 'private',
      'FD00::1': 'private',
      'fec0::1': 'private',
      'fe80::1': 'link-local',
      'fe80::1%eth0': 'link-local',
      'febf:ffff::1': 'link-local',
      'ff02::1': 'multicast',
      'ff05::1:3': 'multicast',
      '2001:db8::1': 'reserved',
      '3fff::1': 'reserved',
      '2001::1': 'reserved',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2': 'reserved',
      '100::1': 'reserved',
      '::7f00:1': 'reserved',
      '::127.0.0.1': 'reserved',
      '4000::1': 'reserved',
      '2606:4700:4700::1111': 'public',
      '2a00:1450:4001:80b::200e': 'public',
      '2001:4860:4860::8888': 'public',
      '3ffe:1::1': 'public',
    });
  });

  it('IPv6 forms that carry an IPv4 address are judged by it', () => {
    expectClasses({
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:7f00:1': 'loopback',
      '::FFFF:7F00:0001': 'loopback',
      '0:0:0:0:0:ffff:127.0.0.1': 'loopback',
      '::ffff:10.0.0.1': 'private',
      '::ffff:a9fe:a9fe': 'link-local',
      '::ffff:169.254.169.254': 'link-local',
      '::ffff:0.0.0.0': 'unspecified',
      '::ffff:8.8.8.8': 'public',
      '64:ff9b::127.0.0.1': 'loopback',
      '64:ff9b::a9fe:a9fe': 'link-local',
      '64:ff9b::c0a8:101': 'private',
      '64:ff9b::8.8.8.8': 'public',
      '64:ff9b:1::1': 'private',
      '2002:7f00:1::1': 'loopback',
      '2002:a00:1::': 'private',
      '2002:a9fe:a9fe::1': 'link-local',
      '2002:808:808::1': 'public',
    });
  });

  it('refuses what is not a canonical address instead of guessing', () => {
    expectClasses({
      '127.1': 'invalid',
      '0x7f000001': 'invalid',
      '2130706433': 'invalid',
      '0177.0.0.1': 'invalid',
      '127.000.000.001': 'invalid',
      '127.0.0.1%lo': 'invalid',
      '[::1]': 'invalid',
      'localhost': 'invalid',
      '': 'invalid',
      '1.2.3.4.5': 'invalid',
      '256.0.0.1': 'invalid',
      ':::1': 'invalid',
    });
    assert.equal(isPublicAddress('127.1'), false);
    assert.equal(isPublicAddress('8.8.8.8'), true);
    assert.equal(isPublicAddress('::ffff:127.0.0.1'), false);
  });

  it('WHATWG URL parsing canonicalises the shorthand IPv4 forms to what is classified', () => {
    for (const host of ['127.1', '0x7f000001', '2130706433', '0177.0.0.1', '0x7f.1', '127.0.0.1.']) {
      const hostname = new URL(`http://${host}:81/`).hostname;
      assert.equal(hostname, '127.0.0.1', host);
      assert.equal(classifyAddress(ipLiteral(hostname) ?? ''), 'loopback', host);
    }
    assert.equal(new URL('http://[::ffff:127.0.0.1]/').hostname, '[::ffff:7f00:1]');
    assert.equal(classifyAddress(ipLiteral('[::ffff:7f00:1]') ?? ''), 'loopback');
  });

  it('ipLiteral unwraps URL hostnames and leaves names alone', () => {
    assert.equal(ipLiteral('127.0.0.1'), '127.0.0.1');
    assert.equal(ipLiteral('[::1]'), '::1');
    assert.equal(ipLiteral('[fe80::1]'), 'fe80::1');
    assert.equal(ipLiteral('localhost'), undefined);
    assert.equal(ipLiteral('example.com'), undefined);
    assert.equal(ipLiteral('::1'), '::1');
  });

  it('sameAddress compares IPv6 whatever its spelling', () => {
    assert.ok(sameAddress('::1', '0:0:0:0:0:0:0:1'));
    assert.ok(sameAddress('::ffff:127.0.0.1', '::ffff:7f00:1'));
    assert.ok(sameAddress('127.0.0.1', '127.0.0.1'));
    assert.ok(!sameAddress('127.0.0.1', '::ffff:127.0.0.1'));
    assert.ok(!sameAddress('::1', '::2'));
  });
});
