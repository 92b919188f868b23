/**
 * The certificate is DER hand-encoded in mtls.ts; @peculiar/x509 (a test
 * dependency only) reads it back here as an independent check of every field.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { certificateToHandshakeField, generateCertificate, handshakeFieldToCertificate } from './mtls.js';

it("follows go-plugin's certificate template field by field", async () => {
  const now = new Date('2030-01-02T03:04:05Z');
  const { cert, key } = await generateCertificate(now);
  const c = new x509.X509Certificate(cert);
  assert.equal(c.subject, 'O=HashiCorp, CN=localhost');
  assert.equal(c.issuer, c.subject, 'not self-signed');
  assert.ok(await c.verify({ signatureOnly: true }), 'self-signature does not verify');
  assert.equal(c.notBefore.getTime(), now.getTime() - 30_000);
  assert.equal(c.notAfter.getTime(), now.getTime() + 262_980 * 3_600_000);
  assert.equal((c.publicKey.algorithm as { namedCurve?: string }).namedCurve, 'P-521');
  assert.equal(c.signatureAlgorithm.hash.name, 'SHA-512');

  const serial = BigInt(`0x${c.serialNumber}`);
  assert.ok(serial > 0n && serial < 2n ** 128n, `serial ${serial}`);

  const bc = c.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  const ku = c.getExtension(x509.KeyUsagesExtension);
  const F = x509.KeyUsageFlags;
  assert.equal(ku?.usages, F.digitalSignature | F.keyEncipherment | F.keyAgreement | F.keyCertSign);
  const eku = c.getExtension(x509.ExtendedKeyUsageExtension);
  assert.deepEqual([...(eku?.usages ?? [])].sort(), [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth].sort());
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  assert.deepEqual(san?.names.toJSON(), [{ type: 'dns', value: 'localhost' }]);
  // Go writes a subject key identifier for a CA: SHA-1 of the public key's point.
  const jwk = new X509Certificate(cert).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  assert.equal(c.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, createHash('sha1').update(point).digest('hex'));
  // Checked by an independent parser too: Node's own, which OpenSSL backs.
  const parsed = new X509Certificate(cert);
  assert.ok(parsed.ca);
  assert.ok(parsed.verify(parsed.publicKey));
  assert.equal(parsed.checkHost('localhost'), 'localhost');

  // The key is usable by node's TLS and matches the certificate.
  assert.ok(new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)));
});

it('serials differ between certificates', async () => {
  const [a, b] = await Promise.all([generateCertificate(), generateCertificate()]);
  assert.notEqual(new X509Certificate(a.cert).serialNumber, new X509Certificate(b.cert).serialNumber);
});

it('round-trips the handshake field as unpadded base64 of the DER', async () => {
  const { cert } = await generateCertificate();
  const field = certificateToHandshakeField(cert);
  assert.doesNotMatch(field, /[=\n]/);
  assert.equal(Buffer.from(field, 'base64').length, new X509Certificate(cert).raw.length);
  assert.equal(new X509Certificate(handshakeFieldToCertificate(field)).fingerprint256, new X509Certificate(cert).fingerprint256);
  assert.throws(() => handshakeFieldToCertificate('QUJDREVGR0g'));
});
