"""Render verdicts: a side-by-side table, the chosen path as a tree, the other candidates,
what-if results; or one ``certgate.verify/1`` JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from certgate.core.checks import Check, CheckStatus, Purpose
from certgate.core.engines import JudgedPath, Verdict
from certgate.core.model import Certificate
from certgate.report._text import escape
from certgate.report.documents import (
    CandidatePathJson,
    CheckJson,
    EngineVerdictJson,
    SettingOriginJson,
    VerifyDocument,
    WhatIfJson,
)
from certgate.report.jsonout import cert_detail

__all__ = ["SCHEMA", "WhatIfResult", "print_verify", "verify_document"]

SCHEMA: Final = "certgate.verify/1"
_STATUS_STYLE = {
    CheckStatus.PASS: "green",
    CheckStatus.WARN: "yellow",
    CheckStatus.FAIL: "bold red",
}
_MARK = {CheckStatus.PASS: "ok", CheckStatus.WARN: "warn", CheckStatus.FAIL: "FAIL"}


@dataclass(frozen=True)
class WhatIfResult:
    change: str
    before: Verdict
    after: Verdict | None  # None when the change could not apply
    error: str = ""


def short(verdict: Verdict) -> str:
    """One token for before/after: the IIS status for windows, else accept or the code."""
    if verdict.windows is not None:
        return verdict.windows.iis_status
    return "accept" if verdict.accepted else verdict.code


# -- JSON ---------------------------------------------------------------------------------


def verify_document(
    leaf: Certificate,
    verdicts: dict[str, Verdict],
    what_if: list[WhatIfResult],
    warnings: list[str],
    at: str,
    notes: tuple[str, ...] = (),
    settings: list[SettingOriginJson] | None = None,
) -> VerifyDocument:
    """``settings``: the machine's settings with their sources (``jsonout.origins_json``)."""
    certs: dict[str, Certificate] = {leaf.sha1: leaf}
    for verdict in verdicts.values():
        for path in verdict.paths:
            certs.update((c.sha1, c) for c in path.certificates)
        certs.update((c.sha1, c) for c in verdict.path)
    return {
        "schema": SCHEMA,
        "at": at,
        "leaf": leaf.sha1,
        "verdict": "accept" if all(v.accepted for v in verdicts.values()) else "reject",
        "engines": {name: _engine(v) for name, v in verdicts.items()},
        "paths": [
            _path(name, p, index == 0)
            for name, v in verdicts.items()
            for index, p in enumerate(v.paths)
        ],
        "what_if": [_what_if(w) for w in what_if],
        "certificates": {sha1: cert_detail(c) for sha1, c in certs.items()},
        "notes": list(notes),
        "warnings": warnings,
        "settings": settings or [],
    }


def _engine(verdict: Verdict) -> EngineVerdictJson:
    out: EngineVerdictJson = {
        "verdict": verdict.verdict,
        "code": verdict.code,
        "message": verdict.message,
        "path": [c.sha1 for c in verdict.path],
        "reasons": [_check(c) for c in verdict.reasons],
        "caveats": [{"confidence": c.confidence.value, "text": c.text} for c in verdict.caveats],
        "path_budget_exhausted": verdict.exhausted,
    }
    if verdict.windows is not None:
        w = verdict.windows
        out |= {
            "hresult": w.hresult_hex,
            "win32_status": w.win32_status,
            "wcf_native": w.wcf_native,
            "iis_status": w.iis_status,
            "cert_trust_error_status": w.trust_errors,
            "cert_trust_errors": w.trust_error_names,
            "cert_trust_info_status": w.trust_info,
            "cert_trust_info": w.trust_info_names,
            "trust_mode": w.trust_mode,
            "issuer_list_source": w.issuer_list_source,
            "issuer_list_sent": w.issuer_list_sent,
        }
    if verdict.openssl is not None:
        out |= {
            "error": verdict.openssl.error,
            "depth": verdict.openssl.depth,
            "error_text": verdict.openssl.text,
        }
    return out


def _check(check: Check) -> CheckJson:
    return {
        "kind": check.kind.value,
        "status": check.status.value,
        "code": check.code.value,
        "depth": check.depth,
        "sha1": check.sha1,
        "message": check.message,
    }


def _path(engine: str, path: JudgedPath, chosen: bool) -> CandidatePathJson:
    return {
        "engine": engine,
        "chosen": chosen,
        "certificates": [c.sha1 for c in path.certificates],
        "subjects": [str(c.subject) for c in path.certificates],
        "end": path.end.value,
        "valid": path.valid,
        "checks": [_check(c) for c in path.checks],
    }


def _what_if(result: WhatIfResult) -> WhatIfJson:
    after = result.after
    return {
        "change": result.change,
        "engine": result.before.engine,
        "before": {
            "verdict": result.before.verdict,
            "code": result.before.code,
            "short": short(result.before),
        },
        "after": None
        if after is None
        else {"verdict": after.verdict, "code": after.code, "short": short(after)},
        "error": result.error or None,
    }


# -- text ---------------------------------------------------------------------------------


def print_verify(
    console: Console,
    leaf: Certificate,
    verdicts: dict[str, Verdict],
    what_if: list[WhatIfResult],
    notes: tuple[str, ...] = (),
    *,
    purpose: Purpose = Purpose.CLIENT,
) -> None:
    label = "Client certificate" if purpose is Purpose.CLIENT else "Server certificate"
    console.print(f"{label}: {escape(str(leaf.subject))} [{leaf.sha1}]", markup=True)
    console.print(_table(verdicts))
    for name, verdict in verdicts.items():
        for caveat in verdict.caveats:
            style = "dim" if caveat.confidence.value == "confirmed" else "yellow"
            console.print(f"  [{style}]{escape(name)}: {escape(str(caveat))}[/]")
    for note in notes:
        console.print(f"  [dim]note: {escape(note)}[/]")
    for name, verdict in verdicts.items():
        if verdict.paths:
            console.print(_tree(name, verdict.paths[0]))
            _print_others(console, name, verdict.paths[1:])
    if what_if:
        console.print(_what_if_table(what_if))
    accepted = all(v.accepted for v in verdicts.values())
    line = (
        "ACCEPTED by every engine"
        if accepted
        else "REJECTED by " + ", ".join(n for n, v in verdicts.items() if not v.accepted)
    )
    console.print(f"[{'bold green' if accepted else 'bold red'}]{line}[/]")


def _table(verdicts: dict[str, Verdict]) -> Table:
    table = Table(title="Verdicts", title_justify="left")
    for column in ("Engine", "Verdict", "Code", "Details", "Why"):
        table.add_column(column, overflow="fold")
    for name, v in verdicts.items():
        style = "green" if v.accepted else "bold red"
        table.add_row(
            name, f"[{style}]{v.verdict}[/]", escape(v.code), escape(_details(v)), escape(v.message)
        )
    return table


def _details(verdict: Verdict) -> str:
    if verdict.windows is not None:
        w = verdict.windows
        if w.hresult == 0:
            return f"IIS {w.iis_status}; mode {w.trust_mode}"
        bits = ", ".join(n.removeprefix("CERT_TRUST_") for n in w.trust_error_names)
        return (
            f"IIS {w.iis_status}; HRESULT {w.hresult_hex}; sc-win32-status {w.win32_status}; "
            f"{w.wcf_text}; {bits or 'no CERT_TRUST bits'}; mode {w.trust_mode}"
        )
    if verdict.openssl is not None:
        o = verdict.openssl
        return "ok" if o.error == 0 else f"error {o.error} at depth {o.depth}"
    return ""


def _tree(engine: str, path: JudgedPath) -> Tree:
    title = f"{engine}: chosen path ({path.end.value}{', valid' if path.valid else ''})"
    tree = Tree(f"[bold]{escape(title)}[/]")
    node = tree
    for depth in range(len(path.certificates) - 1, -1, -1):
        cert = path.certificates[depth]
        checks = [c for c in path.checks if c.depth == depth]
        failing = any(c.failed for c in checks)
        label = f"{escape(str(cert.subject))} [dim]{cert.sha1[:8]}[/]"
        node = node.add(f"[bold red]{label}[/]" if failing else label)
        passed = sum(1 for c in checks if c.status is CheckStatus.PASS)
        for check in checks:
            if check.status is not CheckStatus.PASS:
                style = _STATUS_STYLE[check.status]
                node.add(
                    f"[{style}]{_MARK[check.status]} {check.kind.value}: {escape(check.message)}[/]"
                )
        if passed:
            node.add(f"[dim]{passed} check(s) passed[/]")
    return tree


def _print_others(console: Console, engine: str, paths: tuple[JudgedPath, ...]) -> None:
    if not paths:
        return
    console.print(f"{engine}: {len(paths)} other candidate path(s)")
    for path in paths:
        chain = " <- ".join(
            c.subject.common_name or str(c.subject) for c in reversed(path.certificates)
        )
        first = path.failures[0].message if path.failures else path.end.value
        console.print(f"  - {escape(chain)}: {escape(first)}")


def _what_if_table(results: list[WhatIfResult]) -> Table:
    table = Table(title="What if", title_justify="left")
    for column in ("Change", "Engine", "Effect", "Before", "After"):
        table.add_column(column, overflow="fold")
    for r in results:
        after = r.error if r.after is None else f"{short(r.after)} ({r.after.code})"
        effect = "" if r.after is None else f"{short(r.before)} -> {short(r.after)}"
        table.add_row(
            escape(r.change),
            r.before.engine,
            effect,
            f"{short(r.before)} ({r.before.code})",
            escape(after),
        )
    return table
