"""Throw-away certificate authority + server certificate for the HTTPS sandbox."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    ca_bundle: Path
    cert_chain: Path
    key: Path


@dataclass(frozen=True)
class ClientCertificate:
    """An app-registration certificate credential (what you upload to Entra)."""

    certificate_pem: str
    private_key_pem: str
    sha1_thumbprint: str
    sha256_thumbprint: str
    public_key: rsa.RSAPublicKey


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gusto-dynamics sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


# Valid from long before "now": a run whose Python clock is moved to a later date
# (scripts/clock_shift) is still valid for OpenSSL, which checks against the real clock.
NOT_BEFORE_MARGIN = dt.timedelta(days=5 * 366)


def make_tls_files(directory: Path) -> TlsFiles:
    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = _name("gusto-dynamics sandbox CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - NOT_BEFORE_MARGIN)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _key()
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - NOT_BEFORE_MARGIN)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_bundle = directory / "ca.pem"
    chain = directory / "server-chain.pem"
    key = directory / "server-key.pem"
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    ca_bundle.write_bytes(ca_pem)
    chain.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    return TlsFiles(ca_bundle=ca_bundle, cert_chain=chain, key=key)


def make_client_certificate(common_name: str) -> ClientCertificate:
    now = dt.datetime.now(dt.UTC)
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - NOT_BEFORE_MARGIN)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return ClientCertificate(
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        sha1_thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303
        sha256_thumbprint=cert.fingerprint(hashes.SHA256()).hex().upper(),
        public_key=key.public_key(),
    )
