"""``certgate authz``: the answer for each proxy's header format, and a real nginx in front of a
real ``certgate authz`` process (auth_request with ``ssl_verify_client optional_no_ca``)."""

from __future__ import annotations

import base64
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.cli import main
from certgate.core.gate.authz import Authorizer, HeaderFormat, answer, judged_path
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import ClientCertMode, Location, Policy
from certgate.testing import PKI, Issued
from gate_support import authz_process, curl, machine, write_client
from servers import nginx

PATH = "/_authz"


def _to_pem(issued: Issued) -> str:
    return issued.pem.decode()


def _header(fmt: HeaderFormat, issued: Issued) -> str:
    der64 = base64.b64encode(issued.certificate.der).decode()
    if fmt is HeaderFormat.NGINX:
        return quote(_to_pem(issued), safe="")
    if fmt is HeaderFormat.ENVOY:
        return f'By=spiffe://gw;Hash=00;Cert="{quote(_to_pem(issued), safe="")}"'
    return der64  # Traefik, Caddy, HAProxy: base64 DER


@pytest.fixture
def judge(pki: PKI) -> tuple[Judge, Issued, Issued]:
    root = pki.root("CN=Authz Root")
    other = pki.root("CN=Stranger Root")
    policy = Policy(
        engine="rfc5280",
        machine=machine([root]),
        locations=(Location("/"), Location("/public", ClientCertMode.IGNORE)),
    )
    return Judge(policy), root.client("CN=alice"), other.client("CN=mallory")


@pytest.mark.parametrize("fmt", list(HeaderFormat))
def test_each_header_format_allows_and_denies(
    judge: tuple[Judge, Issued, Issued], pki: PKI, fmt: HeaderFormat
) -> None:
    gate, alice, mallory = judge
    ok = answer(gate, fmt, {fmt.header: _header(fmt, alice)}, "/_authz", pki.now)
    assert ok.status == 200
    headers = dict(ok.headers)
    assert headers["Certgate-Status"] == "200"
    assert headers["Certgate-Client-Sha1"] == alice.certificate.sha1
    assert "CN=alice" in headers["Certgate-Client-Subject"]
    bad = answer(gate, fmt, {fmt.header: _header(fmt, mallory)}, "/_authz", pki.now)
    assert (bad.status, dict(bad.headers)["Certgate-Status"]) == (403, "403.16")
    assert b"403.16" in bad.body


def test_no_certificate_malformed_header_and_locations(
    judge: tuple[Judge, Issued, Issued], pki: PKI
) -> None:
    gate, _, _ = judge
    fmt = HeaderFormat.NGINX
    missing = answer(gate, fmt, {fmt.header: ""}, PATH, pki.now)
    assert dict(missing.headers)["Certgate-Status"] == "403.7"
    public = answer(gate, fmt, {"x-original-uri": "/public/x?y=1"}, PATH, pki.now)
    assert public.status == 200
    broken = answer(gate, fmt, {fmt.header: "-----BEGIN CERTIFICATE-----%%%"}, PATH, pki.now)
    assert broken.status == 403
    assert dict(broken.headers)["Certgate-Status"] == "403.16"
    assert "could not be read" in dict(broken.headers)["Certgate-Reason"]


def test_only_the_proxys_own_uri_header_is_judged(
    judge: tuple[Judge, Issued, Issued], pki: PKI
) -> None:
    """Caddy and Traefik copy the client's headers into the auth request: a client's own
    X-Original-URI (or, through Envoy, either header) must not pick the path judged."""
    gate, _, _ = judge
    spoofed = {"x-original-uri": "/public/x", "x-forwarded-uri": "/orders"}
    for fmt in (HeaderFormat.CADDY, HeaderFormat.TRAEFIK):
        result = answer(gate, fmt, {**spoofed, fmt.header: ""}, PATH, pki.now)
        assert dict(result.headers)["Certgate-Status"] == "403.7"
    envoy = HeaderFormat.ENVOY
    result = answer(gate, envoy, {**spoofed, envoy.header: ""}, "/authz/orders", pki.now)
    assert dict(result.headers)["Certgate-Status"] == "403.7"
    nginx = HeaderFormat.NGINX
    assert answer(gate, nginx, {**spoofed, nginx.header: ""}, PATH, pki.now).status == 200


def test_judged_path_sources() -> None:
    assert judged_path({"x-original-uri": "/a/b?q=1"}, "/_authz") == "/a/b"
    assert judged_path({"x-forwarded-uri": "/c"}, "/_authz") == "/c"
    assert judged_path({}, "/authz/d/e", prefix="/authz") == "/d/e"
    assert judged_path({}, "/authz", prefix="/authz") == "/"


def test_verdicts_are_cached_per_chain_and_generation(
    judge: tuple[Judge, Issued, Issued], pki: PKI
) -> None:
    gate, alice, _ = judge
    fmt = HeaderFormat.HAPROXY
    first = answer(gate, fmt, {fmt.header: _header(fmt, alice)}, PATH, pki.now, generation=3)
    answer(gate, fmt, {fmt.header: _header(fmt, alice)}, PATH, pki.now, generation=3)
    assert (gate.misses, gate.hits) == (1, 1)
    assert dict(first.headers)["Certgate-Policy-Generation"] == "3"


NGINX_SITE = """
    ssl_verify_client optional_no_ca;
    location = /_authz {{
      internal;
      proxy_pass http://127.0.0.1:{authz};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
    }}
    location / {{
      auth_request /_authz;
      auth_request_set $certgate_status $upstream_http_certgate_status;
      auth_request_set $certgate_reason $upstream_http_certgate_reason;
      auth_request_set $certgate_subject $upstream_http_certgate_client_subject;
      add_header Certgate-Status $certgate_status always;
      add_header Certgate-Reason $certgate_reason always;
      add_header X-Client-Subject $certgate_subject always;
      empty_gif;  # the protected content (a content handler: auth_request runs before it)
    }}
"""


def test_real_nginx_auth_request(pki: PKI, tmp_path: Path) -> None:
    root = pki.root("CN=Nginx Authz Root")
    root.write_pem(tmp_path / "root.pem")
    alice = write_client(root.client("CN=alice"), tmp_path, "alice")
    mallory = write_client(pki.root("CN=Other").client("CN=mallory"), tmp_path, "mallory")
    policy = tmp_path / "gate.toml"
    policy.write_text(
        '[trust]\nengine = "rfc5280"\n[trust.stores]\nRoot = ["root.pem"]\n'
        '[[location]]\npath = "/public"\nclient_cert = "ignore"\n'
    )
    server = pki.root("CN=Server CA").server("localhost")
    server_cert = server.write_pem(tmp_path / "server.pem", chain=True)
    server_key = server.write_key(tmp_path / "server.key")
    with authz_process(policy) as port:
        site = NGINX_SITE.format(authz=port)
        with nginx(tmp_path / "nginx", server_cert, server_key, [site]) as (https,):
            url = f"https://127.0.0.1:{https}/"
            status, headers, _ = curl(url, "-I", cert=alice)
            assert (status, headers["content-type"]) == (200, "image/gif")
            assert "CN=alice" in headers["x-client-subject"]
            status, headers, _ = curl(url, cert=mallory)
            assert (status, headers["certgate-status"]) == (403, "403.16")
            assert headers["certgate-reason"]
            status, headers, _ = curl(url)
            assert (status, headers["certgate-status"]) == (403, "403.7")
            status, headers, _ = curl(url + "public/", "-I")
            assert (status, headers["certgate-status"]) == (200, "200")


def _ask(port: int, pem: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_authz", headers={"X-SSL-Client-Cert": quote(pem, safe="")}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


def test_sighup_reloads_the_policy_and_keeps_it_when_the_new_one_is_bad(
    pki: PKI, tmp_path: Path
) -> None:
    root, other = pki.root("CN=First Root"), pki.root("CN=Second Root")
    root.write_pem(tmp_path / "first.pem")
    other.write_pem(tmp_path / "second.pem")
    alice = _to_pem(root.client("CN=alice"))
    policy = tmp_path / "gate.toml"
    policy.write_text('[trust]\nengine = "rfc5280"\n[trust.stores]\nRoot = ["first.pem"]\n')
    command = [sys.executable, "-m", "certgate", "authz", "--policy", str(policy)]
    process = subprocess.Popen(
        [*command, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        match = re.search(r":(\d+)$", process.stderr.readline().strip())
        assert match
        port = int(match.group(1))
        status, headers = _ask(port, alice)
        assert (status, headers["Certgate-Policy-Generation"]) == (200, "0")
        policy.write_text('[trust]\nengine = "rfc5280"\n[trust.stores]\nRoot = ["second.pem"]\n')
        process.send_signal(signal.SIGHUP)
        assert "generation 1" in process.stderr.readline()
        status, headers = _ask(port, alice)
        assert (status, headers["Certgate-Status"]) == (403, "403.16")
        assert headers["Certgate-Policy-Generation"] == "1"
        policy.write_text("[trust\n")
        process.send_signal(signal.SIGHUP)
        assert "keeping the old one" in process.stderr.readline()
        assert _ask(port, alice)[1]["Certgate-Policy-Generation"] == "1"
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "nowhere"], "--listen must be HOST:PORT"),
        (["--proxy", "iis"], "Invalid value for '--proxy'"),
    ],
)
def test_bad_flags_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    policy = tmp_path / "gate.toml"
    policy.write_text("")
    assert main(["authz", "--policy", str(policy), *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_policy_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "gate.toml"
    policy.write_text("[trust\n")
    assert main(["authz", "--policy", str(policy)]) == 2
    assert "gate.toml" in capsys.readouterr().err


@given(st.text(max_size=300), st.text(max_size=300), st.sampled_from(["", "/authz"]))
def test_judged_path_is_always_a_path(uri: str, own: str, prefix: str) -> None:
    for headers in ({"x-original-uri": uri}, {"x-forwarded-uri": uri}, {}):
        assert judged_path(headers, own, prefix).startswith("/")


@settings(deadline=None, max_examples=60)
@given(st.text(max_size=500), st.sampled_from(list(HeaderFormat)))
def test_any_header_value_gets_an_answer(value: str, fmt: HeaderFormat) -> None:
    gate = Judge(Policy(engine="rfc5280"))
    result = answer(gate, fmt, {fmt.header: value}, "/", datetime(2026, 6, 1, tzinfo=UTC))
    assert result.status in (200, 401, 403)
    assert all("\n" not in v and "\r" not in v for _, v in result.headers)


def test_authorizer_reuses_parsed_headers_and_rendered_answers(
    judge: tuple[Judge, Issued, Issued], pki: PKI
) -> None:
    gate, alice, mallory = judge
    fmt = HeaderFormat.NGINX
    authorize = Authorizer(gate, fmt, generation=2)
    good = {fmt.header: _header(fmt, alice)}
    first = authorize(good, PATH, pki.now)
    assert authorize(good, PATH, pki.now) is first  # same chain, same decision: same answer
    assert first == answer(gate, fmt, good, PATH, pki.now, generation=2)
    bad = authorize({fmt.header: _header(fmt, mallory)}, PATH, pki.now)
    assert dict(bad.headers)["Certgate-Status"] == "403.16"
    broken = authorize({fmt.header: "%%%"}, PATH, pki.now)
    assert "could not be read" in dict(broken.headers)["Certgate-Reason"]
    assert gate.misses == 2  # alice and mallory judged once each


def test_a_double_slash_is_a_path_not_an_authority(
    judge: tuple[Judge, Issued, Issued], pki: PKI
) -> None:
    """nginx serves //x/public/a as /x/public/a (a protected path): it must not be judged as
    /public/a, which is what reading //x as an authority would give."""
    gate, _, _ = judge
    fmt = HeaderFormat.NGINX
    assert judged_path({"x-original-uri": "//x/public/a"}, PATH) == "//x/public/a"
    sneaky = answer(gate, fmt, {"x-original-uri": "//x/public/a"}, PATH, pki.now)
    assert dict(sneaky.headers)["Certgate-Status"] == "403.7"
    absolute = answer(gate, fmt, {"x-original-uri": "https://h/public/a?q"}, PATH, pki.now)
    assert absolute.status == 200


def test_authz_with_a_missing_or_broken_policy_names_the_file_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A missing policy used to print Python's "[Errno 2] No such file or directory: '...'".
    missing = tmp_path / "missing.toml"
    assert main(["authz", "--policy", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such file" in err and "Errno" not in err and "Traceback" not in err
    broken = tmp_path / "broken.toml"
    broken.write_text("x = [")
    assert main(["authz", "--policy", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: not a readable TOML file" in err and "Traceback" not in err
