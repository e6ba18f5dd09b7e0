"""ClientCertMiddleware: in-process for each proxy's header, and behind a real nginx."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from certgate.asgi import ClientCertMiddleware
from certgate.core.gate.policy import ClientCertMode, Location, Policy
from certgate.testing import PKI, Issued
from gate_asgi_app import echo
from gate_support import curl, machine, write_client
from servers import free_ports, nginx, running


@pytest.fixture
def tree(pki: PKI) -> dict[str, Issued]:
    root = pki.root("CN=Root")
    issuing = root.intermediate("CN=Issuing", path_length=0)
    return {"root": root, "issuing": issuing, "alice": issuing.client("CN=alice")}


def _call(
    middleware: ClientCertMiddleware,
    client: str,
    headers: list[tuple[str, str]],
    **extra: Any,
) -> tuple[int, dict[str, Any]]:
    scope = {
        "type": "http",
        "path": "/",
        **extra,
        "client": (client, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def _pem(issued: Issued) -> str:
    return issued.pem.decode()


def test_each_proxy_header_from_a_trusted_proxy(tree: dict[str, Issued], now: datetime) -> None:
    policy = Policy(machine=machine([tree["root"]]))  # the intermediate comes in the header
    alice, issuing = tree["alice"], tree["issuing"]
    nginx_leaf_only = quote(_pem(alice))
    chain = quote(_pem(alice) + _pem(issuing))
    xfcc = f'By=spiffe://x;Hash=ab;Cert="{quote(_pem(alice))}";Chain="{chain}";Subject="CN=alice"'
    traefik = ",".join(
        quote(i.pem.decode().split("-----")[2].replace("\n", "")) for i in (alice, issuing)
    )
    cases = [
        ("nginx", "X-SSL-Client-Cert", nginx_leaf_only, 403, "403.16"),
        ("envoy", "X-Forwarded-Client-Cert", "By=a;Hash=b," + xfcc, 200, None),
        ("traefik", "X-Forwarded-Tls-Client-Cert", traefik, 200, None),
    ]
    for proxy, header, value, status, iis in cases:
        middleware = ClientCertMiddleware(
            echo, policy, trusted_proxies=["127.0.0.0/8"], proxy=proxy, clock=lambda: now
        )
        got, body = _call(middleware, "127.0.0.1", [(header, value)])
        assert (proxy, got) == (proxy, status)
        if iis:
            assert body["iis_status"] == iis  # nginx sends the leaf only: chain incomplete
        else:
            assert body["chain"] == 2 and body["name"] == "CN=alice"
            assert header.lower() not in body["headers"]


def test_the_path_is_judged_in_the_gates_canonical_form(
    tree: dict[str, Issued], now: datetime
) -> None:
    """As serve and authz judge it: /public/..\\orders is /orders, with or without raw_path."""
    locations = (Location("/"), Location("/public", ClientCertMode.IGNORE))
    policy = Policy(machine=machine([tree["root"]]), locations=locations)
    middleware = ClientCertMiddleware(echo, policy, trusted_proxies=[], clock=lambda: now)
    assert _call(middleware, "10.0.0.1", [], path="/public/x")[0] == 200
    for extra in (
        {"path": "/public/..\\orders"},
        {"path": "/public/..\\orders", "raw_path": b"/public/..%5corders"},
        {"path": "/public/../orders"},
    ):
        status, body = _call(middleware, "10.0.0.1", [], **extra)
        assert (status, body["iis_status"]) == (403, "403.7"), extra
    status, body = _call(middleware, "10.0.0.1", [], path="/public/..;/orders")
    assert (status, body["code"]) == (403, "ambiguous-path")


def test_untrusted_sender_is_ignored(tree: dict[str, Issued], now: datetime) -> None:
    policy = Policy(machine=machine([tree["root"]], [tree["issuing"]]))
    middleware = ClientCertMiddleware(echo, policy, trusted_proxies=["10.0.0.1"], clock=lambda: now)
    forged = [
        ("X-SSL-Client-Cert", quote(_pem(tree["alice"]))),
        ("Certgate-Identity", "admin"),
        ("Certgate_Identity", "admin"),  # Django reads it as HTTP_CERTGATE_IDENTITY
        ("X_SSL_Client_Cert", "forged"),
    ]
    status, body = _call(middleware, "127.0.0.1", forged)
    assert (status, body["iis_status"]) == (403, "403.7")
    trusted = ClientCertMiddleware(echo, policy, trusted_proxies=["127.0.0.1"], clock=lambda: now)
    status, body = _call(trusted, "127.0.0.1", forged)
    assert status == 200 and "certgate-identity" not in body["headers"]
    assert not [name for name in body["headers"] if "_" in name]


def test_malformed_header_is_a_denial(tree: dict[str, Issued], now: datetime) -> None:
    middleware = ClientCertMiddleware(
        echo, Policy(), trusted_proxies=["127.0.0.1"], proxy="envoy", clock=lambda: now
    )
    status, body = _call(middleware, "127.0.0.1", [("X-Forwarded-Client-Cert", 'Cert="unbalanced')])
    assert (status, body["code"]) == (403, "CERT_E_MALFORMED")


def test_a_repeated_certificate_header_is_a_denial(tree: dict[str, Issued], now: datetime) -> None:
    """Two copies of the header would read as one chain once joined: refused, with why."""
    middleware = ClientCertMiddleware(
        echo, Policy(), trusted_proxies=["127.0.0.1"], proxy="nginx", clock=lambda: now
    )
    alice = quote(_pem(tree["alice"]), safe="")
    twice = [("X-SSL-Client-Cert", alice), ("X-SSL-Client-Cert", alice)]
    status, body = _call(middleware, "127.0.0.1", twice)
    assert (status, body["code"]) == (403, "CERT_E_MALFORMED")
    assert "came 2 times" in body["reason"]


POLICY = """
[trust.stores]
Root = ["root.pem"]
CA = ["issuing.pem"]

[[mapping.many_to_one]]
name = "all"
user = "CONTOSO\\\\alice"
rules = [{{ field = "Subject", subfield = "CN", match = "alice" }}]

[[location]]
path = "/"
identity = "optional"
"""


PROXY = """    ssl_verify_client optional_no_ca;
    location / {{
      proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
      proxy_pass http://127.0.0.1:{upstream};
    }}"""


@pytest.fixture
def nginx_front(tree: dict[str, Issued]) -> Iterator[str]:
    """nginx terminating TLS and passing the certificate to the app under uvicorn."""
    from certgate.gate.tls import ServerIdentity

    work = Path(tempfile.mkdtemp(prefix="certgate-nginx-"))
    work.chmod(0o777)  # nginx runs unprivileged and writes its pid, log and temp files here
    ServerIdentity.throwaway().write(work)
    (work / "server.key").chmod(0o644)  # a throwaway test key, readable by the nginx user
    tree["root"].write_pem(work / "root.pem")
    tree["issuing"].write_pem(work / "issuing.pem")
    (work / "gate.toml").write_text(POLICY.format())
    (upstream,) = free_ports(1)
    env = dict(os.environ, CERTGATE_POLICY=str(work / "gate.toml"), CERTGATE_TRUSTED="127.0.0.1")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    app = [sys.executable, "-m", "uvicorn", "--factory", "gate_asgi_app:app"]
    app += ["--host", "127.0.0.1", "--port", str(upstream), "--no-access-log"]
    app += ["--log-level", "warning"]
    try:
        with (
            running(app, [upstream], work / "uvicorn.log", env),
            nginx(
                work, work / "server.pem", work / "server.key", [PROXY.format(upstream=upstream)]
            ) as (port,),
        ):
            yield f"https://127.0.0.1:{port}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_behind_real_nginx(
    tree: dict[str, Issued], pki: PKI, nginx_front: str, tmp_path: Path
) -> None:
    alice = write_client(tree["alice"], tmp_path, "alice")
    stranger = write_client(pki.root("CN=Elsewhere").client("CN=alice"), tmp_path, "stranger")
    status, _, body = curl(nginx_front + "/x", cert=alice)
    assert status == 200
    seen = json.loads(body)
    assert seen["identity"] == "CONTOSO\\alice" and seen["name"] == "CN=alice"
    assert "x-ssl-client-cert" not in seen["headers"]
    status, headers, _ = curl(nginx_front + "/x", cert=stranger)
    assert (status, headers["certgate-status"]) == (403, "403.16")
    forged = ["-H", f"X-SSL-Client-Cert: {quote(tree['alice'].pem.decode())}"]
    status, headers, _ = curl(nginx_front + "/x", *forged)  # nginx overwrites the header
    assert (status, headers["certgate-status"]) == (403, "403.7")
