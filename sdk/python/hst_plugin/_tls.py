"""AutoMTLS: the plugin's self-signed certificate and the TLS material built from it.

When the host sets PLUGIN_CLIENT_CERT (its own certificate, PEM), the plugin
generates a certificate with go-plugin's template, serves TLS with it while
requiring and verifying a client certificate signed by (here: equal to) the
host's, and reports its certificate's DER, base64 without padding, in field 6
of the handshake line. The TLS itself is done by _bridge.TLSBridge (Python's
ssl module), not by grpcio: see there why.
"""

from __future__ import annotations

import base64
import datetime as _dt
import secrets
from dataclasses import dataclass
from typing import Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Lifetime and back-dating of go-plugin's certificates.
_VALIDITY = _dt.timedelta(hours=262980)
_BACKDATE = _dt.timedelta(seconds=30)


def generate_cert() -> Tuple[bytes, bytes]:
    """Return (certificate PEM, private key PEM) built from go-plugin's template.

    ECDSA P-521, Subject O=HashiCorp CN=localhost, SAN DNS:localhost, EKU
    clientAuth+serverAuth, KU digitalSignature|keyEncipherment|keyAgreement|
    keyCertSign, CA, random positive serial below 2^128, valid from 30 s ago
    for 262980 h, self-signed.
    """
    key = ec.generate_private_key(ec.SECP521R1())
    # Positive: 1 <= serial < 2^128.
    serial = 0
    while serial == 0:
        serial = secrets.randbelow(1 << 128)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = _dt.datetime.now(_dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA512())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # "EC PRIVATE KEY", as go-plugin writes it
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def raw_std_base64(data: bytes) -> str:
    """Go's base64.RawStdEncoding: standard alphabet, no padding, no newlines."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


class TLSError(Exception):
    pass


@dataclass(frozen=True)
class TLSMaterial:
    """The plugin's own certificate and key plus the host's certificate (its trust anchor)."""

    cert_pem: bytes
    key_pem: bytes
    cert_der: bytes
    peer_pem: bytes

    @classmethod
    def auto(cls, host_cert_pem: str) -> "TLSMaterial":
        peer = host_cert_pem.encode("utf-8")
        try:
            certs = x509.load_pem_x509_certificates(peer)
        except ValueError as exc:
            raise TLSError(f"client cert provided but failed to parse: {exc}") from exc
        if not certs:
            raise TLSError("client cert provided but failed to parse: no certificate found")
        cert_pem, key_pem = generate_cert()
        der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
        return cls(cert_pem=cert_pem, key_pem=key_pem, cert_der=der, peer_pem=peer)

    @property
    def handshake_cert(self) -> str:
        """Field 6 of the handshake line."""
        return raw_std_base64(self.cert_der)
