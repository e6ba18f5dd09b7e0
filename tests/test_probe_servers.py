"""``certgate probe`` against real servers started here: openssl s_server, nginx, Apache.

Certificates come from ``certgate.testing.PKI`` anchored at the real time, because the servers
check validity against the clock.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certgate.core.probe import (
    Basis,
    Outcome,
    PageKind,
    ProbeCode,
    ProbeResult,
    Requirement,
    Stage,
    TlsVersion,
)
from certgate.testing import PKI, Issued
from certgate.tls.credentials import load_credentials
from certgate.tls.probe import ProbeOptions, ProbeTarget, probe
from servers import apache, free_ports, nginx, s_server

TIMEOUT = 5.0


@dataclass(frozen=True)
class Files:
    folder: Path
    root: Issued
    other: Issued
    stray: Issued
    server: Path
    server_key: Path
    root_pem: Path
    other_pem: Path
    two_roots: Path
    stray_pem: Path
    alice: Path  # leaf + issuing CA, issued below root
    alice_key: Path
    mallory: Path  # below the other root
    mallory_key: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    folder = tmp_path_factory.mktemp("probe-pki")
    pki = PKI()
    root = pki.root("CN=Probe Test Root,O=certgate tests")
    other = pki.root("CN=Other Root,O=certgate tests")
    # KB 2802568: an intermediate (of some other hierarchy) sitting in the server's Root store
    stray = other.intermediate("CN=Stray Intermediate,O=certgate tests")
    issuing = root.intermediate("CN=Probe Issuing CA,O=certgate tests", path_length=0)
    server = root.server("localhost")
    alice = issuing.client("alice")
    mallory = other.client("mallory")
    (folder / "two-roots.pem").write_bytes(root.pem + other.pem)
    return Files(
        folder=folder,
        root=root,
        other=other,
        stray=stray,
        server=server.write_pem(folder / "server.pem"),
        server_key=server.write_key(folder / "server.key"),
        root_pem=root.write_pem(folder / "root.pem"),
        other_pem=other.write_pem(folder / "other.pem"),
        two_roots=folder / "two-roots.pem",
        stray_pem=stray.write_pem(folder / "stray.pem"),
        alice=alice.write_pem(folder / "alice.pem", chain=True),
        alice_key=alice.write_key(folder / "alice.key"),
        mallory=mallory.write_pem(folder / "mallory.pem"),
        mallory_key=mallory.write_key(folder / "mallory.key"),
    )


def run(port: int, *paths: str, cert: Path | None = None, key: Path | None = None) -> ProbeResult:
    credentials = None
    if cert is not None:
        credentials = load_credentials(cert=str(cert), key=str(key))
    target = ProbeTarget.parse(f"localhost:{port}", paths=paths)
    return probe(target, ProbeOptions(timeout=TIMEOUT, credentials=credentials))


def verdicts(result: ProbeResult) -> dict[tuple[str, str], Requirement]:
    return {(v.version.value, p.path): p.requirement for v in result.versions for p in v.paths}


def ca_names(result: ProbeResult, version: TlsVersion) -> list[str]:
    found = next(v for v in result.versions if v.version is version)
    assert found.handshake_request is not None
    return [str(n) for n in found.handshake_request.ca_names]


def codes(result: ProbeResult) -> set[ProbeCode]:
    return {f.code for f in result.findings}


# -- openssl s_server ----------------------------------------------------------------------


def test_s_server_without_client_auth_is_disabled(files: Files) -> None:
    with s_server(files.folder, files.server, files.server_key) as port:
        result = run(port)
    assert result.error is None
    assert verdicts(result) == {
        ("1.2", "/"): Requirement.DISABLED,
        ("1.3", "/"): Requirement.DISABLED,
    }
    for version in result.versions:
        assert version.handshake_request is None
        assert version.paths[0].without_certificate.http is not None
        assert version.paths[0].without_certificate.http.status == 200


def test_s_server_optional_is_optional_and_lists_its_ca(files: Files) -> None:
    options = ("-verify", "1", "-CAfile", str(files.root_pem))
    with s_server(files.folder, files.server, files.server_key, *options) as port:
        result = run(port)
    assert verdicts(result) == {
        ("1.2", "/"): Requirement.OPTIONAL,
        ("1.3", "/"): Requirement.OPTIONAL,
    }
    for version in TlsVersion:
        assert ca_names(result, version) == ["CN=Probe Test Root, O=certgate tests"]
    path = result.versions[0].paths[0]
    assert (path.basis, path.stage) == (Basis.ANSWERED, Stage.HANDSHAKE)
    request = result.versions[0].handshake_request
    assert request is not None and request.from_message
    assert request.ca_names_bytes == 2 + len(files.root.x509.subject.public_bytes())
    assert request.signature_algorithms and "rsa_pss_rsae_sha256" in request.signature_algorithms
    assert request.certificate_types and "rsa_sign" in request.certificate_types
    tls13 = result.versions[1].handshake_request
    assert tls13 is not None and tls13.certificate_types is None  # TLS 1.3 has none


def test_s_server_required_refuses_with_alert_40_then_116(files: Files) -> None:
    options = ("-Verify", "1", "-CAfile", str(files.root_pem), "-verify_return_error")
    with s_server(files.folder, files.server, files.server_key, *options) as port:
        result = run(port)
    assert verdicts(result) == {
        ("1.2", "/"): Requirement.REQUIRED,
        ("1.3", "/"): Requirement.REQUIRED,
    }
    tls12, tls13 = (v.paths[0].without_certificate for v in result.versions)
    assert tls12.outcome is Outcome.ALERT and tls12.alert is not None
    assert tls12.alert.number == 40 and not tls12.handshake_completed
    assert tls13.outcome is Outcome.ALERT and tls13.alert is not None
    assert tls13.alert.number == 116 and tls13.handshake_completed  # refused on the first read
    kb = {k for f in result.findings if f.code is ProbeCode.REQUIRED_TLS for k in f.kb}
    assert {"tls-alert:40", "tls-alert:116", "certgate:probe-required-tls"} <= kb
    assert result.certificate_refused is None  # no certificate given


def test_s_server_required_without_ca_names_is_still_a_request(files: Files) -> None:
    options = ("-Verify", "1", "-CAfile", str(files.root_pem), "-verify_return_error")
    with s_server(files.folder, files.server, files.server_key, *options, "-no_ca_names") as port:
        result = run(port)
    assert set(verdicts(result).values()) == {Requirement.REQUIRED}
    for version in TlsVersion:
        assert ca_names(result, version) == []
    assert ProbeCode.EMPTY_CA_LIST in codes(result)


def test_s_server_sends_two_ca_names_in_file_order(files: Files) -> None:
    options = ("-Verify", "1", "-CAfile", str(files.two_roots), "-verify_return_error")
    with s_server(files.folder, files.server, files.server_key, *options) as port:
        result = run(port)
    expected = ["CN=Probe Test Root, O=certgate tests", "CN=Other Root, O=certgate tests"]
    for version in TlsVersion:
        assert ca_names(result, version) == expected
    assert ProbeCode.EMPTY_CA_LIST not in codes(result)


def test_s_server_accepts_alice_and_refuses_mallory(files: Files) -> None:
    options = ("-Verify", "1", "-CAfile", str(files.root_pem), "-verify_return_error")
    with s_server(files.folder, files.server, files.server_key, *options) as port:
        good = run(port, cert=files.alice, key=files.alice_key)
        bad = run(port, cert=files.mallory, key=files.mallory_key)
    assert good.certificate_refused is False
    assert all(
        p.selection is not None and p.selection.offered for v in good.versions for p in v.paths
    )
    assert bad.certificate_refused is True
    for version in bad.versions:
        path = version.paths[0]
        assert path.with_certificate is not None and path.with_certificate.alert is not None
        assert path.with_certificate.alert.number == 48  # unknown_ca
        assert path.selection is not None and not path.selection.offered
    refused = [f for f in bad.findings if f.code is ProbeCode.CERTIFICATE_REFUSED]
    assert refused and all(f.kb[0] == "tls-alert:48" for f in refused)


# -- nginx ---------------------------------------------------------------------------------

OK = '    location / { return 200 "ok\\n"; }'


@pytest.fixture(scope="module")
def nginx_ports(files: Files) -> Iterator[dict[str, int]]:
    blocks = {
        "on": f"    ssl_verify_client on;\n    ssl_client_certificate {files.root_pem};\n{OK}",
        "optional": (
            f"    ssl_verify_client optional;\n"
            f"    ssl_client_certificate {files.two_roots};\n{OK}\n"
            "    location /secure {\n      if ($ssl_client_verify != SUCCESS) { return 403; }\n"
            '      return 200 "secure\\n";\n    }'
        ),
        "optional_no_ca": (
            f"    ssl_verify_client optional_no_ca;\n"
            f"    ssl_client_certificate {files.root_pem};\n{OK}"
        ),
        "trusted_only": (
            f"    ssl_verify_client optional_no_ca;\n"
            f"    ssl_trusted_certificate {files.root_pem};\n{OK}"
        ),
        "client_and_trusted": (
            f"    ssl_verify_client on;\n    ssl_client_certificate {files.root_pem};\n"
            f"    ssl_trusted_certificate {files.other_pem};\n{OK}"
        ),
        "stray_list": (
            f"    ssl_verify_client on;\n    ssl_client_certificate {files.stray_pem};\n"
            f"    ssl_trusted_certificate {files.root_pem};\n{OK}"
        ),
        "none": f"{OK}\n    location /iis {{\n      default_type text/html;\n"
        f"      return 403 '{_IIS_403_7}';\n    }}",
    }
    with nginx(
        files.folder / "nginx", files.server, files.server_key, list(blocks.values())
    ) as ports:
        yield dict(zip(blocks, ports, strict=True))


# Laid out like IIS 10's detailed error page (docs/windows-model.md#iis-substatus); no quote
# characters inside.
_IIS_403_7 = (
    "<html><head><title>IIS 10.0 Detailed Error - 403.7 - Forbidden</title></head><body>"
    "<div class=content-container><h3>HTTP Error 403.7 - Forbidden</h3>"
    "<h4>The page you are attempting to access requires your browser to have a Secure Sockets "
    "Layer (SSL) client certificate that the Web server recognizes.</h4></div>"
    "<table><tr><th>Module</th><td>&nbsp;&nbsp;&nbsp;IIS Web Core</td></tr>"
    "<tr class=alt><th>Error Code</th><td>&nbsp;&nbsp;&nbsp;0x80070005</td></tr></table>"
    "</body></html>"
)


def test_nginx_on_is_required_at_the_http_layer(files: Files, nginx_ports: dict[str, int]) -> None:
    result = run(nginx_ports["on"])
    assert set(verdicts(result).values()) == {Requirement.REQUIRED}
    for version in result.versions:
        path = version.paths[0]
        http = path.without_certificate.http
        assert path.basis is Basis.ERROR_PAGE and path.stage is Stage.HANDSHAKE
        assert http is not None and (http.status, http.page) == (400, PageKind.NGINX_NO_CERT)
        assert http.kb == ("nginx:496",)
    required = [f for f in result.findings if f.code is ProbeCode.REQUIRED_HTTP]
    assert required and required[0].kb == ("nginx:496", "certgate:probe-required-http")


def test_nginx_on_refuses_an_untrusted_certificate_with_495(
    files: Files, nginx_ports: dict[str, int]
) -> None:
    result = run(nginx_ports["on"], cert=files.mallory, key=files.mallory_key)
    assert result.certificate_refused is True
    attempt = result.versions[0].paths[0].with_certificate
    assert attempt is not None and attempt.http is not None
    assert attempt.http.page is PageKind.NGINX_CERT_ERROR and attempt.http.kb == ("nginx:495",)
    good = run(nginx_ports["on"], cert=files.alice, key=files.alice_key)
    assert good.certificate_refused is False


def test_nginx_optional_with_a_location_that_needs_a_certificate(
    files: Files, nginx_ports: dict[str, int]
) -> None:
    result = run(nginx_ports["optional"], "/", "/secure", cert=files.alice, key=files.alice_key)
    assert verdicts(result) == {
        ("1.2", "/"): Requirement.OPTIONAL,
        ("1.2", "/secure"): Requirement.REQUIRED,
        ("1.3", "/"): Requirement.OPTIONAL,
        ("1.3", "/secure"): Requirement.REQUIRED,
    }
    secure = result.versions[0].paths[1]
    assert secure.basis is Basis.HTTP_STATUS  # a plain 403: inferred, and said so
    assert secure.with_certificate is not None and secure.with_certificate.http is not None
    assert secure.with_certificate.http.status == 200
    assert result.certificate_refused is False
    assert ca_names(result, TlsVersion.TLS1_2) == [
        "CN=Probe Test Root, O=certgate tests",
        "CN=Other Root, O=certgate tests",
    ]
    inferred = [f for f in result.findings if f.code is ProbeCode.REQUIRED_HTTP]
    assert inferred and all("[inferred" in f.message for f in inferred)


def test_nginx_optional_no_ca(files: Files, nginx_ports: dict[str, int]) -> None:
    result = run(nginx_ports["optional_no_ca"], cert=files.mallory, key=files.mallory_key)
    assert set(verdicts(result).values()) == {Requirement.OPTIONAL}
    assert result.certificate_refused is False  # optional_no_ca lets an unknown CA through
    assert ca_names(result, TlsVersion.TLS1_3) == ["CN=Probe Test Root, O=certgate tests"]


def test_nginx_trusted_certificate_names_are_not_sent(
    files: Files, nginx_ports: dict[str, int]
) -> None:
    trusted_only = run(nginx_ports["trusted_only"])
    assert set(verdicts(trusted_only).values()) == {Requirement.OPTIONAL}
    for version in TlsVersion:
        assert ca_names(trusted_only, version) == []
    both = run(nginx_ports["client_and_trusted"])
    for version in TlsVersion:
        assert ca_names(both, version) == ["CN=Probe Test Root, O=certgate tests"]


def test_kb2802568_403_7_selectability(files: Files, nginx_ports: dict[str, int]) -> None:
    """The server sends only a stray intermediate's name: a browser would offer nothing."""
    result = run(nginx_ports["stray_list"], cert=files.alice, key=files.alice_key)
    for version in result.versions:
        path = version.paths[0]
        assert path.selection is not None
        assert not path.selection.offered and path.selection.matched == ()
        assert [str(n) for n in path.selection.chain_issuers] == [
            "CN=Probe Issuing CA, O=certgate tests",
            "CN=Probe Test Root, O=certgate tests",
        ]
    not_selectable = [f for f in result.findings if f.code is ProbeCode.NOT_SELECTABLE]
    assert len(not_selectable) == 2
    assert not_selectable[0].kb == ("iis:403.7", "certgate:probe-not-selectable")
    assert result.certificate_refused is False  # OpenSSL sends it anyway, and nginx accepts
    control = run(nginx_ports["on"], cert=files.alice, key=files.alice_key)
    assert ProbeCode.NOT_SELECTABLE not in codes(control)


def test_nginx_without_client_auth_and_an_iis_style_403_7_page(
    files: Files, nginx_ports: dict[str, int]
) -> None:
    result = run(nginx_ports["none"], "/", "/iis")
    assert verdicts(result) == {
        ("1.2", "/"): Requirement.DISABLED,
        ("1.2", "/iis"): Requirement.REQUIRED,
        ("1.3", "/"): Requirement.DISABLED,
        ("1.3", "/iis"): Requirement.REQUIRED,
    }
    iis = result.versions[1].paths[1]
    assert iis.stage is None and iis.basis is Basis.ERROR_PAGE
    http = iis.without_certificate.http
    assert http is not None and (http.substatus, http.error_code) == ("403.7", 0x80070005)
    refused = [f for f in result.findings if f.code is ProbeCode.REFUSED_WITHOUT_REQUEST]
    assert refused and refused[0].kb == (
        "iis:403.7",
        "hresult:E_ACCESSDENIED",
        "certgate:probe-refused-without-request",
    )


# -- Apache: per-path client auth by renegotiation (TLS 1.2) and post-handshake (TLS 1.3) --

_LOCATIONS = """<Location /secure>
  SSLVerifyClient require
</Location>
<Location /maybe>
  SSLVerifyClient optional
</Location>"""


def test_apache_asks_per_path_after_the_request(files: Files) -> None:
    folder = files.folder / "apache"
    with apache(folder, files.server, files.server_key, files.root_pem, _LOCATIONS) as port:
        result = run(port, "/", "/secure", "/maybe", cert=files.alice, key=files.alice_key)
        intruder = run(port, "/secure", cert=files.mallory, key=files.mallory_key)
    assert verdicts(result) == {
        ("1.2", "/"): Requirement.DISABLED,
        ("1.2", "/secure"): Requirement.REQUIRED,
        ("1.2", "/maybe"): Requirement.OPTIONAL,
        ("1.3", "/"): Requirement.DISABLED,
        ("1.3", "/secure"): Requirement.REQUIRED,
        ("1.3", "/maybe"): Requirement.OPTIONAL,
    }
    tls12, tls13 = result.versions
    assert tls12.handshake_request is None and tls13.handshake_request is None
    assert {p.stage for p in tls12.paths[1:]} == {Stage.RENEGOTIATION}
    assert {p.stage for p in tls13.paths[1:]} == {Stage.POST_HANDSHAKE}
    secure13 = tls13.paths[1].without_certificate
    assert secure13.alert is not None and secure13.alert.number == 116
    assert secure13.post_handshake_auth
    late = secure13.request_at(Stage.POST_HANDSHAKE)
    assert late is not None and [str(n) for n in late.ca_names] == [
        "CN=Probe Test Root, O=certgate tests"
    ]
    assert result.certificate_refused is False
    found = codes(result)
    assert {ProbeCode.LATE_REQUEST, ProbeCode.POST_HANDSHAKE_REQUEST} <= found
    assert intruder.certificate_refused is True


# -- failures are results ------------------------------------------------------------------


def test_closed_port_is_a_result(files: Files) -> None:
    (port,) = free_ports(1)
    result = run(port)
    assert result.error is not None and result.error.code == "refused"
    assert result.requirement is Requirement.UNKNOWN and result.versions == ()
    assert [f.code for f in result.findings] == [ProbeCode.UNREACHABLE]


def test_silent_server_times_out_as_a_result() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        target = ProbeTarget.parse(f"127.0.0.1:{port}")
        result = probe(target, ProbeOptions(timeout=0.3))
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in accepted:
            conn.close()
    assert result.error is not None and result.error.code == "timeout"  # as the README says
    assert [v.supported for v in result.versions] == [False, False]
    assert all(v.paths[0].without_certificate.outcome is Outcome.TIMEOUT for v in result.versions)
    assert result.requirement is Requirement.UNKNOWN
    assert result.target.sni is None  # no SNI for an IP address


def test_without_the_message_tap_the_names_still_come_from_openssl(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pyOpenSSL without the private msg-callback binding cannot run here: simulate it."""
    monkeypatch.setattr(
        "certgate.tls.connection.tap_handshake_messages", lambda context, sink: False
    )
    options = ("-Verify", "1", "-CAfile", str(files.two_roots), "-verify_return_error")
    with s_server(files.folder, files.server, files.server_key, *options) as port:
        result = run(port)
    names = [files.root.x509.subject, files.other.x509.subject]
    for version in result.versions:
        request = version.handshake_request
        assert request is not None and not request.from_message
        assert request.signature_algorithms is None and request.certificate_types is None
        assert [n.der for n in request.ca_names] == [n.public_bytes() for n in names]
        assert request.ca_names_bytes == sum(2 + len(n.public_bytes()) for n in names)
    assert set(verdicts(result).values()) == {Requirement.REQUIRED}
