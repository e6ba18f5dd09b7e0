"""``certgate explain``: cards, JSON, --list, exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from certgate.cli import main

CONTRACT_KEYS = {"id", "family", "name", "meaning", "causes", "fixes", "references", "confidence"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["explain", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, *args, "--json")
    document: dict[str, Any] = json.loads(out)
    assert next(iter(document)) == "schema" and document["schema"] == "certgate.explain/1"
    return code, document


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["0x109"], "hresult:CERT_E_UNTRUSTEDROOT"),
        (["2148204809"], "hresult:CERT_E_UNTRUSTEDROOT"),
        (["-2146762487"], "hresult:CERT_E_UNTRUSTEDROOT"),
        (["0x800B0109"], "hresult:CERT_E_UNTRUSTEDROOT"),
        (["403.16"], "iis:403.16"),
        (["403", "16"], "iis:403.16"),
        (["36885"], "schannel:36885"),
        (["event", "36885"], "schannel:36885"),
        (["alert 48"], "tls-alert:48"),
        (["alert", "48"], "tls-alert:48"),
        (
            ["unable to get local issuer certificate"],
            "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        ),
        (
            ["unable", "to", "get", "local", "issuer", "certificate"],
            "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        ),
        (["PartialChain"], "dotnet:PartialChain"),
    ],
)
def test_done_when_inputs(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, document = run_json(capsys, *args)
    assert code == 0
    first = document["matches"][0]
    assert first["id"] == expected and first["rank"] == 1
    assert set(first) >= CONTRACT_KEYS
    assert document["suggestions"] == []
    if expected == "iis:403.16":
        assert "CERT_E_UNTRUSTEDROOT" in first["meaning"]
        assert any("KB 2802568" in cause["text"] for cause in first["causes"])


def test_json_match_shape(capsys: pytest.CaptureFixture[str]) -> None:
    _, document = run_json(capsys, "0x109")
    first = document["matches"][0]
    assert first["forms"] == {
        "hex": "0x800B0109",
        "unsigned": "2148204809",
        "signed": "-2146762487",
        "low word": "0x109",
    }
    assert first["match"]["kind"] == "low-word" and "low 16 bits" in first["match"]["why"]
    assert first["causes"][0] == {
        "rank": 1,
        "text": first["causes"][0]["text"],
        "confirm": first["causes"][0]["confirm"],
        "confidence": "confirmed",
    }
    assert "KB 2802568" in first["references"]
    assert [m["rank"] for m in document["matches"]] == [1, 2, 3, 4]


def test_text_card_for_403_16(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "403.16")
    assert code == 0 and err == ""
    assert "iis:403.16" in out and "[confirmed]" in out
    assert "KB 2802568" in out and "CERT_E_UNTRUSTEDROOT" in out
    assert "Likely causes" in out and "confirm:" in out and "Fix" in out


def test_ambiguous_input_shows_the_likely_card_and_the_other_readings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "0x109")
    assert code == 0
    assert "0x109: 4 readings, most likely first" in out
    assert "Less likely readings" in out and "CERT_TRUST_IS_NOT_TIME_VALID" in out
    assert out.index("hresult:CERT_E_UNTRUSTEDROOT") < out.index("Less likely readings")


def test_unknown_input_exits_1_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "403.99")
    assert code == 1
    assert "No knowledge-base entry matches 403.99" in out and "iis:403.16" in out
    code, document = run_json(capsys, "CERT_E_UNTRUSTEDROT")
    assert code == 1 and document["matches"] == []
    assert "hresult:CERT_E_UNTRUSTEDROOT" in [s["id"] for s in document["suggestions"]]


def test_markup_in_the_input_is_printed_not_interpreted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "[bold red]nothing[/]")
    assert code == 1 and "[bold red]nothing[/]" in out


def test_list_one_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--list", "capi2")
    assert code == 0
    assert "capi2:11" in out and "capi2:90" in out and "hresult:" not in out
    assert "3 of " in out
    code, document = run_json(capsys, "--list", "schannel")
    assert code == 0 and len(document["entries"]) == 23
    assert all(set(entry) >= CONTRACT_KEYS for entry in document["entries"])
    assert document["families"]["schannel"] == 23


def test_list_everything(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "--list")
    assert code == 0
    assert len(document["entries"]) == sum(document["families"].values()) > 300


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a code"),
        (["--list", "windows"], "unknown family"),
        (["--list", "iis", "wcf"], "at most one FAMILY"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err
