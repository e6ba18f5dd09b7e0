"""Real Caddy and HAProxy (Debian's packages) in front of a real ``certgate authz``, with the
snippets of docs/proxies.md run as printed (only host name, paths and ports replaced).

Each proxy terminates TLS asking for a client certificate without verifying it and passes the
certificate of its own TLS session to certgate; the application behind it is a small HTTP
server here that records the headers it is given. Skipped locally when a proxy is not
installed; in CI (.ci/run installs both) a missing one fails.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path

import pytest

from certgate.core.gate.authz import Authorizer, HeaderFormat
from certgate.core.gate.judge import Judge
from certgate.core.gate.policy import Policy
from certgate.testing import PKI
from gate_support import authz_process, curl, machine, write_client
from servers import caddy, free_ports, haproxy, need

DOCS = Path(__file__).resolve().parent.parent / "docs" / "proxies.md"
FORGED = ("-H", "Certgate-Identity: admin", "-H", "Certgate-Identity-Rule: forged")


def _snippet(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, f"no {language} snippet in {DOCS}"
    return found.group(1)


@contextmanager
def _app() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """The application behind the proxy: answers 200 and records each request's headers."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({name.lower(): value for name, value in self.headers.items()})
            body = b"app\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def _authz(policy: Path, proxy: str) -> AbstractContextManager[int]:
    return authz_process(policy, "--proxy", proxy)


@pytest.fixture
def site(pki: PKI, tmp_path: Path) -> dict[str, Path]:
    """A policy trusting one root (``/public`` needs no certificate), the proxy's server
    certificate, a good client (alice) and one from another root (mallory)."""
    root = pki.root("CN=Proxy Authz Root")
    root.write_pem(tmp_path / "root.pem")
    (tmp_path / "gate.toml").write_text(
        '[trust]\nengine = "rfc5280"\n[trust.stores]\nRoot = ["root.pem"]\n'
        '[[location]]\npath = "/public"\nclient_cert = "ignore"\n'
    )
    server = pki.root("CN=Proxy Server CA").server("localhost")
    alice_cert, alice_key = write_client(root.client("CN=alice"), tmp_path, "alice")
    mallory_cert, mallory_key = write_client(
        pki.root("CN=Other Root").client("CN=mallory"), tmp_path, "mallory"
    )
    return {
        "policy": tmp_path / "gate.toml",
        "root": tmp_path / "root.pem",
        "cert": server.write_pem(tmp_path / "server.pem", chain=True),
        "key": server.write_key(tmp_path / "server.key"),
        "alice": alice_cert,
        "alice.key": alice_key,
        "mallory": mallory_cert,
        "mallory.key": mallory_key,
    }


def _der64(pem: Path) -> str:
    body = "".join(line for line in pem.read_text().splitlines()[1:] if "-----" not in line)
    return base64.b64encode(base64.b64decode(body)).decode()


def _exercise(
    url: str,
    seen: list[dict[str, str]],
    site: dict[str, Path],
    cert_header: str,
    *curl_args: str,
) -> None:
    """What both proxies must do: allow alice with identity headers for the application, deny
    the rest with certgate's status and reason, never trust a client's headers."""
    alice = (site["alice"], site["alice.key"])
    mallory = (site["mallory"], site["mallory.key"])
    mallorys = ("-H", f"{cert_header}: {_der64(site['mallory'])}")
    status, _, body = curl(url + "orders", *curl_args, *FORGED, *mallorys, cert=alice)
    assert (status, body) == (200, "app\n")
    app = seen[-1]
    assert "CN=alice" in app["certgate-client-subject"]
    assert app.get("certgate-status") == "200"
    assert app.get("certgate-identity", "") == ""  # the client's copy did not survive
    assert "certgate-identity-rule" not in app
    assert app.get(cert_header, "") in ("", _der64(site["alice"]))  # never the client's
    served = len(seen)

    status, headers, body = curl(url + "orders", *curl_args, cert=mallory)
    assert (status, headers["certgate-status"]) == (403, "403.16")
    assert "issuer" in headers["certgate-reason"] and "403.16" in body

    status, headers, _ = curl(url + "orders", *curl_args)
    assert (status, headers["certgate-status"]) == (403, "403.7")
    assert headers["certgate-reason"]

    # the certificate header sent by the client itself: not trusted (no certificate on TLS)
    forged = ("-H", f"{cert_header}: {_der64(site['alice'])}")
    status, headers, _ = curl(url + "orders", *curl_args, *forged)
    assert (status, headers["certgate-status"]) == (403, "403.7")
    status, headers, _ = curl(url + "orders", *curl_args, *forged, cert=mallory)
    assert (status, headers["certgate-status"]) == (403, "403.16")
    assert len(seen) == served  # no denied request reached the application

    status, _, _ = curl(url + "public/x", *curl_args, *FORGED)  # no certificate needed here
    assert status == 200
    public = seen[-1]
    assert public.get("certgate-identity", "") == public.get("certgate-client-subject", "") == ""
    assert "certgate-identity-rule" not in public


def test_real_caddy_forward_auth(site: dict[str, Path], tmp_path: Path) -> None:
    need("caddy")
    (port,) = free_ports(1)
    snippet = (
        _snippet("caddy")
        .replace("example.com", f"localhost:{port}")
        .replace("/etc/caddy/server.pem", str(site["cert"]))
        .replace("/etc/caddy/server.key", str(site["key"]))
    )
    test_only = "{\n    admin off\n    auto_https off\n    default_sni localhost\n}\n"
    with _authz(site["policy"], "caddy") as authz, _app() as (app, seen):
        caddyfile = snippet.replace("127.0.0.1:9180", f"127.0.0.1:{authz}")
        caddyfile = caddyfile.replace("127.0.0.1:8080", f"127.0.0.1:{app}")
        with caddy(tmp_path / "caddy", test_only + caddyfile, port):
            resolve = ("--resolve", f"localhost:{port}:127.0.0.1")
            _exercise(f"https://localhost:{port}/", seen, site, "x-client-cert", *resolve)


def test_real_haproxy_with_certgates_lua_action(site: dict[str, Path], tmp_path: Path) -> None:
    need("haproxy")
    (port,) = free_ports(1)
    bundle = tmp_path / "site.pem"
    bundle.write_bytes(site["cert"].read_bytes() + site["key"].read_bytes())
    lua = Path(str(files("certgate.gate.proxies") / "certgate.lua"))
    with _authz(site["policy"], "haproxy") as authz, _app() as (app, seen):
        config = (
            _snippet("haproxy")
            .replace("/etc/haproxy/certgate.lua", str(lua))
            .replace("/etc/haproxy/site.pem", str(bundle))
            .replace("/etc/haproxy/ca.pem", str(site["root"]))
            .replace("bind :443", f"bind 127.0.0.1:{port}")
            .replace("127.0.0.1:9180", f"127.0.0.1:{authz}")
            .replace("127.0.0.1:8080", f"127.0.0.1:{app}")
        )
        with haproxy(tmp_path / "haproxy", config, port):
            _exercise(f"https://127.0.0.1:{port}/", seen, site, "x-ssl-client-der", "-S")
            assert seen[0]["x-ssl-client-der"] == _der64(site["alice"])  # HAProxy's own copy


def test_caddy_unexpanded_placeholder_is_no_certificate(pki: PKI) -> None:
    """Caddy sends its placeholder as is when the client has no certificate: that is 403.7,
    not an unreadable header (403.16); only for Caddy's format."""
    judge = Judge(Policy(engine="rfc5280", machine=machine([pki.root("CN=R")])))
    literal = {"x-client-cert": "{http.request.tls.client.certificate_der_base64}"}
    caddy_answer = Authorizer(judge, HeaderFormat.CADDY)(literal, "/", pki.now)
    assert dict(caddy_answer.headers)["Certgate-Status"] == "403.7"
    other = {"x-forwarded-tls-client-cert": literal["x-client-cert"]}
    traefik = Authorizer(judge, HeaderFormat.TRAEFIK)(other, "/", pki.now)
    assert "could not be read" in dict(traefik.headers)["Certgate-Reason"]


def test_the_lua_action_ships_in_the_package() -> None:
    lua = files("certgate.gate.proxies") / "certgate.lua"
    assert 'core.register_action("certgate"' in lua.read_text(encoding="utf-8")
    assert '"**/*.lua"' in (DOCS.parent.parent / "pyproject.toml").read_text(encoding="utf-8")
