/**
 * AutoMTLS: each side makes a throwaway self-signed certificate from
 * go-plugin's template, the host passes its PEM in PLUGIN_CLIENT_CERT and
 * the plugin answers with its DER in the handshake, so both can pin the
 * other without any shared CA.
 */
import { createHash, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

export interface CertificateAndKey {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const LIFETIME_MS = 262_980 * 3_600_000; // go-plugin's 262980h, about 30 years
const BACKDATE_MS = 30_000;

/*
 * The certificate is DER-encoded here, from go-plugin's fixed template, on
 * Node's own crypto (key pair and signature). The X.509 libraries for Node
 * build any certificate from any template but take ~90 ms to load, more than
 * the rest of a plugin's start; this template needs a dozen DER elements.
 */

/** A DER element: tag, definite length, contents. */
function der(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), body]);
  // Long form: 0x80 + the count of the big-endian length bytes that follow.
  const length: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) length.unshift(v & 0xff);
  return Buffer.concat([Buffer.from([tag, 0x80 | length.length, ...length]), body]);
}

const sequence = (...items: Uint8Array[]) => der(0x30, ...items);
const octets = (...items: Uint8Array[]) => der(0x04, ...items);
const TRUE = der(0x01, Buffer.from([0xff]));

/** An object identifier from its dotted form. */
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

/** A positive INTEGER from big-endian bytes: minimal, with a zero byte where the top bit is set. */
function positiveInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, (minimal[0] as number) & 0x80 ? Buffer.from([0]) : Buffer.alloc(0), minimal);
}

/** RFC 5280: UTCTime through 2049, GeneralizedTime from 2050, to the second. */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(digits.slice(2))) : der(0x18, Buffer.from(digits));
}

const ECDSA_WITH_SHA512 = sequence(oid('1.2.840.10045.4.3.4'));
/** O=HashiCorp, CN=localhost, as PrintableStrings, in the order Go writes them. */
const NAME = sequence(
  der(0x31, sequence(oid('2.5.4.10'), der(0x13, Buffer.from('HashiCorp')))),
  der(0x31, sequence(oid('2.5.4.3'), der(0x13, Buffer.from('localhost')))),
);
/** digitalSignature, keyEncipherment, keyAgreement, keyCertSign: bits 0, 2, 4 and 5, two unused. */
const KEY_USAGE_BITS = der(0x03, Buffer.from([0x02, 0xac]));
const CLIENT_AUTH = oid('1.3.6.1.5.5.7.3.2');
const SERVER_AUTH = oid('1.3.6.1.5.5.7.3.1');

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octets(value));
}

/** A serial in (0, 2^128), as go-plugin draws it. */
function randomSerial(): Buffer {
  let bytes = randomBytes(16);
  while (bytes.every((b) => b === 0)) bytes = randomBytes(16);
  return bytes;
}

/** The subject key identifier: SHA-1 of the public key's point (RFC 5280, method 1), as Go computes it. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

export async function generateCertificate(now = new Date()): Promise<CertificateAndKey> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'secp521r1' });
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    positiveInteger(randomSerial()),
    ECDSA_WITH_SHA512,
    NAME,
    sequence(time(new Date(now.getTime() - BACKDATE_MS)), time(new Date(now.getTime() + LIFETIME_MS))),
    NAME,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(
      0xa3,
      sequence(
        extension('2.5.29.19', true, sequence(TRUE)), // basic constraints: CA
        extension('2.5.29.15', true, KEY_USAGE_BITS),
        extension('2.5.29.37', false, sequence(CLIENT_AUTH, SERVER_AUTH)),
        extension('2.5.29.17', false, sequence(der(0x82, Buffer.from('localhost')))), // SAN dNSName
        extension('2.5.29.14', false, octets(keyIdentifier(publicKey))),
      ),
    ),
  );
  // Node signs ECDSA in DER (r, s), which is what X.509 carries.
  const signature = sign('sha512', tbs, privateKey);
  const certificate = sequence(tbs, ECDSA_WITH_SHA512, der(0x03, Buffer.from([0]), signature));
  return { cert: derToPem(certificate, 'CERTIFICATE'), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/** The handshake's 6th field: base64 without padding of the certificate's DER. */
export function certificateToHandshakeField(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64').replace(/=+$/, '');
}

/** Reads the handshake's certificate field back into PEM; throws on bad data. */
export function handshakeFieldToCertificate(field: string): string {
  const der = Buffer.from(field, 'base64');
  const pem = derToPem(der, 'CERTIFICATE');
  new X509Certificate(pem); // validates: throws on anything that is not a certificate
  return pem;
}
