"""What every engine takes and returns: a request, a verdict, the paths it judged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from cryptography import x509

from certgate.core.checks import Check, CheckStatus, Purpose
from certgate.core.codes import decode_trust_bits, hresult_forms
from certgate.core.confidence import Confidence
from certgate.core.model import Certificate
from certgate.core.paths import Budget, PathEnd
from certgate.core.stores import Machine

__all__ = [
    "Caveat",
    "Confidence",
    "JudgedPath",
    "OpenSSLDetail",
    "Verdict",
    "VerifyRequest",
    "WindowsDetail",
]


@dataclass(frozen=True)
class Caveat:
    confidence: Confidence
    text: str

    def __str__(self) -> str:
        return f"[{self.confidence.value}] {self.text}"


@dataclass(frozen=True)
class VerifyRequest:
    """Everything an engine needs. ``at`` must be timezone-aware: the core never reads a clock."""

    leaf: Certificate
    chain: tuple[Certificate, ...] = ()
    machine: Machine = field(default_factory=Machine)
    purpose: Purpose = Purpose.CLIENT
    at: datetime | None = None
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    partial_chain: bool = False  # openssl: trust non-self-signed certificates in Root
    require_revocation: bool = False  # rfc5280/openssl: no usable CRL is a failure
    budget: Budget = field(default_factory=Budget)

    def __post_init__(self) -> None:
        if self.at is None or self.at.tzinfo is None:
            raise ValueError("VerifyRequest.at must be a timezone-aware datetime")

    @property
    def when(self) -> datetime:
        assert self.at is not None
        return self.at


@dataclass(frozen=True)
class JudgedPath:
    """One candidate path and every check run on it."""

    certificates: tuple[Certificate, ...]
    end: PathEnd
    checks: tuple[Check, ...]

    @cached_property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.FAIL)

    @cached_property
    def warnings(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status is CheckStatus.WARN)

    @property
    def valid(self) -> bool:
        return self.end is PathEnd.ANCHORED and not self.failures


@dataclass(frozen=True)
class WindowsDetail:
    """How the Windows outcome shows up in IIS logs, WCF traces and CAPI2 events."""

    hresult: int  # 0 when accepted
    iis_status: str  # 200, 403.7, 403.13, 403.16, 403.17
    trust_errors: int = 0  # CERT_TRUST_STATUS.dwErrorStatus
    trust_info: int = 0  # CERT_TRUST_STATUS.dwInfoStatus
    trust_mode: int = 0
    issuer_list_source: str = ""
    issuer_list_sent: bool = False

    @property
    def hresult_hex(self) -> str:
        return hresult_forms(self.hresult).hex

    @property
    def win32_status(self) -> int:
        """IIS ``sc-win32-status``: the Win32 code for a FACILITY_WIN32 HRESULT (403.7 logs
        ``5``), else the HRESULT as an unsigned decimal (2148204809)."""
        return hresult_forms(self.hresult).win32_status

    @property
    def wcf_native(self) -> str | None:
        """What a self-hosted WCF trace prints as ``native error code``; None for 403.7: no
        certificate arrived, so WCF traces HttpsClientCertificateNotPresent (262160) without
        a code (docs/windows-model.md#wcf-native-error)."""
        if self.iis_status == "403.7":
            return None
        return hresult_forms(self.hresult).low_word

    @property
    def wcf_text(self) -> str:
        """The WCF trace a self-hosted service writes, in words."""
        if self.wcf_native is None:
            return "WCF HttpsClientCertificateNotPresent (262160), no native error code"
        return f"WCF native error {self.wcf_native}"

    @property
    def trust_error_names(self) -> list[str]:
        return decode_trust_bits(self.trust_errors)[0]

    @property
    def trust_info_names(self) -> list[str]:
        return decode_trust_bits(self.trust_info, info=True)[0]


@dataclass(frozen=True)
class OpenSSLDetail:
    error: int  # X509_V_ERR_* number, 0 when accepted
    depth: int  # the chain depth OpenSSL reports the error at (-1 when accepted)
    text: str  # X509_verify_cert_error_string


@dataclass(frozen=True)
class Verdict:
    """An engine's judgement: accept or reject, a code, the path judged and why.

    ``code`` is an HRESULT name (windows), an ``X509_V_ERR_*`` name (openssl) or a
    ``CheckCode`` value (rfc5280); ``EMITTED_CODES`` lists every code each engine can return.
    """

    engine: str
    accepted: bool
    code: str
    message: str
    path: tuple[Certificate, ...] = ()
    reasons: tuple[Check, ...] = ()  # failed and warning checks on the judged path
    paths: tuple[JudgedPath, ...] = ()  # every candidate judged (chosen one first)
    caveats: tuple[Caveat, ...] = ()
    exhausted: bool = False  # the path budget stopped the search
    windows: WindowsDetail | None = None
    openssl: OpenSSLDetail | None = None

    @property
    def verdict(self) -> str:
        return "accept" if self.accepted else "reject"


def rank_paths(paths: Sequence[JudgedPath]) -> list[JudgedPath]:
    """Valid paths first, then anchored ones, then those with the fewest failures."""
    return sorted(
        paths, key=lambda p: (not p.valid, p.end is not PathEnd.ANCHORED, len(p.failures))
    )
