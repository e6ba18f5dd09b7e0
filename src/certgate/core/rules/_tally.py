"""What an audit keeps of a store while its certificates stream past: compact keys, not objects.

A streamed audit (issue 17) judges each certificate as it is read and then drops it. The rules
that need more than one certificate (duplicates, one subject with several keys, a certificate
also in Disallowed, a self-signed root in CA but not in Root, the trusted-issuer list's size,
misplaced intermediates whose message depends on the final issuer list) read a ``StoreTally``:
fingerprints, subject bytes and key digests, counts and sums, and a ``CertSummary`` only for
certificates that already are findings. Memory grows by tens of bytes per certificate, not by
the ~15 KB of a parsed certificate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from certgate.core.issuers import counts_as_self_signed
from certgate.core.model import Certificate, SelfSigned
from certgate.core.names import Name
from certgate.core.rules._registry import CertSummary
from certgate.core.storenames import CA, DISALLOWED, ROOT

__all__ = ["StoreTally", "SubjectGroup", "thumbprint_digest"]


def thumbprint_digest(cert: Certificate) -> bytes:
    """The SHA-1 digest of the DER (the Windows thumbprint's bytes); primes ``cert.sha1``."""
    digest = hashlib.sha1(cert.der).digest()
    cert.__dict__.setdefault("sha1", digest.hex().upper())
    return digest


# One certificate of a bucket, before a second one shares its CN: (subject DER, issuer DER,
# key digest, thumbprint digest). Promoted to a SubjectGroup dict when the bucket grows.
_Single = tuple[bytes, bytes, bytes, bytes]


@dataclass(slots=True)
class SubjectGroup:
    """Certificates of one store sharing a subject name: the first one's names, and the first
    thumbprint seen for each distinct key, in order."""

    subject: bytes
    issuer: bytes
    keys: dict[bytes, bytes] = field(default_factory=dict)  # key digest -> thumbprint digest

    def summary(self) -> CertSummary:
        """The first certificate's summary, from its DER names (the certificate is gone)."""
        subject, sha1 = Name.from_der(self.subject), next(iter(self.keys.values())).hex().upper()
        label = f"{subject.common_name or subject or '(empty subject)'} [{sha1[:8]}]"
        return CertSummary(sha1, str(subject), str(Name.from_der(self.issuer)), label)


@dataclass(slots=True)
class _Repeat:
    copies: int
    summary: CertSummary


@dataclass(slots=True)
class StoreTally:
    """One store's aggregates, updated as each certificate is seen."""

    name: str
    count: int = 0  # certificates, duplicates included
    first: dict[bytes, int] = field(default_factory=dict)  # thumbprint -> first position
    duplicates: dict[bytes, _Repeat] = field(default_factory=dict)
    issuer_bytes: int = 0  # Σ 2 + len(subject DER) over distinct certificates
    self_signed: int = 0  # Root: distinct certificates that count as self-signed
    self_signed_bytes: int = 0
    # CN bucket (Name.bucket) -> the one certificate seen, or the groups by name key
    buckets: dict[str, _Single | dict[object, SubjectGroup]] = field(default_factory=dict)
    # Root, every copy: pending root::not-self-signed findings
    not_self_signed: list[tuple[CertSummary, Certificate | None]] = field(default_factory=list)
    # CA, every copy: self-signed roots (a finding unless Root holds them too)
    self_signed_roots: list[tuple[bytes, CertSummary, Certificate | None]] = field(
        default_factory=list
    )
    summaries: dict[bytes, CertSummary] = field(default_factory=dict)  # Disallowed only
    # With ``keep`` (an audit of a machine in memory), the first copy of each certificate,
    # so that findings decided at the end name the certificate object as well.
    keep: bool = False
    kept: dict[bytes, Certificate] = field(default_factory=dict)

    def see(self, cert: Certificate, digest: bytes) -> None:
        """Count ``cert`` (thumbprint digest ``digest``) into this store's aggregates."""
        position = self.count
        self.count += 1
        name = self.name
        held = cert if self.keep else None
        if name == ROOT and cert.self_signed is SelfSigned.NO:
            self.not_self_signed.append((CertSummary.of(cert), held))
        elif name == CA and cert.self_signed is SelfSigned.YES:
            self.self_signed_roots.append((digest, CertSummary.of(cert), held))
        if self.first.setdefault(digest, position) != position:
            repeated = self.duplicates.get(digest)
            if repeated is None:
                self.duplicates[digest] = _Repeat(2, CertSummary.of(cert))
            else:
                repeated.copies += 1
            return
        if held is not None:
            self.kept[digest] = held
        if name == DISALLOWED:
            self.summaries[digest] = CertSummary.of(cert)
        subject = cert.subject
        size = 2 + len(subject.der)
        self.issuer_bytes += size
        if name == ROOT and counts_as_self_signed(cert):
            self.self_signed += 1
            self.self_signed_bytes += size
        self._group(cert, subject, digest)

    def _group(self, cert: Certificate, subject: Name, digest: bytes) -> None:
        key_digest = hashlib.sha256(cert.spki_der).digest()[:16]
        bucket = subject.bucket
        entry = self.buckets.get(bucket)
        if entry is None:
            issuer = cert.issuer.der
            same = subject.der if issuer == subject.der else issuer  # share the bytes
            self.buckets[bucket] = (subject.der, same, key_digest, digest)
            return
        name_key: object = subject.key
        if isinstance(entry, tuple):
            first_subject, first_issuer, first_key, first_digest = entry
            group = SubjectGroup(first_subject, first_issuer, {first_key: first_digest})
            first_name_key = (
                name_key if first_subject == subject.der else Name.from_der(first_subject).key
            )
            entry = {first_name_key: group}
            self.buckets[bucket] = entry
        group_of = entry.get(name_key)
        if group_of is None:
            entry[name_key] = SubjectGroup(subject.der, cert.issuer.der, {key_digest: digest})
        else:
            group_of.keys.setdefault(key_digest, digest)

    def groups(self) -> list[SubjectGroup]:
        """Subjects shared by several certificates of this store, in order of appearance."""
        return [
            group
            for entry in self.buckets.values()
            if isinstance(entry, dict)
            for group in entry.values()
        ]

    def certificate(self, digest: bytes) -> Certificate | None:
        """The first copy of the certificate with this thumbprint digest, if kept."""
        return self.kept.get(digest)

    def holds(self, sha1: str) -> bool:
        """Is the certificate with this thumbprint (hex) in this store?"""
        try:
            return bytes.fromhex(sha1) in self.first
        except ValueError:
            return False

    def duplicated(self) -> list[tuple[int, CertSummary, Certificate | None]]:
        """(copies, summary, kept certificate) of every certificate stored more than once, in
        store order."""
        ordered = sorted(self.duplicates.items(), key=lambda item: self.first[item[0]])
        return [(r.copies, r.summary, self.kept.get(digest)) for digest, r in ordered]
