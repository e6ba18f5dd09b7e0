"""Findings of a probe, each with knowledge-base ids (``<family>:<code>``, most specific first).

The text here is certgate's own short explanation; the knowledge base (``certgate.core.kb``)
adds the long one through the ``describe`` hook of the report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from certgate.core.codes import kb_id
from certgate.core.issuers import ISSUER_LIST_LIMIT
from certgate.core.probe.model import (
    Attempt,
    Basis,
    CertificateRequest,
    Outcome,
    PageKind,
    PathResult,
    ProbeCode,
    ProbeError,
    ProbeFinding,
    Requirement,
    Stage,
    TlsVersion,
    VersionResult,
)
from certgate.core.probe.verdict import refusal_basis
from certgate.core.rules import Severity

__all__ = ["describe_attempt", "probe_findings"]


def probe_findings(
    versions: Sequence[VersionResult], error: ProbeError | None = None
) -> tuple[ProbeFinding, ...]:
    if error is not None:
        text = f"not probed: {error.message}"
        return (
            ProbeFinding(ProbeCode.UNREACHABLE, Severity.ERROR, text, _ids(ProbeCode.UNREACHABLE)),
        )
    out: list[ProbeFinding] = []
    for version in versions:
        out.extend(_version_findings(version))
        for path in version.paths:
            out.extend(_path_findings(version.version, path))
    return tuple(out)


def describe_attempt(attempt: Attempt) -> str:
    """One line: what the server did on this connection."""
    if attempt.outcome is Outcome.ALERT and attempt.alert is not None:
        where = "after the handshake" if attempt.handshake_completed else "in the handshake"
        return f"TLS alert {attempt.alert.number} {attempt.alert.name} {where}"
    if attempt.outcome is Outcome.ANSWERED and attempt.http is not None:
        http = attempt.http
        status = http.substatus or str(http.status)
        nginx = http.page is not None and http.page is not PageKind.IIS
        page = f" ({http.page.value} page)" if nginx and http.page else ""
        code = f" 0x{http.error_code:08X}" if http.error_code is not None else ""
        return f"HTTP {status} {http.reason}{code}{page}".strip()
    if attempt.outcome is Outcome.TIMEOUT:
        return "no answer within the timeout"
    if attempt.outcome is Outcome.CLOSED:
        return f"connection closed without an answer{_detail(attempt)}"
    return f"{attempt.outcome.value}{_detail(attempt)}"


def _detail(attempt: Attempt) -> str:
    return f" ({attempt.detail})" if attempt.detail else ""


def _ids(code: ProbeCode, *specific: str) -> tuple[str, ...]:
    return (*specific, code.kb)


def _version_findings(version: VersionResult) -> Iterator[ProbeFinding]:
    if not version.supported:
        alert = version.paths[0].without_certificate.alert if version.paths else None
        extra = (alert.kb,) if alert is not None else ()
        detail = f" ({version.detail})" if version.detail else ""
        text = f"no TLS {version.version} handshake: refused or not answered{detail}"
        yield ProbeFinding(
            ProbeCode.VERSION_REFUSED,
            Severity.INFO,
            text,
            _ids(ProbeCode.VERSION_REFUSED, *extra),
            version.version,
        )
        return
    request = version.handshake_request
    if request is not None:
        yield from _request_findings(request, version.version, None)


def _request_findings(
    request: CertificateRequest, version: TlsVersion, path: str | None
) -> Iterator[ProbeFinding]:
    if not request.ca_names:
        yield ProbeFinding(
            ProbeCode.EMPTY_CA_LIST,
            Severity.INFO,
            "the CertificateRequest names no CAs: clients may offer any certificate. Normal for "
            "IIS since Windows Server 2012 (SendTrustedIssuerList=0); it says nothing about "
            "whether a certificate is required",
            _ids(ProbeCode.EMPTY_CA_LIST),
            version,
            path,
        )
    if request.ca_names_bytes > ISSUER_LIST_LIMIT:
        yield ProbeFinding(
            ProbeCode.CA_LIST_OVER_LIMIT,
            Severity.WARNING,
            f"the CA name list is {request.ca_names_bytes:,} bytes, over Schannel's "
            f"{ISSUER_LIST_LIMIT:,}-byte cap [unconfirmed byte accounting]: a Windows server "
            "truncates it, and clients may not find their issuer",
            _ids(ProbeCode.CA_LIST_OVER_LIMIT),
            version,
            path,
        )


def _path_findings(version: TlsVersion, path: PathResult) -> Iterator[ProbeFinding]:
    without = path.without_certificate
    yield from _requirement_finding(version, path)
    late = without.request_at(Stage.RENEGOTIATION, Stage.POST_HANDSHAKE)
    if late is not None:
        yield _late_request(version, path.path, late)
        yield from _request_findings(late, version, path.path)
    if path.with_certificate is not None:
        yield from _certificate_findings(version, path)


def _requirement_finding(version: TlsVersion, path: PathResult) -> Iterator[ProbeFinding]:
    without = path.without_certificate
    what = describe_attempt(without)
    evidence = _evidence_ids(without)
    if path.requirement is Requirement.REQUIRED and path.stage is None:
        yield ProbeFinding(
            ProbeCode.REFUSED_WITHOUT_REQUEST,
            Severity.ERROR,
            f"the server demands a client certificate ({what}) but never asked for one on "
            f"TLS {version}: no client can satisfy it. IIS does this when the certificate is "
            "needed after a TLS 1.3 handshake (fix: clientcertnegotiation=enable, or disable "
            "TLS 1.3 on the binding)",
            _ids(ProbeCode.REFUSED_WITHOUT_REQUEST, *evidence),
            version,
            path.path,
        )
    elif path.requirement is Requirement.REQUIRED and path.basis is Basis.TLS_ALERT:
        yield ProbeFinding(
            ProbeCode.REQUIRED_TLS,
            Severity.INFO,
            f"required: without a certificate the server ends the connection with {what}",
            _ids(ProbeCode.REQUIRED_TLS, *evidence),
            version,
            path.path,
        )
    elif path.requirement is Requirement.REQUIRED:
        inferred = (
            " [inferred: a plain 401/403 need not be about the certificate]"
            if (path.basis is Basis.HTTP_STATUS)
            else ""
        )
        yield ProbeFinding(
            ProbeCode.REQUIRED_HTTP,
            Severity.INFO,
            f"required at the HTTP layer: the handshake completes without a certificate, then "
            f"the server answers {what}{inferred}. TLS-only scanners report this as OPTIONAL",
            _ids(ProbeCode.REQUIRED_HTTP, *evidence),
            version,
            path.path,
        )
    elif path.requirement is Requirement.OPTIONAL:
        yield ProbeFinding(
            ProbeCode.OPTIONAL,
            Severity.INFO,
            f"optional: the server asks for a certificate but answers without one ({what})",
            _ids(ProbeCode.OPTIONAL),
            version,
            path.path,
        )
    elif without.outcome is Outcome.CLOSED and not without.asked:
        yield ProbeFinding(
            ProbeCode.CLOSED_WITHOUT_REQUEST,
            Severity.WARNING,
            f"the connection was dropped after the request for {path.path} without a "
            "CertificateRequest: an IIS site that needs a certificate over TLS 1.3 resets the "
            "connection like this (Windows Server 2022 and earlier)",
            _ids(ProbeCode.CLOSED_WITHOUT_REQUEST),
            version,
            path.path,
        )


def _late_request(version: TlsVersion, path: str, request: CertificateRequest) -> ProbeFinding:
    if request.stage is Stage.RENEGOTIATION:
        return ProbeFinding(
            ProbeCode.LATE_REQUEST,
            Severity.WARNING,
            f"the certificate is asked for only after the request for {path}, by TLS 1.2 "
            "renegotiation (IIS per-path SslNegotiateCert without clientcertnegotiation=enable "
            "does this). HTTP/2 and TLS 1.3 cannot renegotiate, so those clients fail here. "
            "Fix on IIS: netsh http update sslcert ... clientcertnegotiation=enable",
            _ids(ProbeCode.LATE_REQUEST, kb_id("hresult", "SEC_I_RENEGOTIATE")),
            version,
            path,
        )
    return ProbeFinding(
        ProbeCode.POST_HANDSHAKE_REQUEST,
        Severity.WARNING,
        f"the certificate is asked for only after the request for {path}, by TLS 1.3 "
        "post-handshake authentication. Browsers do not offer it (this probe does), and it is "
        "forbidden over HTTP/2: ask in the handshake instead",
        _ids(ProbeCode.POST_HANDSHAKE_REQUEST),
        version,
        path,
    )


def _certificate_findings(version: TlsVersion, path: PathResult) -> Iterator[ProbeFinding]:
    attempt = path.with_certificate
    assert attempt is not None
    chosen = path.selection
    if chosen is not None and not chosen.offered:
        names = "; ".join(str(n) for n in chosen.chain_issuers) or "none"
        yield ProbeFinding(
            ProbeCode.NOT_SELECTABLE,
            Severity.ERROR,
            "none of the CA names the server sends matches an issuer in the certificate's chain "
            f"({names}): browsers and Windows clients will not offer this certificate, and "
            "IIS answers 403.7 (KB 2802568: an intermediate CA in the server's Trusted Root "
            "store shrinks the list it sends)",
            _ids(ProbeCode.NOT_SELECTABLE, kb_id("iis", "403.7")),
            version,
            path.path,
        )
    what = describe_attempt(attempt)
    if path.certificate_refused:
        yield ProbeFinding(
            ProbeCode.CERTIFICATE_REFUSED,
            Severity.ERROR,
            f"with the certificate the server refuses: {what}",
            _ids(ProbeCode.CERTIFICATE_REFUSED, *_evidence_ids(attempt)),
            version,
            path.path,
        )
    elif path.certificate_refused is False:
        sent = "" if attempt.asked else " (it never asked for it)"
        yield ProbeFinding(
            ProbeCode.CERTIFICATE_ACCEPTED,
            Severity.INFO,
            f"with the certificate the server answers: {what}{sent}",
            _ids(ProbeCode.CERTIFICATE_ACCEPTED),
            version,
            path.path,
        )


def _evidence_ids(attempt: Attempt) -> tuple[str, ...]:
    if refusal_basis(attempt) is Basis.TLS_ALERT and attempt.alert is not None:
        return (attempt.alert.kb,)
    if attempt.http is not None:
        return attempt.http.kb
    return ()
