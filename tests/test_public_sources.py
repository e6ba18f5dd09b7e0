"""Every source certgate cites is one a user can open: no output, source or doc file cites the
project's private research notes, and the Windows model's anchors that output cites exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from certgate.core.gate.answers import denial_body
from certgate.core.gate.decision import Decision
from certgate.core.gate.policy import AnswerFormat
from certgate.core.kb import Reference, knowledge_base, source_url

ROOT = Path(__file__).resolve().parent.parent
PRIVATE = "windows" + "-facts"  # spelt in two parts so this file does not match itself
SCANNED = ("src", "docs", "tests", "bench", "README.md", "pyproject.toml", "Makefile")
SKIP_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
KB = knowledge_base()
MODEL = ROOT / "docs" / "windows-model.md"


def _files() -> list[Path]:
    found: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not SKIP_PARTS & set(p.parts)
                and ".egg-info" not in str(p)
                and p.suffix not in {".pyc", ".der", ".pfx", ".p12", ".sst", ".evtx"}
            )
    return found


def test_no_file_cites_the_private_notes() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _files()
        if PRIVATE in p.read_bytes().decode("utf-8", "replace").lower()
    ]
    assert offenders == []


def test_the_private_notes_are_not_a_reference_form() -> None:
    with pytest.raises(ValueError):
        Reference.parse(PRIVATE + " §1.4")


def _anchors() -> set[str]:
    return set(re.findall(r'<a id="([\w-]+)"></a>', MODEL.read_text(encoding="utf-8")))


def test_every_cited_model_anchor_exists() -> None:
    anchors = _anchors()
    cited: set[str] = set()
    for path in _files():
        text = path.read_bytes().decode("utf-8", "replace")
        cited.update(re.findall(r"windows-model\.md#([\w-]+)", text))
    assert cited, "nothing cites docs/windows-model.md"
    assert cited - anchors == set()


def test_windows_kb_entries_cite_a_public_source() -> None:
    """Each Windows entry names at least one source a user can open (KB, URL, RFC, source)."""
    windows = {"hresult", "iis", "schannel", "capi2", "wcf", "dotnet", "cert-trust"}
    bare = [
        entry.id
        for entry in KB
        if entry.family in windows
        and not any(r.kind in {"kb", "url", "rfc", "github"} for r in entry.references)
    ]
    assert bare == []


def test_kb_numbers_open_on_microsoft_support() -> None:
    assert source_url("KB 2802568") == "https://support.microsoft.com/help/2802568"
    assert source_url("docs/windows-model.md#mixed-root") is None
    assert source_url("Schannel event 36885") is None


def test_gate_denial_cites_public_sources() -> None:
    """A 403.16 denial body (JSON and HTML) links the KB articles behind its explanation."""
    decision = Decision(
        403, 16, "CERT_E_UNTRUSTEDROOT", "hresult:CERT_E_UNTRUSTEDROOT", "untrusted", 0x800B0109
    )
    _, body = denial_body(decision, AnswerFormat.JSON)
    sources = json.loads(body)["sources"]
    assert {"text": "KB 2802568", "url": "https://support.microsoft.com/help/2802568"} in sources
    _, html = denial_body(decision, AnswerFormat.HTML)
    assert b"href='https://support.microsoft.com/help/2802568'" in html
    assert PRIVATE.encode() not in body + html
