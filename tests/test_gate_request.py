"""The gate's request screening as a pure function: one canonical path, header rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.gate.request import (
    Refused,
    Target,
    canonical_target,
    client_header_kept,
    forwarded_headers,
    header_key,
    hop_by_hop,
    screen_headers,
)


@pytest.mark.parametrize(
    ("raw", "path", "wire"),
    [
        (b"/", "/", "/"),
        (b"/a//b/", "/a/b/", "/a/b/"),
        (b"/a/./b/../c?x=%2e%2e", "/a/c", "/a/c?x=%2e%2e"),
        (b"/public/..%5corders", "/orders", "/orders"),
        (b"/public/..\\orders", "/orders", "/orders"),
        (b"/a%2fb", "/a/b", "/a/b"),
        (b"/caf%C3%A9/x%20y", "/caf\u00e9/x y", "/caf%C3%A9/x%20y"),
        (b"/orders;jsessionid=1", "/orders;jsessionid=1", "/orders;jsessionid=1"),
    ],
)
def test_canonical_paths(raw: bytes, path: str, wire: str) -> None:
    target = canonical_target(raw)
    assert isinstance(target, Target)
    assert (target.path, target.wire) == (path, wire)


def test_judged_path_drops_parameters() -> None:
    target = canonical_target(b"/orders;x=1/list;y")
    assert isinstance(target, Target) and target.judged == "/orders/list"


@pytest.mark.parametrize(
    "raw",
    [
        b"/..", b"/a/../..", b"/public/..;/orders", b"/public/.;x/orders", b"/a%252fb",
        b"/a%255c", b"/a%00", b"/a%0d%0aX: y", b"/%c0%ae%c0%ae/", b"/%ff", b"/a%zz", b"/a%",
        b"/orders.", b"/orders%20", b"/orders::$DATA", b"http://h/x", b"*", b"/a#frag",
    ],
)  # fmt: skip
def test_ambiguous_paths_are_refused(raw: bytes) -> None:
    refused = canonical_target(raw)
    assert isinstance(refused, Refused) and refused.status == 400


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=60).map(lambda b: b"/" + b.replace(b"?", b"")))
def test_fuzz_the_forwarded_path_is_the_judged_path(raw: bytes) -> None:
    """Whatever the target, the gate either refuses it or forwards a wire form that decodes
    (again, as any upstream would) to exactly the path it judged."""
    target = canonical_target(raw)
    if isinstance(target, Refused):
        assert target.status == 400
        return
    again = canonical_target(target.wire.encode())
    assert isinstance(again, Target) and again.path == target.path
    assert "\\" not in target.path and "//" not in target.path
    assert not any(s in (".", "..") for s in target.path.split("/"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_fuzz_header_names(name: str) -> None:
    key = header_key(name)
    kept = client_header_kept(name)
    if kept:  # a kept name never maps to what the gate or a proxy owns
        assert "_" not in name
        assert not key.startswith(("certgate-", "x-forwarded-"))
        assert key not in ("forwarded", "x-real-ip", "remote-user", "x-original-url")


@pytest.mark.parametrize(
    "name",
    ["Certgate_Identity", "certgate-identity", "CERTGATE-CLIENT-VERIFY", "X_Forwarded_For",
     "x-forwarded-host", "Forwarded", "X-Real-IP", "x-original-url", "SSL_CLIENT_S_DN",
     "Remote-User", "X-SSL-Client-Cert"],
)  # fmt: skip
def test_owned_headers_are_dropped(name: str) -> None:
    assert not client_header_kept(name)


def test_connection_names_more_hop_by_hop_headers() -> None:
    assert {"x-a", "x-b", "connection", "te"} <= hop_by_hop(["close, X-A", "x_b"])


@pytest.mark.parametrize(
    ("method", "version", "headers", "status"),
    [
        (b"GET", b"HTTP/1.1", [], 400),
        (b"GET", b"HTTP/1.1", [("Host", "a"), ("Host", "b")], 400),
        (b"GET", b"HTTP/1.1", [("Host", "a b")], 400),
        (b"POST", b"HTTP/1.0", [("Transfer-Encoding", "chunked")], 400),
        (b"POST", b"HTTP/1.1", [("Host", "a"), ("Transfer-Encoding", "identity")], 400),
        (b"TRACE", b"HTTP/1.1", [("Host", "a")], 405),
        (b"CONNECT", b"HTTP/1.1", [("Host", "a")], 405),
    ],
)
def test_screen_refuses(
    method: bytes, version: bytes, headers: list[tuple[str, str]], status: int
) -> None:
    refused = screen_headers(method, version, headers)
    assert refused is not None and refused.status == status


def test_screen_accepts_the_ordinary() -> None:
    assert screen_headers(b"GET", b"HTTP/1.0", []) is None
    assert screen_headers(b"POST", b"HTTP/1.1", [("Host", "[::1]:8443")]) is None
    chunked = [("Host", "h"), ("Transfer-Encoding", "Chunked")]
    assert screen_headers(b"POST", b"HTTP/1.1", chunked) is None


def test_forwarded_headers_trust_only_a_trusted_proxy() -> None:
    previous = {"x-forwarded-for": ["203.0.113.9"], "x-real-ip": ["203.0.113.9"]}
    untrusted = dict(forwarded_headers("::1", "h:1", trusted=False, previous=previous))
    trusted = dict(forwarded_headers("10.0.0.1", None, trusted=True, previous=previous))
    assert untrusted == {
        "Forwarded": 'for="[::1]";proto=https;host="h:1"',
        "X-Forwarded-For": "::1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "h:1",
        "X-Real-IP": "::1",
    }
    assert trusted["X-Forwarded-For"] == "203.0.113.9, 10.0.0.1"
    assert trusted["X-Real-IP"] == "203.0.113.9"


def test_authz_judges_the_canonical_path() -> None:
    from datetime import UTC, datetime

    from certgate.core.gate.authz import HeaderFormat, answer
    from certgate.core.gate.judge import Judge
    from certgate.core.gate.policy import ClientCertMode, Location, Policy

    locations = (Location("/", ClientCertMode.REQUIRE), Location("/public", ClientCertMode.IGNORE))
    judge = Judge(Policy(engine="rfc5280", locations=locations))
    at = datetime(2026, 6, 1, tzinfo=UTC)

    def status(uri: str) -> tuple[int, str]:
        result = answer(judge, HeaderFormat.NGINX, {"x-original-uri": uri}, "/_authz", at)
        return result.status, result.decision.code if result.decision else ""

    assert status("/public/x")[0] == 200
    assert status("/public/..%5corders") == (403, "no-certificate")  # IIS reads /orders
    assert status("/public/..;/orders") == (403, "ambiguous-path")  # Tomcat reads /orders
    assert status("/public/..%252forders") == (403, "ambiguous-path")
