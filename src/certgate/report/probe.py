"""Render a probe: a table per target for people, one ``certgate.probe/1`` object for scripts.

Findings carry knowledge-base ids; ``describe(kb_id)`` (optional) returns the knowledge base's
explanation for one, so the report never depends on how the knowledge base is stored.
"""

from __future__ import annotations

from typing import Final

from rich.console import Console
from rich.table import Table

from certgate.core.logsummary import Describe
from certgate.core.names import Name
from certgate.core.probe import (
    Attempt,
    CertificateRequest,
    HttpAnswer,
    PathResult,
    ProbeFinding,
    ProbeResult,
    Requirement,
    Selection,
    VersionResult,
    describe_attempt,
)
from certgate.core.rules import Severity
from certgate.report._text import escape
from certgate.report.documents import (
    AttemptJson,
    CaNameJson,
    CertificateRequestJson,
    ClientCertificateJson,
    HttpJson,
    PathJson,
    ProbeDocument,
    ProbeFindingJson,
    SelectionJson,
    VersionJson,
)

__all__ = ["SCHEMA", "print_probe", "probe_document"]

SCHEMA: Final = "certgate.probe/1"

_STYLE = {
    Requirement.REQUIRED: "bold red",
    Requirement.OPTIONAL: "yellow",
    Requirement.DISABLED: "green",
    Requirement.UNKNOWN: "magenta",
}
_SEVERITY = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def probe_document(result: ProbeResult, describe: Describe | None = None) -> ProbeDocument:
    target = result.target
    return {
        "schema": SCHEMA,
        "target": {
            "host": target.host,
            "port": target.port,
            "sni": target.sni,
            "address": target.address,
            "paths": list(result.paths),
        },
        "error": None
        if result.error is None
        else {"code": result.error.code, "message": result.error.message},
        "requirement": result.requirement.value,
        "certificate_refused": result.certificate_refused,
        "client_certificate": _client_certificate(result),
        "versions": [_version(v) for v in result.versions],
        "findings": [_finding(f, describe) for f in result.findings],
    }


def _names(names: tuple[Name, ...]) -> list[CaNameJson]:
    return [{"dn": str(n), "der_bytes": len(n.der)} for n in names]


def _request(request: CertificateRequest | None) -> CertificateRequestJson | None:
    return None if request is None else _request_document(request)


def _request_document(request: CertificateRequest) -> CertificateRequestJson:
    return {
        "stage": request.stage.value,
        "ca_names": _names(request.ca_names),
        "ca_names_bytes": request.ca_names_bytes,
        "signature_algorithms": None
        if request.signature_algorithms is None
        else list(request.signature_algorithms),
        "certificate_types": None
        if request.certificate_types is None
        else list(request.certificate_types),
        "source": "message" if request.from_message else "openssl-api",
    }


def _http(http: HttpAnswer | None) -> HttpJson | None:
    if http is None:
        return None
    return {
        "status": http.status,
        "reason": http.reason,
        "server": http.server,
        "substatus": http.substatus,
        "error_code": None if http.error_code is None else f"0x{http.error_code:08X}",
        "page": None if http.page is None else http.page.value,
        "truncated": http.truncated,
        "kb": list(http.kb),
    }


def _attempt(attempt: Attempt | None) -> AttemptJson | None:
    if attempt is None:
        return None
    alert = attempt.alert
    return {
        "outcome": attempt.outcome.value,
        "summary": describe_attempt(attempt),
        "handshake_completed": attempt.handshake_completed,
        "protocol": attempt.protocol,
        "cipher": attempt.cipher,
        "post_handshake_auth": attempt.post_handshake_auth,
        "certificate_requests": [_request_document(r) for r in attempt.requests],
        "alert": None
        if alert is None
        else {"number": alert.number, "name": alert.name, "kb": alert.kb},
        "http": _http(attempt.http),
        "detail": attempt.detail or None,
    }


def _selection(chosen: Selection | None) -> SelectionJson | None:
    if chosen is None:
        return None
    return {
        "offered": chosen.offered,
        "ca_names_empty": chosen.ca_names_empty,
        "matched": [str(n) for n in chosen.matched],
        "chain_issuers": [str(n) for n in chosen.chain_issuers],
    }


def _path(path: PathResult) -> PathJson:
    return {
        "path": path.path,
        "requirement": path.requirement.value,
        "basis": path.basis.value,
        "stage": None if path.stage is None else path.stage.value,
        "without_certificate": _attempt(path.without_certificate),
        "with_certificate": _attempt(path.with_certificate),
        "selection": _selection(path.selection),
        "certificate_refused": path.certificate_refused,
    }


def _version(version: VersionResult) -> VersionJson:
    return {
        "version": version.version.value,
        "supported": version.supported,
        "requirement": version.requirement.value if version.supported else None,
        "protocol": version.protocol,
        "cipher": version.cipher,
        "certificate_request": _request(version.handshake_request),
        "paths": [_path(p) for p in version.paths],
        "detail": version.detail or None,
    }


def _client_certificate(result: ProbeResult) -> ClientCertificateJson | None:
    cert = result.certificate
    if cert is None:
        return None
    return {
        "subject": str(cert.subject),
        "issuer": str(cert.issuer),
        "sha1": cert.sha1,
        "chain": [{"subject": str(s), "issuer": str(i)} for s, i in cert.chain],
    }


def _finding(finding: ProbeFinding, describe: Describe | None) -> ProbeFindingJson:
    return {
        "code": finding.code.value,
        "severity": finding.severity.value,
        "version": None if finding.version is None else finding.version.value,
        "path": finding.path,
        "message": finding.message,
        "kb": list(finding.kb),
        "explanations": _explanations(finding, describe),
    }


def _explanations(finding: ProbeFinding, describe: Describe | None) -> dict[str, str]:
    if describe is None:
        return {}
    found = {kb: describe(kb) for kb in finding.kb}
    return {kb: text for kb, text in found.items() if text}


# -- text -----------------------------------------------------------------------------------


def print_probe(console: Console, result: ProbeResult, describe: Describe | None = None) -> None:
    target = result.target
    via = f" ({target.address})" if target.address and target.address != target.host else ""
    sni = f", SNI {target.sni}" if target.sni else ", no SNI"
    console.print(f"[bold]{escape(str(target))}[/]{escape(via + sni)}")
    if result.error is not None:
        console.print(f"[bold red]not probed:[/] {escape(result.error.message)}")
        return
    if result.certificate is not None:
        cert = result.certificate
        console.print(
            f"Client certificate: {escape(str(cert.subject))} (issuer {escape(str(cert.issuer))},"
            f" SHA-1 {cert.sha1}, {len(cert.chain)} extra in chain)"
        )
    console.print(_table(result))
    for version in result.versions:
        _print_requests(console, version)
    _print_findings(console, result.findings, describe)
    style = _STYLE[result.requirement]
    line = f"Verdict: client certificate [{style}]{result.requirement.value}[/]"
    if result.certificate_refused is not None:
        verdict = "[bold red]refused[/]" if result.certificate_refused else "[green]accepted[/]"
        line += f"; the given certificate was {verdict}"
    console.print(line)


def _table(result: ProbeResult) -> Table:
    table = Table(expand=False)
    for column in ("TLS", "Path", "Client cert", "Asked", "Without certificate"):
        table.add_column(column, no_wrap=column != "Without certificate")
    with_cert = result.certificate is not None
    if with_cert:
        table.add_column("Offered?", no_wrap=True)
        table.add_column("With certificate")
    for version in result.versions:
        for path in version.paths:
            requirement = path.requirement if version.supported else None
            row = [
                version.version.value,
                escape(path.path),
                f"[{_STYLE[requirement]}]{requirement.value}[/]" if requirement else "refused",
                path.stage.value if path.stage else "-",
                escape(describe_attempt(path.without_certificate)),
            ]
            if with_cert:
                row += [_offered(path.selection), _with(path)]
            table.add_row(*row)
    return table


def _offered(chosen: Selection | None) -> str:
    if chosen is None:
        return "-"
    if chosen.ca_names_empty:
        return "yes (any)"
    return "yes" if chosen.offered else "[bold red]no[/]"


def _with(path: PathResult) -> str:
    if path.with_certificate is None:
        return "-"
    text = escape(describe_attempt(path.with_certificate))
    return f"[bold red]{text}[/]" if path.certificate_refused else text


def _print_requests(console: Console, version: VersionResult) -> None:
    seen: list[CertificateRequest] = []
    for path in version.paths:
        for request in path.without_certificate.requests:
            if request not in seen:
                seen.append(request)
    for request in seen:
        console.print(
            f"TLS {version.version} CertificateRequest ({request.stage.value}): "
            f"{len(request.ca_names)} CA name(s), {request.ca_names_bytes:,} bytes",
            markup=False,
        )
        for name in request.ca_names:
            console.print(f"  {name}", markup=False)
        if request.signature_algorithms is not None:
            console.print(f"  signature algorithms: {', '.join(request.signature_algorithms)}")
        else:
            console.print("  signature algorithms: not obtainable (raw message not readable)")


def _print_findings(
    console: Console, findings: tuple[ProbeFinding, ...], describe: Describe | None
) -> None:
    for finding in findings:
        if finding.severity is Severity.INFO and finding.code.value in _QUIET:
            continue
        where = " ".join(
            x
            for x in (f"TLS {finding.version}" if finding.version else "", finding.path or "")
            if x
        )
        ids = ", ".join(finding.kb)
        console.print(
            f"[{_SEVERITY[finding.severity]}]{finding.severity.value}[/] "
            f"{escape(where)}: {escape(finding.message)} [dim]\\[{escape(ids)}][/]"
        )
        for kb in finding.kb:
            text = describe(kb) if describe is not None else None
            if text:
                console.print(f"    {escape(kb)}: {escape(text)}")


# Verdict findings already shown in the table: listed in JSON, not repeated in the text.
_QUIET = {
    "probe-optional",
    "probe-required-tls",
    "probe-certificate-accepted",
}
