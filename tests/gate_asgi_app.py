"""The ASGI app the nginx test runs under uvicorn: the middleware around an identity echo.

Configured by environment: CERTGATE_POLICY (policy file), CERTGATE_TRUSTED (comma list).
"""

from __future__ import annotations

import json
import os
from typing import Any

from certgate.asgi import ClientCertMiddleware


async def echo(scope: Any, receive: Any, send: Any) -> None:
    tls = scope.get("extensions", {}).get("tls", {})
    body = json.dumps(
        {
            "identity": scope["certgate"]["identity"],
            "chain": len(tls.get("client_cert_chain", [])),
            "name": tls.get("client_cert_name"),
            "headers": sorted(k.decode() for k, _ in scope["headers"]),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def app() -> ClientCertMiddleware:
    trusted = [p for p in os.environ.get("CERTGATE_TRUSTED", "").split(",") if p]
    return ClientCertMiddleware(echo, os.environ["CERTGATE_POLICY"], trusted_proxies=trusted)
