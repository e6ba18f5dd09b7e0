"""Reading user input as knowledge-base matches: every printed form, free text, ambiguity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.codes import (
    CERT_TRUST_ERRORS,
    HRESULTS,
    TLS_ALERTS,
    X509_V_ERRORS,
    X509_V_MESSAGES,
    hresult_forms,
)
from certgate.core.kb import Match, MatchKind, knowledge_base

KB = knowledge_base()


def ids(text: str) -> list[str]:
    return [match.entry.id for match in KB.lookup(text)]


def top(text: str) -> Match:
    matches = KB.lookup(text)
    assert matches, f"no match for {text!r}"
    return matches[0]


# -- the Done-when inputs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("0x109", MatchKind.LOW_WORD),
        ("2148204809", MatchKind.UNSIGNED),
        ("-2146762487", MatchKind.SIGNED),
        ("0x800B0109", MatchKind.HEX),
        ("0x800b0109", MatchKind.HEX),
        ("800B0109", MatchKind.HEX),
        ("native error code 0x109", MatchKind.LOW_WORD),
    ],
)
def test_every_printed_form_of_0x800b0109_names_cert_e_untrustedroot(
    text: str, kind: MatchKind
) -> None:
    match = top(text)
    assert (match.entry.id, match.kind, match.rank) == ("hresult:CERT_E_UNTRUSTEDROOT", kind, 1)


@pytest.mark.parametrize("text", ["403.16", "403 16", "HTTP Error 403.16 - Forbidden"])
def test_403_16_names_cert_e_untrustedroot_and_kb_2802568(text: str) -> None:
    entry = top(text).entry
    assert entry.id == "iis:403.16"
    assert "CERT_E_UNTRUSTEDROOT" in entry.meaning
    assert any("KB 2802568" in cause.text for cause in entry.causes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36885", "schannel:36885"),
        ("event 36885", "schannel:36885"),
        ("Schannel 36885", "schannel:36885"),
        ("alert 48", "tls-alert:48"),
        ("SSL alert number 48", "tls-alert:48"),
        (
            "unable to get local issuer certificate",
            "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        ),
        ("PartialChain", "dotnet:PartialChain"),
        ("X509ChainStatusFlags.PartialChain", "dotnet:PartialChain"),
        ("RemoteCertificateChainErrors", "dotnet:RemoteCertificateChainErrors"),
        ("SslPolicyErrors.RemoteCertificateChainErrors", "dotnet:RemoteCertificateChainErrors"),
        ("CERT_E_UNTRUSTEDROOT", "hresult:CERT_E_UNTRUSTEDROOT"),
        ("cert_e_untrustedroot", "hresult:CERT_E_UNTRUSTEDROOT"),
        ("hresult:CERT_E_UNTRUSTEDROOT", "hresult:CERT_E_UNTRUSTEDROOT"),
        ("262159", "wcf:HttpsClientCertificateInvalid"),
        ("<EventID>262159</EventID>", "wcf:HttpsClientCertificateInvalid"),
        ("untrusted-root", "certgate:untrusted-root"),
        ("AH02039", "apache:AH02039"),
        ("unknown_ca", "tls-alert:48"),
        ("TLSV1_ALERT_UNKNOWN_CA", "tls-alert:48"),
        (
            "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
            "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        ),
    ],
)
def test_names_numbers_and_messages(text: str, expected: str) -> None:
    assert top(text).entry.id == expected


# -- pasted log lines ---------------------------------------------------------------------------

W3C = "2024-03-05 10:12:44 10.0.0.5 POST /Svc/Service.svc - 443 - 10.0.0.9 - - 403 16 2148204809 15"
NGINX = (
    "2024/03/05 10:12:44 [info] 1234#0: *5 client SSL certificate verify error: "
    "(20:unable to get local issuer certificate) while reading client request headers"
)
WCF = (
    "Client certificate is invalid with native error code 0x109 "
    "(see http://go.microsoft.com/fwlink/?LinkId=187517 for details)."
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (W3C, ["hresult:CERT_E_UNTRUSTEDROOT", "iis:403.16"]),
        (NGINX, ["openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "nginx:495"]),
        (WCF, ["hresult:CERT_E_UNTRUSTEDROOT", "wcf:HttpsClientCertificateInvalid"]),
        (
            "error 20 at 0 depth lookup: unable to get local issuer certificate",
            ["openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"],
        ),
        (
            "A fatal alert was received from the remote endpoint. "
            "The TLS protocol defined fatal alert code is 46.",
            ["tls-alert:46", "schannel:36887"],
        ),
        (
            "The remote certificate is invalid because of errors in the certificate chain: "
            "PartialChain",
            ["dotnet:PartialChain", "dotnet:RemoteCertificateChainErrors"],
        ),
        (
            "SSL_do_handshake() failed (SSL: error:0A000418:SSL routines::tlsv1 alert unknown ca)",
            ["tls-alert:48"],
        ),
        ("ssl/tls alert bad certificate", ["tls-alert:42"]),
        ("Received fatal alert: certificate_unknown", ["tls-alert:46"]),
        ("HTTP Error 500.0 0x80070032", ["iis:500.0", "hresult:ERROR_NOT_SUPPORTED"]),
        (
            'ErrorStatus value="10020" CERT_TRUST_IS_UNTRUSTED_ROOT="true"',
            ["cert-trust:CERT_TRUST_IS_UNTRUSTED_ROOT", "cert-trust:CERT_TRUST_IS_PARTIAL_CHAIN"],
        ),
        ('<InfoStatus value="8"', ["cert-trust:CERT_TRUST_IS_SELF_SIGNED"]),
        ('<Result value="80092013">', ["hresult:CRYPT_E_REVOCATION_OFFLINE"]),
        (
            "sun.security.validator.ValidatorException: PKIX path building failed: "
            "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
            "certification path to requested target",
            ["java:SunCertPathBuilderException"],
        ),
    ],
)
def test_log_lines_yield_exactly_their_codes(line: str, expected: list[str]) -> None:
    assert ids(line) == expected


def test_numbers_inside_context_are_not_read_again() -> None:
    """Negative control: 'error 20 at 0 depth' is no TLS alert 0 or 20, and the timestamps,
    ports and sizes of a W3C line are no alerts or verify codes."""
    assert not {"tls-alert:0", "tls-alert:20", "openssl:X509_V_OK"} & set(
        ids("error 20 at 0 depth lookup: unable to get local issuer certificate")
    )
    assert not [i for i in ids(W3C) if i.startswith(("tls-alert", "openssl", "capi2"))]


def test_an_older_openssl_numbering_defers_to_the_printed_text() -> None:
    """OpenSSL 1.1 printed (24:invalid CA certificate); 24 is another code in OpenSSL 3."""
    matches = KB.lookup("client SSL certificate verify error: (24:invalid CA certificate)")
    assert matches[0].entry.id == "openssl:X509_V_ERR_INVALID_CA"
    stale = next(m for m in matches if m.entry.id == "openssl:X509_V_ERR_NO_ISSUER_PUBLIC_KEY")
    assert stale.score < matches[0].score and "not this code's text" in stale.why


# -- ambiguity: every reading, most likely first, with the reason -------------------------------


def test_0x109_is_first_the_wcf_low_word_then_trust_bits() -> None:
    matches = KB.lookup("0x109")
    assert [m.rank for m in matches] == [1, 2, 3, 4]
    assert matches[0].entry.id == "hresult:CERT_E_UNTRUSTEDROOT"
    assert "low 16 bits of 0x800B0109" in matches[0].why
    assert [m.entry.id for m in matches[1:]] == [
        "cert-trust:CERT_TRUST_IS_NOT_TIME_VALID",
        "cert-trust:CERT_TRUST_IS_NOT_SIGNATURE_VALID",
        "cert-trust:CERT_TRUST_INVALID_EXTENSION",
    ]
    assert all(m.kind == MatchKind.TRUST_BITS and "CAPI2" in m.why for m in matches[1:])


def test_in_a_wcf_line_0x109_has_no_trust_bit_reading() -> None:
    assert "cert-trust:CERT_TRUST_IS_NOT_TIME_VALID" not in ids("native error code 0x109")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("48", ["tls-alert:48", "openssl:X509_V_ERR_EXCLUDED_VIOLATION"]),
        ("20", ["openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "tls-alert:20"]),
        ("0x320", ["hresult:SEC_E_INCOMPLETE_CREDENTIALS", "hresult:SEC_I_INCOMPLETE_CREDENTIALS"]),
        ("11", ["openssl:X509_V_ERR_CRL_NOT_YET_VALID", "capi2:11"]),
        ("109", ["hresult:CERT_E_UNTRUSTEDROOT", "tls-alert:109"]),
    ],
)
def test_bare_numbers_list_every_reading(text: str, expected: list[str]) -> None:
    assert ids(text)[: len(expected)] == expected
    assert all(m.why for m in KB.lookup(text))


def test_a_status_without_substatus_lists_its_substatuses() -> None:
    found = ids("403")
    assert "iis:403.16" in found and "iis:403.7" in found
    assert not [i for i in found if i.startswith("iis:") and not i.startswith("iis:403.")]


# -- every entry can be found by every form of its code ------------------------------------------


def test_every_hresult_in_every_printed_form() -> None:
    for name, value in HRESULTS.items():
        forms = hresult_forms(value)
        expected = f"hresult:{name}"
        texts = [forms.hex, f"{value:08X}"]
        if value:  # a bare 0 is ambiguous (alert close_notify, X509_V_OK...): hex forms only
            texts += [str(forms.unsigned), str(forms.signed)]
        for text in texts:
            assert ids(text)[0] == expected, text
        assert expected in ids(forms.low_word), forms.low_word


def test_every_alert_number_and_name() -> None:
    for number, name in TLS_ALERTS.items():
        assert ids(f"alert {number}")[0] == f"tls-alert:{number}"
        assert ids(name)[0] == f"tls-alert:{number}"


def test_every_openssl_code_as_openssl_and_nginx_print_it() -> None:
    for name, number in X509_V_ERRORS.items():
        if number == 0:
            continue  # X509_V_OK: below
        message = X509_V_MESSAGES[name][0]
        expected = f"openssl:{name}"
        assert ids(f"error {number} at 0 depth lookup: {message}")[0] == expected
        assert ids(f"client SSL certificate verify error: ({number}:{message})")[0] == expected
        assert expected in ids(message)


def test_a_success_code_never_outranks_a_failure() -> None:
    """s_client prints 'Verify return code: 0 (ok)' for the server even when the server then
    rejects the client with an alert: the alert is the explanation."""
    found = ids("Verify return code: 0 (ok) ... tlsv1 alert unknown ca ... SSL alert number 48")
    assert found[0] == "tls-alert:48" and "openssl:X509_V_OK" in found
    assert ids("Verify return code: 0 (ok)") == ["openssl:X509_V_OK"]


def test_every_entry_by_id_name_and_message() -> None:
    for entry in KB:
        assert ids(entry.id)[0] == entry.id
        assert entry.id in ids(entry.name), entry.name
        for message in entry.messages:
            assert entry.id in ids(message), message


def test_every_x509_chain_status_flag_is_its_trust_bit() -> None:
    for entry in KB.entries("dotnet"):
        if entry.group == "X509ChainStatusFlags" and entry.value:
            assert entry.value in CERT_TRUST_ERRORS.values()


# -- unknown input ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "xyzzy", "403.99", "0x800B01FF", "hello world"])
def test_unknown_input_matches_nothing(text: str) -> None:
    assert KB.lookup(text) == []


def test_suggestions_for_unknown_input() -> None:
    assert [e.id for e in KB.suggest("403.99")][:2] == ["iis:403.16", "iis:403.7"]
    assert KB.suggest("0x800B01FF")[0].family == "hresult"
    assert "hresult:CERT_E_UNTRUSTEDROOT" in [e.id for e in KB.suggest("CERT_E_UNTRUSTEDROT")]
    assert KB.suggest("qqqqqqqqqqqq") == []


def test_a_fragment_of_a_known_message_still_finds_it() -> None:
    match = top("unable to get local")
    assert (match.entry.id, match.kind) == (
        "openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        MatchKind.MESSAGE,
    )
    assert match.score < 90


# -- robustness -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_lookup_never_fails_and_ranks_in_order(text: str) -> None:
    matches = KB.lookup(text)
    assert [m.rank for m in matches] == list(range(1, len(matches) + 1))
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert len({m.entry.id for m in matches}) == len(matches)
    if not matches:
        KB.suggest(text)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "0x",
                "403",
                ".",
                " ",
                "16",
                "alert",
                "event",
                "error",
                "(",
                ":",
                "at 0 depth",
                "lookup",
                "ErrorStatus value=",
                '"',
                "-",
                "2148204809",
                "ffff",
                "CERT_E_",
                "x",
            ]
        ),
        max_size=30,
    )
)
def test_lookup_of_code_like_fragments_never_fails(parts: list[str]) -> None:
    KB.lookup("".join(parts))
