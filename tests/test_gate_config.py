"""The policy file: a valid one read whole, an invalid one refused with every error listed."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.cli import main
from certgate.core.gate.forwarded import ProxyKind, parse_forwarded_chain
from certgate.core.gate.mapping import Permission, SanType
from certgate.core.gate.policy import ClientCertMode, HintSource
from certgate.gate.config import GateConfig, PolicyError, load_policy, parse_policy
from certgate.testing import PKI

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_policy() -> str:
    section = README.read_text(encoding="utf-8").split("## Serve: the mTLS gate", 1)[1]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.fixture
def readme_policy(tmp_path: Path, pki: PKI) -> Path:
    """The README's example, with the files it names."""
    root = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
    issuing = root.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US", path_length=0)
    (tmp_path / "stores").mkdir()
    root.write_pem(tmp_path / "stores/Root.pem")
    issuing.write_pem(tmp_path / "stores/CA.pem")
    issuing.client("CN=svc-backup,O=Contoso Ltd").write_pem(tmp_path / "backup-client.pem")
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "issuing.crl").write_bytes(issuing.crl().public_bytes(Encoding.PEM))
    path = tmp_path / "gate.toml"
    path.write_text(_readme_policy(), encoding="utf-8")
    return path


def test_readme_example_reads_whole(readme_policy: Path) -> None:
    config = load_policy(readme_policy)
    policy = config.policy
    assert policy.engine == "windows"
    assert policy.machine.schannel.client_auth_trust_mode.value == 0
    assert len(policy.machine.store("Root")) == 1 and len(policy.machine.store("CA")) == 1
    assert len(policy.crls) == 1 and policy.crl_refresh == 300
    assert policy.required_eku == ("1.3.6.1.5.5.7.3.2",)
    assert policy.mapping.enabled
    assert [m.permission for m in policy.mapping.many_to_one] == [Permission.DENY, Permission.ALLOW]
    assert [r.type for r in policy.mapping.san] == [SanType.SPIFFE, SanType.UPN]
    assert len(policy.mapping.one_to_one) == 1
    assert policy.location_for("/health").client_cert is ClientCertMode.IGNORE
    assert policy.location_for("/api/x").client_cert is ClientCertMode.REQUIRE
    assert policy.location_for("/portal").client_cert is ClientCertMode.ACCEPT
    assert policy.hints is HintSource.WINDOWS
    assert policy.limits.max_body_bytes == 10485760
    assert config.logs.w3c_dir == readme_policy.parent / "logs"


def test_every_error_is_listed(tmp_path: Path) -> None:
    document: dict[str, Any] = {
        "trust": {"engine": "schannel", "trust_mode": 3, "stores": {"Root": ["missing.pem"]}},
        "require": {"eku": ["notAnEku"], "pins": ["abc"], "issuers": ["not a dn"]},
        "mapping": {"many_to_one": [{"name": "x", "rules": []}]},
        "location": [{"path": "api", "client_cert": "sometimes"}, {"path": "api"}],
        "limits": {"max_body_bytes": -1, "idle_timeout": "soon"},
        "tls": {"versions": ["1.0"]},
        "extra": {},
    }
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, base=tmp_path, source="gate.toml")
    errors = caught.value.errors
    assert errors == [
        "extra: unknown section",
        "trust.engine: must be one of windows, openssl, rfc5280, not 'schannel'",
        f"trust.stores.Root: {tmp_path / 'missing.pem'}: no such file or directory",
        "trust.trust_mode: must be 0, 1 or 2, not 3",
        "mapping.many_to_one[0].user: is required for an Allow mapping",
        "mapping.many_to_one[0].rules: must be a non-empty array of rule tables",
        "require.eku: 'notAnEku' is neither an OID nor a known EKU name",
        "require.issuers: 'not a dn' is not a distinguished name (CN=..., O=...)",
        "require.pins: 'abc' is not a SHA-256 (64 hex digits or base64)",
        "location[0].path: must start with /, not 'api'",
        "location[0].client_cert: 'sometimes' is not one of the allowed values",
        "location[1].path: must start with /, not 'api'",
        "location: path 'api' is given twice",
        "limits.max_body_bytes: must be 1 to 1099511627776, not -1",
        "limits.idle_timeout: must be a number, not 'soon'",
        "tls.versions: '1.0': only 1.2 and 1.3 are offered",
    ]
    assert len(errors) == 16
    assert caught.value.diagnostics().startswith("gate.toml: 16 error(s) in the policy")


def test_sslflags_spelling(tmp_path: Path) -> None:
    document = {
        "location": [
            {"path": "/a", "ssl_flags": "Ssl, SslNegotiateCert, SslRequireCert"},
            {"path": "/b", "ssl_flags": "Ssl, SslNegotiateCert"},
            {"path": "/c", "ssl_flags": "Ssl"},
        ]
    }
    policy = parse_policy(document, base=tmp_path).policy
    modes = [policy.location_for(p).client_cert for p in ("/a", "/b", "/c", "/")]
    assert modes == [
        ClientCertMode.REQUIRE,
        ClientCertMode.ACCEPT,
        ClientCertMode.IGNORE,
        ClientCertMode.REQUIRE,
    ]
    with pytest.raises(PolicyError, match="unknown sslFlags value 'sslrequire'"):
        parse_policy({"location": [{"path": "/", "ssl_flags": "SslRequire"}]}, base=tmp_path)


def test_identity_required_needs_mapping(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"location\[0\].identity: required, but \[mapping\]"):
        parse_policy({"location": [{"path": "/", "identity": "required"}]}, base=tmp_path)


def test_cli_check(readme_policy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--policy", str(readme_policy), "--check"]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[trust]\nengine = "nope"\n[limits]\nmax_headers = 0\n')
    assert main(["serve", "--policy", str(bad), "--check"]) == 2
    err = capsys.readouterr().err
    assert "2 error(s) in the policy, nothing applied" in err
    assert "trust.engine" in err and "limits.max_headers: must be 1 to 10000, not 0" in err
    broken = tmp_path / "broken.toml"
    broken.write_text("[trust\n")
    assert main(["serve", "--policy", str(broken), "--check"]) == 2


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)
_SECTIONS = [
    "trust", "tls", "require", "mapping", "location", "limits", "answers", "logs", "forwarding",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(_SECTIONS), _VALUES, max_size=4))
def test_fuzz_policy_never_half_applied(document: dict[str, Any]) -> None:
    try:
        result = parse_policy(
            {k: v for k, v in document.items() if v is not None}, base=Path("/nonexistent")
        )
    except PolicyError as exc:
        assert exc.errors
    else:
        assert isinstance(result, GateConfig)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(ProxyKind)), st.text(max_size=300))
def test_fuzz_forwarded_headers(kind: ProxyKind, value: str) -> None:
    try:
        chain = parse_forwarded_chain(kind, value)
    except ValueError:
        return
    assert all(isinstance(der, bytes) and der for der in chain)


def test_toml_of_readme_is_valid_toml() -> None:
    tomllib.loads(_readme_policy())


def _one_error(document: dict[str, Any], tmp_path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, base=tmp_path, source="gate.toml")
    assert len(caught.value.errors) == 1, caught.value.errors
    text = caught.value.diagnostics()
    assert "\n" not in text and text.endswith("(nothing applied)")
    return caught.value.errors[0]


def _m2o(rule: dict[str, str] | None = None, **item: str) -> dict[str, Any]:
    rule = {"field": "Subject", "subfield": "CN", "match": "a", **(rule or {})}
    return {"mapping": {"many_to_one": [{"name": "x", "user": "u", **item, "rules": [rule]}]}}


SECONDS = "must be a number of seconds > 0 and <= 86400, not"
VALIDATION = [
    ({"limits": {"idle_timeout": float("nan")}}, f"limits.idle_timeout: {SECONDS} nan"),
    ({"limits": {"header_timeout": float("inf")}}, f"limits.header_timeout: {SECONDS} inf"),
    ({"limits": {"upstream_header_timeout": -1}}, f"limits.upstream_header_timeout: {SECONDS} -1"),
    ({"limits": {"max_headers": 1.5}}, "limits.max_headers: must be an integer, not 1.5"),
    ({"limits": {"max_header_bytes": 10}}, "limits.max_header_bytes: must be 1024 to 1048576"),
    ({"limits": {"client_free_denials": -1}}, "limits.client_free_denials: must be 0 to 1000"),
    ({"limits": {"denial_delay_max": 0}}, f"limits.denial_delay_max: {SECONDS} 0"),
    ({"limits": {"budget_window": float("inf")}}, f"limits.budget_window: {SECONDS} inf"),
    ({"limits": {"slowed_crowd": 0}}, "limits.slowed_crowd: must be 1 to 1048576, not 0"),
    (
        {"trust": {"crls": ["x.crl"], "crl_refresh": 0.000001}},
        "trust.crl_refresh: must be 0 (never) or 10 to 86400 seconds",
    ),
    ({"trust": {"trust_mode": 2.0}}, "trust.trust_mode: must be 0, 1 or 2, not 2.0"),
    ({"trust": {"trust_mode": True}}, "trust.trust_mode: must be 0, 1 or 2, not True"),
    ({"tls": {"hints": "none", "hint_store": "Root"}}, "tls.hint_store: is used only with"),
    ({"trust": {"crl_refresh": 60}}, "trust.crl_refresh: is set, but trust.crls names no CRL"),
    ({"trust": {"engine": "openssl", "trust_mode": 1}}, "trust.trust_mode: applies to the windows"),
    ({"trust": {"partial_chain": True}}, "trust.partial_chain: applies to the openssl engine"),
    (
        {"location": [{"path": "/a", "client_cert": "accept", "ssl_flags": "Ssl"}]},
        "location[0]: gives both client_cert and ssl_flags",
    ),
    ({"location": [{"path": "/a/../b"}]}, "location[0].path: '/a/../b' is not a canonical path"),
    ({"location": [{"path": "/a;x"}]}, "location[0].path: '/a;x' is not a canonical path"),
    ({"location": [{"path": "/a//b"}]}, "location[0].path: '/a//b' is not a canonical path"),
    ({"location": [{"path": "/a?x"}]}, "location[0].path: '/a?x' is not a canonical path"),
    ({"location": [{"path": "/a."}]}, "location[0].path: '/a.' is not a canonical path"),
    (_m2o(permission="Maybe"), "mapping.many_to_one[0].permission: 'Maybe' is not one of"),
    (_m2o({"field": "Subjekt"}), "mapping.many_to_one[0].rules[0].field: 'Subjekt' is not one"),
    (_m2o({"subfield": "XX"}), "mapping.many_to_one[0].rules[0].subfield: 'XX' is not a name"),
    (_m2o(colour="red"), "mapping.many_to_one[0].colour: unknown key"),
    (
        {"forwarding": {"trusted_proxies": ["10.0.0.0/33"]}},
        "forwarding.trusted_proxies: '10.0.0.0/33' is not an address or network",
    ),
    (
        {
            "location": [{"path": "/", "client_cert": "ignore", "identity": "required"}],
            "mapping": {"enabled": True},
        },
        "location[0].identity: required, but the location ignores certificates",
    ),
]


@pytest.mark.parametrize(("document", "expected"), VALIDATION)
def test_policy_validation_means_it(
    document: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    if "crls" in document.get("trust", {}):
        from cryptography.hazmat.primitives.serialization import Encoding

        (tmp_path / "x.crl").write_bytes(PKI().root("R").crl().public_bytes(Encoding.PEM))
    assert _one_error(document, tmp_path).startswith(expected)


def test_deep_arrays_and_bad_files_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("[limits]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    shallow = tmp_path / "nested.toml"
    shallow.write_text("[trust]\ncrls = " + "[" * 40 + "]" * 40 + "\n")
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as out:
        out.truncate(5 << 20)
    cases = {
        deep: "nested deeper than 16 levels",
        shallow: "nested deeper than 16 levels",
        tmp_path: "is a directory, not a policy file",
        fifo: "is not a regular file",
        huge: "is over 4 MiB",
    }
    for policy, message in cases.items():
        assert main(["serve", "--policy", str(policy), "--check"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert f"{policy}: {message}" in err


def test_log_paths_are_checked_at_check_and_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    cases = {
        'w3c_dir = "afile"': "logs.w3c_dir: "
        + str(tmp_path / "afile")
        + " is a file, not a folder",
        'svclog = "adir"': "logs.svclog: " + str(tmp_path / "adir") + " is a folder, not a file",
        'w3c_dir = "afile/below"': "logs.w3c_dir: " + str(tmp_path / "afile") + " is not a folder",
    }
    for line, expected in cases.items():
        policy = tmp_path / "gate.toml"
        policy.write_text(f"[logs]\n{line}\n")
        with pytest.raises(PolicyError) as caught:
            load_policy(policy)
        assert caught.value.errors == [expected]
        for args in (["--check"], ["--throwaway-cert", "--listen", "127.0.0.1:0"]):
            assert main(["serve", "--policy", str(policy), *args]) == 2
            assert (
                capsys.readouterr().err.strip()
                == f"certgate: {policy}: {expected} (nothing applied)"
            )
    (tmp_path / "gate.toml").write_text('[logs]\nw3c_dir = "new/logs"\n')
    assert load_policy(tmp_path / "gate.toml").logs.w3c_dir == tmp_path / "new/logs"


def test_unwritable_log_folder(tmp_path: Path) -> None:
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: every folder is writable")
        (tmp_path / "gate.toml").write_text('[logs]\nw3c_dir = "locked/logs"\n')
        with pytest.raises(PolicyError, match="is not writable"):
            load_policy(tmp_path / "gate.toml")
    finally:
        locked.chmod(0o700)
