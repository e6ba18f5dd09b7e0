"""``netsh http show sslcert`` output: both field sets, the three binding kinds, (null)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.settings import (
    CERT_CHECK_CACHED_REVOCATION,
    CERT_CHECK_NO_REVOCATION,
    CERT_CHECK_NO_USAGE_CHECK,
    FLAG_DISABLE_HTTP2,
    FLAG_DISABLE_TLS13,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_USE_DS_MAPPER,
    Setting,
    SslBinding,
)
from certgate.errors import InputError
from certgate.formats.netsh import looks_like_netsh, parse_netsh_sslcert
from certgate.testing.windows import IIS_APP_ID, netsh_sslcert

IP = SslBinding(
    endpoint="0.0.0.0:443",
    cert_hash="40DB5BB1BF5659A155258D1D007C530FCB8996C2",
    app_id=IIS_APP_ID,
    cert_check_mode=Setting(CERT_CHECK_CACHED_REVOCATION | CERT_CHECK_NO_USAGE_CHECK),
    ctl_store_name=Setting("ClientAuthIssuer"),
    ctl_identifier="ContosoCTL",
    flags=Setting(FLAG_NEGOTIATE_CLIENT_CERT | FLAG_USE_DS_MAPPER | FLAG_DISABLE_TLS13),
    revocation_freshness_time=3600,
    url_retrieval_timeout=15000,
)
SNI = SslBinding(
    endpoint="app.contoso.test:443",
    kind="hostnameport",
    cert_hash="99887766554433221100FFEEDDCCBBAA99887766",
    cert_check_mode=Setting(CERT_CHECK_NO_REVOCATION),
    flags=Setting(FLAG_DISABLE_HTTP2),
)
CCS = SslBinding(endpoint="443", kind="ccs")


def _parse(text: str) -> tuple[SslBinding, ...]:
    return parse_netsh_sslcert(text.encode(), "netsh-sslcert.txt")


def test_2016_field_set_round_trips() -> None:
    ip, sni, ccs = _parse(netsh_sslcert([IP, SNI, CCS]))
    for parsed, wanted in ((ip, IP), (sni, SNI), (ccs, CCS)):
        assert (parsed.endpoint, parsed.kind) == (wanted.endpoint, wanted.kind)
        assert parsed.cert_hash == wanted.cert_hash
        assert parsed.cert_check_mode.value == wanted.cert_check_mode.value
        assert parsed.flags.value == wanted.flags.value
        assert parsed.ctl_store_name.value == wanted.ctl_store_name.value
    assert ip.revocation_freshness_time == 3600 and ip.url_retrieval_timeout == 15000
    assert ip.ctl_identifier == "ContosoCTL"
    assert ip.checks_revocation and ip.cached_revocation_only and not ip.checks_usage
    assert ip.negotiates_client_cert and ip.uses_ds_mapper and ip.disables_tls13
    assert not sni.checks_revocation and sni.disables_http2 and sni.host == "app.contoso.test"
    assert ccs.port == 443 and ccs.host == ""
    assert ip.reported_by == "netsh http show sslcert (2016+ field set)"
    assert ("Extended Properties: Receive Window", "1048576") in ip.extra


def test_every_row_is_cited() -> None:
    (ip,) = _parse(netsh_sslcert([IP]))
    assert ip.source == "netsh-sslcert.txt:5"
    assert ip.cert_check_mode.source == "netsh-sslcert.txt:9"
    assert ip.flags.source == "netsh-sslcert.txt:17"
    assert ip.ctl_store_name == Setting("ClientAuthIssuer", "netsh-sslcert.txt:15")
    assert ip.source_of("Disable TLS1.3") == "netsh-sslcert.txt:22"


def test_2012_field_set_and_null_ctl_store() -> None:
    (parsed,) = _parse(netsh_sslcert([SslBinding(cert_hash=IP.cert_hash)], field_set="2012"))
    assert parsed.reported_by == "netsh http show sslcert (2008 R2/2012 field set)"
    assert parsed.ctl_store_name == Setting(None, "netsh-sslcert.txt:15")
    assert not parsed.ctl_store_name.is_default  # known to be (null), not unknown
    assert parsed.checks_revocation and not parsed.negotiates_client_cert


def test_missing_rows_leave_defaults_unsourced() -> None:
    text = "    IP:port                      : 0.0.0.0:443\r\n    Certificate Hash : (null)\r\n"
    (parsed,) = _parse(text)
    assert parsed.cert_check_mode == Setting(0, None)
    assert parsed.flags == Setting(0, None)


def test_header_only_means_no_binding() -> None:
    assert _parse("\r\nSSL Certificate bindings:\r\n-------------------------\r\n\r\n") == ()


def test_localized_output_is_refused_with_a_way_out() -> None:
    text = "Ligacoes do Certificado SSL:\r\n    IP:porta          : 0.0.0.0:443\r\n"
    with pytest.raises(InputError, match="SslBindingInfo instead"):
        _parse(text)


@pytest.mark.parametrize(
    ("label", "bad", "message", "line"),
    [
        ("Usage Check", "Maybe", "expected Enabled, Disabled", 11),
        ("Certificate Hash", "40db5b", "40 hex digits", 6),
        ("Revocation Freshness Time", "soon", "expected a number", 12),
    ],
)
def test_malformed_values_name_the_line(label: str, bad: str, message: str, line: int) -> None:
    lines = netsh_sslcert([IP]).split("\r\n")
    index = next(i for i, ln in enumerate(lines) if ln.strip().startswith(label + " "))
    lines[index] = f"    {label:<28} : {bad}"
    with pytest.raises(InputError) as caught:
        _parse("\r\n".join(lines))
    assert message in caught.value.message
    assert caught.value.where == f"line {line}"


def test_row_before_any_binding_is_an_error() -> None:
    with pytest.raises(InputError, match="before the first"):
        _parse("    Certificate Hash             : (null)\r\n    IP:port : 0.0.0.0:443\r\n")


def test_detection() -> None:
    assert looks_like_netsh(netsh_sslcert([IP]))
    assert not looks_like_netsh("Thumbprint : ABC\r\nSubject : CN=x\r\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_fuzz_netsh(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_netsh_sslcert(text.encode("utf-8", "surrogatepass"), "fuzz.txt")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(netsh_sslcert([IP, SNI]).splitlines()), max_size=40))
def test_fuzz_netsh_shuffled_rows(lines: list[str]) -> None:
    with contextlib.suppress(InputError):
        parse_netsh_sslcert("\r\n".join(lines).encode(), "fuzz.txt")
