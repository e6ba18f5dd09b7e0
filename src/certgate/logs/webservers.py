"""nginx and Apache httpd (mod_ssl) error logs: client-certificate verification failures.

Both print OpenSSL's verify error number, mapped to its ``X509_V_ERR_*`` name. Their times
are the server's local time without a zone: certgate reads them as UTC and says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from certgate.core.codes import kb_id
from certgate.core.events import LogEvent, excerpt, openssl_codes, tls_alert_codes
from certgate.logs._registry import FileContext, log_format
from certgate.logs._scan import matching_lines

__all__ = ["parse_apache", "parse_nginx"]

_LOCAL_TIME = "times have no zone (server local time) and are read as UTC"
_ALERT = re.compile(r"SSL alert number (\d+)")

_NGINX_LINE = re.compile(
    r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$"
)
_NGINX_VERIFY = re.compile(r"client SSL certificate verify error: \((\d+):([^)]*)\)")
_NGINX_NO_CERT = "client sent no required SSL certificate"
_NGINX_CONTEXT = re.compile(r', (client|server|request|host): ("[^"]*"|[^,]*)')


def _looks_like_nginx(head: bytes) -> bool:
    return any(_NGINX_LINE.match(line) for line in _head_lines(head))


def _head_lines(head: bytes) -> list[str]:
    return head.decode("utf-8", errors="replace").splitlines()[:20]


@log_format("nginx", detect=_looks_like_nginx, priority=60)
def parse_nginx(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """nginx error logs: client-certificate verify errors and missing certificates.

    "client SSL certificate verify error: (20:unable to get local issuer certificate)"
    (answered 400, nginx's internal 495), "client sent no required SSL certificate" (496),
    and "SSL_do_handshake() failed" lines that name a TLS alert number.
    """
    ctx.note(_LOCAL_TIME)
    for number, _offset, raw in matching_lines(stream, (b"SSL",), ctx, progress=ctx.progress):
        line = raw.decode("utf-8", errors="replace")
        match = _NGINX_LINE.match(line)
        if match is None:
            continue
        event = _nginx_event(match, ctx.path, number, line)
        if event is not None:
            yield event


def _nginx_event(match: re.Match[str], path: str, number: int, line: str) -> LogEvent | None:
    stamp, level, message = match.groups()
    verify = _NGINX_VERIFY.search(message)
    alert = _int(_ALERT.search(message))
    if verify:
        codes = (kb_id("nginx", 495), *openssl_codes(int(verify.group(1))))
    elif _NGINX_NO_CERT in message:
        codes = (kb_id("nginx", 496),)
    elif alert is not None:
        codes = tls_alert_codes(alert)
    else:
        return None
    context = {key: value.strip('"') for key, value in _NGINX_CONTEXT.findall(message)}
    return LogEvent(
        source=path,
        format="nginx",
        time=_time(stamp, "%Y/%m/%d %H:%M:%S"),
        line=number,
        level=level,
        host=context.get("host") or context.get("server"),
        client_ip=context.get("client"),
        url=_request_url(context.get("request")),
        tls_alert=alert,
        message=excerpt(message.split(", client:")[0]),
        raw=excerpt(line),
        codes=codes,
    )


_APACHE_LINE = re.compile(
    r"^\[([^\]]+)\] \[(?:(\w+):)?(\w+)\] \[pid [^\]]*\](?: \[client ([^\]]+)\])? (.*)$"
)
_AH = re.compile(r"^(AH\d{5}): ")
_APACHE_VERIFY = re.compile(r"Certificate Verification: Error \((\d+)\)")
_APACHE_CERT = re.compile(r"\[subject: (.*?) / issuer: (.*?) / serial: ")
# mod_ssl messages about client-certificate verification and failed (re)handshakes.
_CLIENT_AH = frozenset(
    {
        "AH02008",
        "AH02038",
        "AH02039",
        "AH02040",
        "AH02255",
        "AH02261",
        "AH02262",
        "AH02263",
        "AH02276",
    }
)


def _looks_like_apache(head: bytes) -> bool:
    return any(_APACHE_LINE.match(line) for line in _head_lines(head))


@log_format("apache", detect=_looks_like_apache, priority=60)
def parse_apache(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """Apache httpd error logs (mod_ssl): AH02039/AH02276 certificate verification errors with
    the OpenSSL error number, chain too long (AH02040), failed handshakes and renegotiations
    (AH02008, AH02261), and "SSL Library Error" lines naming a TLS alert number.
    """
    ctx.note(_LOCAL_TIME)
    for number, _offset, raw in matching_lines(stream, (b"[ssl:",), ctx, progress=ctx.progress):
        line = raw.decode("utf-8", errors="replace")
        match = _APACHE_LINE.match(line)
        if match is None or match.group(2) != "ssl":
            continue
        event = _apache_event(match, ctx.path, number, line)
        if event is not None:
            yield event


def _apache_event(match: re.Match[str], path: str, number: int, line: str) -> LogEvent | None:
    stamp, _module, level, client, message = match.groups()
    ah_match = _AH.match(message)
    ah = ah_match.group(1) if ah_match else None
    alert = _int(_ALERT.search(message))
    if ah not in _CLIENT_AH and alert is None:
        return None
    verify = _APACHE_VERIFY.search(message)
    certificate = _APACHE_CERT.search(message)
    codes = (
        *((kb_id("apache", ah),) if ah in _CLIENT_AH else ()),
        *(openssl_codes(int(verify.group(1))) if verify else ()),
        *tls_alert_codes(alert),
    )
    return LogEvent(
        source=path,
        format="apache",
        time=_apache_time(stamp),
        line=number,
        level=level,
        client_ip=client.rsplit(":", 1)[0] if client else None,
        tls_alert=alert,
        subject=certificate.group(1) if certificate else None,
        issuer=certificate.group(2) if certificate else None,
        message=excerpt(message),
        raw=excerpt(line),
        codes=codes,
    )


def _apache_time(stamp: str) -> datetime | None:
    return _time(stamp, "%a %b %d %H:%M:%S.%f %Y") or _time(stamp, "%a %b %d %H:%M:%S %Y")


def _time(text: str, pattern: str) -> datetime | None:
    try:
        return datetime.strptime(text, pattern).replace(tzinfo=UTC)
    except ValueError:
        return None


def _request_url(request: str | None) -> str | None:
    parts = (request or "").split()
    return parts[1] if len(parts) >= 2 else None


def _int(match: re.Match[str] | None) -> int | None:
    return int(match.group(1)) if match else None
