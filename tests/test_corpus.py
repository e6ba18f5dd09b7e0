"""The real-shaped corpus (tests/data/corpus): every fixture reproduces the shape of an artefact
found in public repositories, articles or issue threads (its header names the source), written
for certgate. ``certgate logs`` and ``certgate doctor --logs`` run on each, and the events, the
set-aside records and the causes are asserted exactly, including "no cause" on the negative
controls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from certgate.cli import main

CORPUS = Path(__file__).parent / "data" / "corpus"
UNTRUSTED = ["iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT"]

# fixture: (format, codes of each event in order, "other" kinds, doctor verdict, doctor causes,
#           unexplained symptom keys)
EXPECTED: dict[str, tuple[str, list[list[str]], list[str], str, list[str], list[str]]] = {
    "ndes-iis-pasted.txt": (
        "iis-pasted",
        [UNTRUSTED],
        [],
        "symptoms-unexplained",
        [],
        [" + ".join(UNTRUSTED)],
    ),
    "crl-offline-row.html": (
        "iis-pasted",
        [["iis:403.13", "hresult:CRYPT_E_REVOCATION_OFFLINE"]],
        ["IIS 404.0 rows (not a client-certificate failure)"],
        "causes-found",
        ["cause::revocation-unreachable:medium"],
        [],
    ),
    "u_ex240514-noheader.log": (
        "iis-w3c",
        [UNTRUSTED],
        [],
        "symptoms-unexplained",
        [],
        [" + ".join(UNTRUSTED)],
    ),
    "u_ex240514-healthy.log": (
        "iis-w3c",
        [],
        ["IIS 403.14 rows (not a client-certificate failure)"],
        "no-cause-found",
        [],
        [],
    ),
    "httperr-kb820729.log": (
        "httperr",
        [],
        [f"other HTTP.sys errors: {r}" for r in ("ConnLimit", "Hostname", "Version_N/S")],
        "no-cause-found",
        [],
        [],
    ),
    "httperr1-iis10.log": (
        "httperr",
        [],
        [
            f"other HTTP.sys errors: {r}"
            for r in ("ConnLimit", "Timer_ConnectionIdle", "Timer_MinBytesPerSecond", "Version_N/S")
        ],
        "no-cause-found",
        [],
        [],
    ),
    "capi2-msedge-serverauth.xml": (
        "windows-events-xml",
        [],
        ["failed CAPI2 event 11 for server-auth (not client authentication)"],
        "no-cause-found",
        [],
        [],
    ),
    "capi2-codesigning-success.xml": (
        "windows-events-xml",
        [],
        ["successful CAPI2 event 11 operations"],
        "no-cause-found",
        [],
        [],
    ),
    "capi2-lsass-clientauth.xml": (
        "windows-events-xml",
        [
            ["capi2:11", "hresult:CERT_E_UNTRUSTEDROOT", "cert-trust:CERT_TRUST_IS_UNTRUSTED_ROOT"],
            ["capi2:30", "hresult:CERT_E_UNTRUSTEDROOT"],
        ],
        [],
        "symptoms-unexplained",
        [],
        [
            "capi2:11 + hresult:CERT_E_UNTRUSTEDROOT + cert-trust:CERT_TRUST_IS_UNTRUSTED_ROOT",
            "capi2:30 + hresult:CERT_E_UNTRUSTEDROOT",
        ],
    ),
    "nginx-syslog-error.log": (
        "nginx",
        [["nginx:495", "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"], ["nginx:496"]],
        [],
        "symptoms-unexplained",
        [],
        ["nginx:495 + openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "nginx:496"],
    ),
    "nginx-upstream-error.log": ("nginx", [["tls-alert:42"]], [], "no-cause-found", [], []),
    "apache22-ssl_error_log": (
        "apache",
        [["apache:AH02039", "openssl:X509_V_ERR_CRL_HAS_EXPIRED"]],
        [],
        "symptoms-unexplained",
        [],
        ["apache:AH02039 + openssl:X509_V_ERR_CRL_HAS_EXPIRED"],
    ),
    "apache24-healthy_error_log": ("apache", [], [], "no-cause-found", [], []),
    "system-net-de.log": (
        "sysnet",
        [["hresult:CERT_E_UNTRUSTEDROOT"]],
        [],
        "symptoms-unexplained",
        [],
        ["hresult:CERT_E_UNTRUSTEDROOT"],
    ),
    "fr000123.xml": ("freb", [UNTRUSTED], [], "symptoms-unexplained", [], [" + ".join(UNTRUSTED)]),
    "fr000124.xml": (
        "freb",
        [],
        ["FREB failed requests with status 500.19"],
        "no-cause-found",
        [],
        [],
    ),
}


def test_every_fixture_is_listed_and_names_its_source() -> None:
    names = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md"}
    assert names == set(EXPECTED)
    for name in names:
        head = (CORPUS / name).read_text(encoding="utf-8")[:600]
        assert "shape" in head.lower() and "Written for certgate" in head, name


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_logs_and_doctor_on_the_corpus(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    fmt, events, other, verdict, causes, unexplained = EXPECTED[name]
    path = str(CORPUS / name)
    main(["logs", path, "--events"])
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["codes"] for e in streamed] == events
    code, document = _json(capsys, "logs", path)
    (item,) = document["files"]
    assert (item["format"], item["error"]) == (fmt, None)
    assert sorted(o["kind"] for o in item["other"]) == sorted(other)
    assert code == (1 if events else 0)
    code, diagnosis = _json(capsys, "doctor", "--logs", path)
    assert diagnosis["verdict"] == verdict
    assert [f"{c['id']}:{c['confidence']}" for c in diagnosis["causes"]] == causes
    assert [s["key"] for s in diagnosis["unexplained"]] == unexplained
    assert code == (0 if verdict == "no-cause-found" else 1)
    if verdict == "no-cause-found":
        assert diagnosis["symptoms"] == [] and diagnosis["observed_clients"] == []
