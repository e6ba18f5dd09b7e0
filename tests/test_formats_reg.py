"""``.reg`` exports: syntax, the SCHANNEL key, the SslBindingInfo keys. Fixtures come from
``certgate.testing.windows`` (an emitter written apart from the parser)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.settings import Setting, SslBinding
from certgate.errors import InputError
from certgate.formats.reg import RegKey, RegType, RegValue, dump_reg, parse_reg
from certgate.formats.regkeys import bindings_from_reg, has_bindings, schannel_from_reg
from certgate.testing.windows import IIS_APP_ID, SCHANNEL, reg_export, schannel_reg, sslbinding_reg

HEADER = "Windows Registry Editor Version 5.00\r\n\r\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
def test_schannel_values_and_their_lines(encoding: str) -> None:
    data = schannel_reg(trust_mode=2, send_issuer_list=1, event_logging=7, encoding=encoding)
    settings_ = schannel_from_reg(parse_reg(data, "schannel.reg"))
    assert settings_.client_auth_trust_mode == Setting(2, "schannel.reg:5")
    assert settings_.send_trusted_issuer_list == Setting(True, "schannel.reg:6")
    assert settings_.event_logging == Setting(7, "schannel.reg:4")
    assert settings_.source == "schannel.reg"
    assert settings_.misspelled == () and settings_.problems == ()


def test_utf16_export_starts_with_bom() -> None:
    assert schannel_reg(trust_mode=0).startswith(b"\xff\xfe")


def test_absent_values_stay_windows_defaults() -> None:
    settings_ = schannel_from_reg(parse_reg(schannel_reg(event_logging=1), "s.reg"))
    assert settings_.client_auth_trust_mode == Setting(0, None)
    assert settings_.client_auth_trust_mode.is_default
    assert settings_.source == "s.reg"


def test_misspelled_send_trusted_issuers_is_kept_and_ignored() -> None:
    data = schannel_reg(misspelled_send_issuers=1)
    settings_ = schannel_from_reg(parse_reg(data, "schannel.reg"))
    assert settings_.misspelled == (Setting("SendTrustedIssuers", "schannel.reg:4"),)
    assert settings_.send_trusted_issuer_list.is_default
    assert "did you mean SendTrustedIssuerList" in settings_.problems[0].value


def test_case_difference_is_not_a_misspelling() -> None:
    data = reg_export([(SCHANNEL, [("clientauthtrustmode", 2)])])
    settings_ = schannel_from_reg(parse_reg(data, "s.reg"))
    assert settings_.client_auth_trust_mode.value == 2 and settings_.misspelled == ()


def test_string_trust_mode_is_a_problem_not_a_value() -> None:
    data = schannel_reg(trust_mode="2")
    settings_ = schannel_from_reg(parse_reg(data, "s.reg"))
    assert settings_.client_auth_trust_mode.is_default
    assert settings_.problems[0].source == "s.reg:4"
    assert "REG_SZ" in settings_.problems[0].value


def test_undocumented_trust_mode_is_not_applied() -> None:
    settings_ = schannel_from_reg(parse_reg(schannel_reg(trust_mode=3), "s.reg"))
    assert settings_.client_auth_trust_mode.is_default
    assert "not a documented mode" in settings_.problems[0].value


def test_trust_mode_under_a_subkey_has_no_effect() -> None:
    data = reg_export([(SCHANNEL + r"\Protocols\TLS 1.2\Server", [("ClientAuthTrustMode", 2)])])
    settings_ = schannel_from_reg(parse_reg(data, "s.reg"))
    assert settings_.client_auth_trust_mode.is_default
    assert "has no effect" in settings_.problems[0].value


def test_protocol_switches_and_offline_control_set() -> None:
    key = SCHANNEL.replace("CurrentControlSet", "ControlSet001") + r"\Protocols\TLS 1.3\Server"
    data = reg_export([(key, [("Enabled", 0), ("DisabledByDefault", 1)])])
    switch = schannel_from_reg(parse_reg(data, "s.reg")).protocol("tls 1.3", "server")
    assert switch.enabled == Setting(False, "s.reg:4")
    assert switch.disabled_by_default == Setting(True, "s.reg:5")


def test_other_keys_leave_schannel_unknown() -> None:
    data = reg_export([(r"HKEY_LOCAL_MACHINE\SOFTWARE\Contoso", [("x", 1)])])
    settings_ = schannel_from_reg(parse_reg(data, "s.reg"))
    assert settings_.source is None


BINDINGS = (
    SslBinding(
        endpoint="0.0.0.0:443",
        cert_hash="40DB5BB1BF5659A155258D1D007C530FCB8996C2",
        app_id=IIS_APP_ID,
        cert_check_mode=Setting(1),
        ctl_store_name=Setting("ClientAuthIssuer"),
        flags=Setting(2),
    ),
    SslBinding(endpoint="www.contoso.test:443", kind="hostnameport", cert_store_name="WebHosting"),
    SslBinding(endpoint="0.0.0.0:8443", kind="ccs"),
)


def test_ssl_binding_keys_round_trip() -> None:
    reg = parse_reg(sslbinding_reg(BINDINGS), "http.reg")
    assert has_bindings(reg)
    parsed = bindings_from_reg(reg)
    assert [(b.endpoint, b.kind) for b in parsed] == [(b.endpoint, b.kind) for b in BINDINGS]
    first = parsed[0]
    assert first.cert_hash == BINDINGS[0].cert_hash
    assert first.app_id == IIS_APP_ID
    assert not first.checks_revocation and first.negotiates_client_cert
    assert first.ctl_store_name.value == "ClientAuthIssuer"
    assert first.source_of("DefaultFlags") == first.flags.source
    assert parsed[1].cert_store_name == "WebHosting"
    assert parsed[1].ctl_store_name.value is None
    assert "[unconfirmed]" in (first.reported_by or "")


def test_dump_then_parse_keeps_every_type() -> None:
    key = RegKey(
        r"HKEY_LOCAL_MACHINE\SOFTWARE\certgate",
        (
            RegValue("s", RegType.SZ, 'quote " and \\ backslash', 0),
            RegValue("d", RegType.DWORD, 0xFFFFFFFF, 0),
            RegValue("q", RegType.QWORD, 2**40 + 5, 0),
            RegValue("b", RegType.BINARY, bytes(range(100)), 0),
            RegValue("e", RegType.EXPAND_SZ, r"%SystemRoot%\x", 0),
            RegValue("m", RegType.MULTI_SZ, ("one", "two"), 0),
            RegValue("", RegType.SZ, "default", 0),
        ),
    )
    text = dump_reg([key])
    assert max(len(line) for line in text.splitlines()) <= 80
    parsed = parse_reg(b"\xff\xfe" + text.encode("utf-16-le"), "x.reg").keys[0]
    assert [(v.name, v.type, v.data) for v in parsed.values] == [
        (v.name, v.type, v.data) for v in key.values
    ]


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ('[HKEY_LOCAL_MACHINE\\X]\r\n"a"=dword:xyz', "dword must be 1-8 hex digits", 4),
        ('[HKEY_LOCAL_MACHINE\\X]\r\n"a"=hex:zz,01', "comma-separated bytes", 4),
        ('"a"=dword:1', "value outside any [key]", 3),
        ("[NOT_A_HIVE\\X]", "does not start with a hive", 3),
        ('[HKEY_LOCAL_MACHINE\\X]\r\n"a"="open', "without closing quote", 4),
        ("[HKEY_LOCAL_MACHINE\\X]\r\nrubbish", "not a value line", 4),
    ],
)
def test_malformed_lines_are_named(body: str, message: str, line: int) -> None:
    with pytest.raises(InputError) as caught:
        parse_reg((HEADER + body).encode(), "bad.reg")
    assert message in caught.value.message
    assert caught.value.where == f"line {line}"
    assert caught.value.path == "bad.reg"


def test_missing_header_is_refused() -> None:
    with pytest.raises(InputError, match=r"not a \.reg export"):
        parse_reg(b'[HKEY_LOCAL_MACHINE\\X]\r\n"a"=dword:1', "x.reg")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_reg_text(body: str) -> None:
    try:
        reg = parse_reg((HEADER + body).encode("utf-8", "surrogatepass"), "fuzz.reg")
    except InputError:
        return
    schannel_from_reg(reg)
    bindings_from_reg(reg)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_reg_bytes(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_reg(data, "fuzz.reg")
