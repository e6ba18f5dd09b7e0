"""The gate's TLS layer: accept any client certificate, hand the chain to the judge.

OpenSSL is told to request a certificate and to accept whatever arrives (python-deps §4):
the judgement happens per request, with the chosen engine, so a denial can say why. Session
resumption is off: a resumed session would not carry the client's intermediates.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from zope.interface import implementer

from certgate.core.gate.policy import Policy
from certgate.errors import InputError

__all__ = ["GateTLS", "ServerIdentity", "peer_chain"]

_VERSIONS = {"1.2": SSL.TLS1_2_VERSION, "1.3": SSL.TLS1_3_VERSION}


@dataclass(frozen=True)
class ServerIdentity:
    """The gate's own certificate (with the chain it sends) and key."""

    certificate: x509.Certificate
    key: PrivateKeyTypes
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_files(cls, cert: str | Path, key: str | Path) -> ServerIdentity:
        try:
            certs = x509.load_pem_x509_certificates(Path(cert).read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(str(cert), f"not a PEM certificate chain: {exc}") from exc
        try:
            private = serialization.load_pem_private_key(Path(key).read_bytes(), None)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(str(key), f"not an unencrypted PEM private key: {exc}") from exc
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if certs[0].public_key().public_bytes(*spki) != private.public_key().public_bytes(*spki):
            raise InputError(str(key), f"is not the private key of the certificate in {cert}")
        return cls(certs[0], private, tuple(certs[1:]))

    @classmethod
    def throwaway(cls, host: str = "localhost", now: datetime | None = None) -> ServerIdentity:
        """A self-signed P-256 certificate for ``host``, 127.0.0.1 and ::1 (tests, the demo)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = (now or datetime.now(UTC)) - timedelta(hours=1)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        san = x509.SubjectAlternativeName(
            [
                x509.DNSName(host),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=2))
            .add_extension(san, False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    def write(self, folder: Path) -> tuple[Path, Path]:
        """PEM files for clients that need the server certificate (curl --cacert)."""
        cert = folder / "server.pem"
        cert.write_bytes(
            b"".join(
                c.public_bytes(serialization.Encoding.PEM) for c in (self.certificate, *self.chain)
            )
        )
        key = folder / "server.key"
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key.chmod(0o600)
        return cert, key


def _accept_any(
    connection: SSL.Connection, cert: crypto.X509, errno: int, depth: int, ok: int
) -> bool:
    return True  # the judge decides, per request, with the policy's engine


def build_context(identity: ServerIdentity, policy: Policy) -> SSL.Context:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    versions = [_VERSIONS[v] for v in policy.tls_versions]
    context.set_min_proto_version(min(versions))
    context.set_max_proto_version(max(versions))
    context.use_certificate(identity.certificate)
    for extra in identity.chain:
        context.add_extra_chain_cert(extra)
    context.use_privatekey(identity.key)  # type: ignore[arg-type]
    context.check_privatekey()
    context.set_options(SSL.OP_NO_TICKET | SSL.OP_NO_RENEGOTIATION)
    context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    context.set_session_id(b"certgate-gate")
    if policy.requests_certificate:
        context.set_verify(SSL.VERIFY_PEER, _accept_any)
        for cert in policy.hint_certificates():
            if cert.x509 is not None:
                context.add_client_ca(cert.x509)
    return context


@implementer(IOpenSSLServerConnectionCreator)
class GateTLS:
    """Twisted's connection creator: one ``SSL.Connection`` per accepted TCP connection."""

    def __init__(self, identity: ServerIdentity, policy: Policy) -> None:
        self.identity = identity
        self.reload(policy)

    def reload(self, policy: Policy) -> None:
        """New connections use ``policy``'s TLS settings; open ones keep theirs."""
        self.hints = len(policy.hint_certificates()) if policy.requests_certificate else 0
        self.context = build_context(identity=self.identity, policy=policy)

    def serverConnectionForTLS(self, tlsProtocol: object) -> SSL.Connection:
        return SSL.Connection(self.context, None)


def peer_chain(connection: SSL.Connection) -> tuple[bytes, ...]:
    """The certificates the client sent, leaf first, as DER (empty: none sent).

    Server side, OpenSSL's peer chain excludes the leaf (python-deps §4); a client that sends
    its leaf twice is not double-counted.
    """
    leaf = connection.get_peer_certificate()
    if leaf is None:
        return ()
    first = crypto.dump_certificate(crypto.FILETYPE_ASN1, leaf)
    rest = [
        crypto.dump_certificate(crypto.FILETYPE_ASN1, c)
        for c in connection.get_peer_cert_chain() or ()
    ]
    return (first, *(der for der in rest if der != first))
