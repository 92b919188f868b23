/**
 * AutoMTLS: each side makes a throwaway self-signed certificate from
 * go-plugin's template, the host passes its PEM in PLUGIN_CLIENT_CERT and
 * the plugin answers with its DER in the handshake, so both can pin the
 * other without any shared CA.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes, X509Certificate } from 'node:crypto';

// @peculiar/x509 is typed against the DOM's Crypto, which Node's webcrypto implements.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface CertificateAndKey {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' } as const;
const LIFETIME_MS = 262_980 * 3_600_000; // go-plugin's 262980h, about 30 years
const BACKDATE_MS = 30_000;

/** A serial in (0, 2^128), encoded as a positive DER integer. */
function randomSerialHex(): string {
  let bytes = randomBytes(16);
  while (bytes.every((b) => b === 0)) bytes = randomBytes(16);
  const hex = bytes.toString('hex');
  // A set top bit would make the DER integer negative: prefix a zero byte.
  return (bytes[0] as number) & 0x80 ? `00${hex}` : hex;
}

export async function generateCertificate(now = new Date()): Promise<CertificateAndKey> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: 'O=HashiCorp, CN=localhost',
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + LIFETIME_MS),
    signingAlgorithm: ALGORITHM,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment |
          x509.KeyUsageFlags.keyAgreement |
          x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: derToPem(Buffer.from(pkcs8), 'PRIVATE KEY') };
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
