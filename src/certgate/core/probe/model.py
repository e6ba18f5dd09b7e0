"""What a probe of a live server found: plain values, no sockets.

One target is probed per TLS version and per path, on fresh connections: first without a
client certificate (does the server ask, where, with which CA names, and what does it do when
none comes), then, when the user gave one, with it. ``ProbeResult`` holds it all; the verdicts
are DISABLED / OPTIONAL / REQUIRED per path and version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from certgate.core.codes import TLS_ALERTS, hresult_name, kb_id
from certgate.core.names import Name
from certgate.core.rules import Severity

__all__ = [
    "Alert",
    "Attempt",
    "Basis",
    "CertificateRequest",
    "ClientCertificate",
    "HttpAnswer",
    "Outcome",
    "PageKind",
    "PathResult",
    "ProbeCode",
    "ProbeError",
    "ProbeFinding",
    "ProbeResult",
    "Requirement",
    "Selection",
    "Stage",
    "TargetInfo",
    "TlsVersion",
    "VersionResult",
]


class TlsVersion(StrEnum):
    TLS1_2 = "1.2"
    TLS1_3 = "1.3"


class Requirement(StrEnum):
    """sslyze's three values, plus UNKNOWN when the server could not be asked."""

    DISABLED = "DISABLED"
    OPTIONAL = "OPTIONAL"
    REQUIRED = "REQUIRED"
    UNKNOWN = "UNKNOWN"

    @property
    def rank(self) -> int:
        return ("UNKNOWN", "DISABLED", "OPTIONAL", "REQUIRED").index(self.value)


class Stage(StrEnum):
    """When the server sent its CertificateRequest."""

    HANDSHAKE = "handshake"
    RENEGOTIATION = "renegotiation"  # TLS 1.2: HelloRequest after the HTTP request
    POST_HANDSHAKE = "post-handshake"  # TLS 1.3 post-handshake authentication


class Outcome(StrEnum):
    """How one connection ended."""

    ANSWERED = "answered"  # an HTTP answer came (see ``http``)
    ALERT = "alert"  # the server sent a fatal TLS alert
    CLOSED = "closed"  # closed or reset without an alert or an HTTP answer
    TIMEOUT = "timeout"  # no HTTP answer within the timeout
    CONNECT_FAILED = "connect-failed"  # no TCP connection
    ERROR = "error"  # any other TLS failure (no common version, ...)


class Basis(StrEnum):
    """The evidence a requirement verdict rests on."""

    NOT_ASKED = "not-asked"  # no CertificateRequest, and no refusal
    TLS_ALERT = "tls-alert"  # refused with a TLS alert
    ERROR_PAGE = "error-page"  # refused with a recognised error page (IIS 403.7, nginx 496)
    HTTP_STATUS = "http-status"  # refused with a plain 401/403: [inferred] to be about the cert
    CLOSED = "closed"  # the connection was dropped after the request
    ANSWERED = "answered"  # asked, and answered normally without a certificate
    NO_ANSWER = "no-answer"  # asked, then nothing within the timeout: not refused
    UNREACHABLE = "unreachable"  # no verdict possible


class PageKind(StrEnum):
    """Error pages that name a client-certificate problem."""

    IIS = "iis"  # "HTTP Error 403.16 - Forbidden" (IIS detailed error page)
    NGINX_NO_CERT = "nginx-496"  # "400 No required SSL certificate was sent"
    NGINX_CERT_ERROR = "nginx-495"  # "400 The SSL certificate error"
    CERTGATE = "certgate"  # a certgate gate's denial: Certgate-Status / Certgate-HRESULT headers


@dataclass(frozen=True)
class Alert:
    """A TLS alert the server sent (RFC 8446 §6)."""

    number: int
    fatal: bool = True

    @property
    def name(self) -> str:
        return TLS_ALERTS.get(self.number, f"unknown_{self.number}")

    @property
    def kb(self) -> str:
        return kb_id("tls-alert", self.number)


@dataclass(frozen=True)
class CertificateRequest:
    """One CertificateRequest message as the client received it.

    ``ca_names_bytes`` is the length of the certificate_authorities list on the wire
    (Σ 2 + DER per name). ``signature_algorithms`` and ``certificate_types`` are None when the
    raw message could not be read (see ``from_message``).
    """

    stage: Stage
    ca_names: tuple[Name, ...] = ()
    ca_names_bytes: int = 0
    signature_algorithms: tuple[str, ...] | None = None
    certificate_types: tuple[str, ...] | None = None
    from_message: bool = False  # parsed from the raw message, not only the OpenSSL API


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    reason: str
    server: str | None = None  # the Server header
    substatus: str | None = None  # IIS "403.16", read from the error page
    error_code: int | None = None  # IIS detailed page "Error Code 0x80070005"
    page: PageKind | None = None
    truncated: bool = False  # the answer was cut short (timeout or size cap)

    @property
    def kb(self) -> tuple[str, ...]:
        """Knowledge-base ids for what the page says: ``iis:403.16``, ``nginx:496``, ..."""
        ids: list[str] = []
        if self.substatus:
            ids.append(kb_id("iis", self.substatus))
        if self.error_code is not None:
            name = hresult_name(self.error_code)
            ids.append(kb_id("hresult", name or f"0x{self.error_code:08X}"))
        if self.page is PageKind.NGINX_NO_CERT:
            ids.append(kb_id("nginx", 496))
        elif self.page is PageKind.NGINX_CERT_ERROR:
            ids.append(kb_id("nginx", 495))
        return tuple(ids)


@dataclass(frozen=True)
class Attempt:
    """One connection: the handshake, then an HTTP/1.1 request for ``path``."""

    path: str
    with_certificate: bool
    outcome: Outcome
    requests: tuple[CertificateRequest, ...] = ()
    alert: Alert | None = None
    http: HttpAnswer | None = None
    handshake_completed: bool = False
    protocol: str | None = None  # "TLSv1.3" as negotiated
    cipher: str | None = None
    detail: str = ""  # the error text, if any
    post_handshake_auth: bool = False  # whether the client offered TLS 1.3 PHA

    def request_at(self, *stages: Stage) -> CertificateRequest | None:
        return next((r for r in self.requests if r.stage in stages), None)

    @property
    def asked(self) -> bool:
        return bool(self.requests)


@dataclass(frozen=True)
class Selection:
    """Would a client that filters by the CA names (browsers, Windows) offer the certificate?

    OpenSSL-based clients (curl, this probe) send their certificate regardless; Schannel and
    browsers only offer one whose chain has an issuer among the names, or any when the list is
    empty. The KB 2802568 403.7 scenario is a list that matches no issuer of the chain.
    """

    offered: bool
    matched: tuple[Name, ...]
    chain_issuers: tuple[Name, ...]
    ca_names_empty: bool


@dataclass(frozen=True)
class PathResult:
    path: str
    requirement: Requirement
    basis: Basis
    stage: Stage | None  # when the certificate was asked for, None if never
    without_certificate: Attempt
    with_certificate: Attempt | None = None
    selection: Selection | None = None
    certificate_refused: bool | None = None  # None without a client certificate


@dataclass(frozen=True)
class VersionResult:
    version: TlsVersion
    supported: bool  # False when the server refused this TLS version
    paths: tuple[PathResult, ...] = ()
    handshake_request: CertificateRequest | None = None
    protocol: str | None = None
    cipher: str | None = None
    detail: str = ""

    @property
    def requirement(self) -> Requirement:
        """The strictest verdict over the paths."""
        if not self.paths:
            return Requirement.UNKNOWN
        return max((p.requirement for p in self.paths), key=lambda r: r.rank)


class ProbeCode(StrEnum):
    """Findings of a probe; each is also a knowledge-base id ``certgate:<value>``."""

    REQUIRED_TLS = "probe-required-tls"
    REQUIRED_HTTP = "probe-required-http"
    OPTIONAL = "probe-optional"
    LATE_REQUEST = "probe-renegotiation"
    POST_HANDSHAKE_REQUEST = "probe-post-handshake"
    EMPTY_CA_LIST = "probe-empty-ca-list"
    CA_LIST_OVER_LIMIT = "probe-ca-list-over-limit"
    NOT_SELECTABLE = "probe-not-selectable"
    CERTIFICATE_REFUSED = "probe-certificate-refused"
    CERTIFICATE_ACCEPTED = "probe-certificate-accepted"
    REFUSED_WITHOUT_REQUEST = "probe-refused-without-request"
    CLOSED_WITHOUT_REQUEST = "probe-closed-without-request"
    VERSION_REFUSED = "probe-version-refused"
    UNREACHABLE = "probe-unreachable"

    @property
    def kb(self) -> str:
        return kb_id("certgate", self.value)


@dataclass(frozen=True)
class ProbeFinding:
    code: ProbeCode
    severity: Severity
    message: str
    kb: tuple[str, ...]  # knowledge-base ids, most specific first
    version: TlsVersion | None = None
    path: str | None = None


@dataclass(frozen=True)
class TargetInfo:
    host: str
    port: int
    sni: str | None
    address: str | None = None  # the IP address connected to

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class ClientCertificate:
    """The certificate the user gave, as the report shows it (never the key)."""

    subject: Name
    issuer: Name
    sha1: str
    chain: tuple[tuple[Name, Name], ...] = ()  # (subject, issuer) of each extra certificate


@dataclass(frozen=True)
class ProbeError:
    """Why a target could not be probed at all."""

    code: str  # dns, refused, timeout, unreachable, error
    message: str


@dataclass(frozen=True)
class ProbeResult:
    target: TargetInfo
    versions: tuple[VersionResult, ...] = ()
    certificate: ClientCertificate | None = None
    findings: tuple[ProbeFinding, ...] = ()
    error: ProbeError | None = None
    paths: tuple[str, ...] = field(default=("/",))

    @property
    def requirement(self) -> Requirement:
        known = [v.requirement for v in self.versions if v.supported]
        return max(known, key=lambda r: r.rank) if known else Requirement.UNKNOWN

    @property
    def certificate_refused(self) -> bool | None:
        """With a client certificate: refused on any version and path probed."""
        answers = [p.certificate_refused for v in self.versions for p in v.paths]
        given = [a for a in answers if a is not None]
        return any(given) if given else None
