"""``certgate probe -f`` on the fleet executor: one task per batch of targets, each batch probed
on the worker with the probe's own thread concurrency; the worker returns the JSON documents.

Credentials cross to the workers as bytes (certificate and chain DER, key as unencrypted
PKCS#8 DER): over local pipes for the process pool; for Dask only on a ``tls://`` scheduler
address (``check_dask_credentials``), never in clear over a network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certgate.core.probe import TlsVersion
from certgate.errors import UsageError
from certgate.report.documents import ProbeDocument
from certgate.tls.connection import Credentials
from certgate.tls.probe import ProbeOptions, ProbeTarget

__all__ = ["ProbeBatch", "ProbeLine", "batches", "check_dask_credentials", "probe_batch"]


@dataclass(frozen=True)
class ProbeBatch:
    targets: tuple[ProbeTarget, ...]
    versions: tuple[TlsVersion, ...]
    timeout: float
    concurrency: int
    certificate: bytes | None = None  # DER
    key: bytes | None = None  # PKCS#8 DER
    chain: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ProbeLine:
    document: ProbeDocument
    requirement: str
    refused: bool
    unreachable: bool


def batches(
    targets: Iterable[ProbeTarget], options: ProbeOptions, concurrency: int
) -> Iterator[ProbeBatch]:
    """Targets in batches of twice the concurrency, the options carried as plain bytes."""
    certificate = key = None
    chain: tuple[bytes, ...] = ()
    credentials = options.credentials
    if credentials is not None:
        certificate = credentials.certificate.public_bytes(serialization.Encoding.DER)
        key = credentials.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        chain = tuple(c.public_bytes(serialization.Encoding.DER) for c in credentials.chain)
    size = concurrency * 2
    batch: list[ProbeTarget] = []
    for target in targets:
        batch.append(target)
        if len(batch) >= size:
            yield ProbeBatch(
                tuple(batch),
                options.versions,
                options.timeout,
                concurrency,
                certificate,
                key,
                chain,
            )
            batch = []
    if batch:
        yield ProbeBatch(
            tuple(batch), options.versions, options.timeout, concurrency, certificate, key, chain
        )


def check_dask_credentials(address: str, has_credentials: bool) -> None:
    if has_credentials and not address.startswith("tls://"):
        raise UsageError(
            "a client key would cross the network in clear to the Dask workers: use a tls:// "
            "scheduler address (Dask TLS), or probe without --dask"
        )


def probe_batch(batch: ProbeBatch) -> list[ProbeLine]:
    from certgate.core.kb import knowledge_base
    from certgate.report.probe import probe_document
    from certgate.tls.probe import probe_many

    credentials = None
    if batch.certificate is not None and batch.key is not None:
        credentials = Credentials(
            x509.load_der_x509_certificate(batch.certificate),
            serialization.load_der_private_key(batch.key, password=None),
            tuple(x509.load_der_x509_certificate(c) for c in batch.chain),
        )
    options = ProbeOptions(batch.versions, batch.timeout, credentials)
    describe = knowledge_base().describe
    return [
        ProbeLine(
            probe_document(result, describe=describe),
            result.requirement.value,
            bool(result.certificate_refused),
            result.error is not None,
        )
        for result in probe_many(batch.targets, options, concurrency=batch.concurrency)
    ]
