"""From observed connections to verdicts: DISABLED / OPTIONAL / REQUIRED, and why.

Pure functions over ``Attempt`` values, so every server behaviour can be classified (and
tested) without a network.
"""

from __future__ import annotations

from collections.abc import Sequence

from certgate.core.codes import hresult_name
from certgate.core.names import Name
from certgate.core.probe.model import (
    Attempt,
    Basis,
    CertificateRequest,
    HttpAnswer,
    Outcome,
    PageKind,
    PathResult,
    Requirement,
    Selection,
    Stage,
)

__all__ = ["path_requirement", "path_result", "refusal_basis", "refusal_page", "selection"]

# IIS 500.0 with 0x80070032: a certificate demanded after a TLS 1.3 handshake
# (docs/windows-model.md#negotiation).
_NOT_SUPPORTED = "ERROR_NOT_SUPPORTED"


def refusal_page(http: HttpAnswer) -> bool:
    """An error page that names a client-certificate problem."""
    if http.page in (PageKind.NGINX_NO_CERT, PageKind.NGINX_CERT_ERROR):
        return True
    if http.page in (PageKind.IIS, PageKind.CERTGATE) and http.substatus:
        if http.substatus.startswith(("403.", "401.")):
            return True
        return http.error_code is not None and hresult_name(http.error_code) == _NOT_SUPPORTED
    return False


def refusal_basis(attempt: Attempt) -> Basis | None:
    """How the server said no on this connection, or None when it did not."""
    if attempt.outcome is Outcome.ALERT:
        return Basis.TLS_ALERT
    if attempt.outcome is Outcome.CLOSED:
        return Basis.CLOSED
    http = attempt.http
    if attempt.outcome is Outcome.ANSWERED and http is not None:
        if refusal_page(http):
            return Basis.ERROR_PAGE
        if http.status in (401, 403):
            return Basis.HTTP_STATUS
    return None


def path_requirement(without: Attempt) -> tuple[Requirement, Basis, Stage | None]:
    """The verdict for one path from the connection made without a certificate."""
    if without.outcome is Outcome.CONNECT_FAILED:
        return Requirement.UNKNOWN, Basis.UNREACHABLE, None
    stage = without.requests[0].stage if without.requests else None
    basis = refusal_basis(without)
    if stage is None:
        if not without.handshake_completed:
            return Requirement.UNKNOWN, Basis.UNREACHABLE, None
        if basis is Basis.ERROR_PAGE:
            return Requirement.REQUIRED, basis, None  # demanded, never asked: see findings
        if without.outcome in (Outcome.CLOSED, Outcome.ERROR, Outcome.ALERT):
            return Requirement.UNKNOWN, Basis.UNREACHABLE, None
        return Requirement.DISABLED, Basis.NOT_ASKED, None
    if basis is not None:
        return Requirement.REQUIRED, basis, stage
    if without.outcome is Outcome.ERROR:
        return Requirement.UNKNOWN, Basis.UNREACHABLE, stage
    if without.outcome is Outcome.TIMEOUT:
        return Requirement.OPTIONAL, Basis.NO_ANSWER, stage
    return Requirement.OPTIONAL, Basis.ANSWERED, stage


def selection(chain: Sequence[tuple[Name, Name]], request: CertificateRequest) -> Selection:
    """``chain`` is (subject, issuer) for the leaf first, then each extra certificate."""
    issuers: list[Name] = []
    for _, issuer in chain:
        if issuer not in issuers:
            issuers.append(issuer)
    matched = tuple(name for name in request.ca_names if name in issuers)
    empty = not request.ca_names
    return Selection(
        offered=empty or bool(matched),
        matched=matched,
        chain_issuers=tuple(issuers),
        ca_names_empty=empty,
    )


def path_result(
    path: str,
    without: Attempt,
    with_certificate: Attempt | None = None,
    chain: Sequence[tuple[Name, Name]] = (),
) -> PathResult:
    requirement, basis, stage = path_requirement(without)
    request = _request_for_selection(without, with_certificate)
    chosen = selection(chain, request) if request is not None and chain else None
    refused = None
    if with_certificate is not None and with_certificate.outcome is not Outcome.CONNECT_FAILED:
        refused = refusal_basis(with_certificate) is not None
    return PathResult(
        path=path,
        requirement=requirement,
        basis=basis,
        stage=stage,
        without_certificate=without,
        with_certificate=with_certificate,
        selection=chosen,
        certificate_refused=refused,
    )


def _request_for_selection(
    without: Attempt, with_certificate: Attempt | None
) -> CertificateRequest | None:
    if with_certificate is not None and with_certificate.requests:
        return with_certificate.requests[0]
    return without.requests[0] if without.requests else None
