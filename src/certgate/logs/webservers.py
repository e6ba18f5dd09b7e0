"""nginx and Apache httpd (mod_ssl) error logs: client-certificate verification failures.

Both print OpenSSL's verify error number, mapped to its ``X509_V_ERR_*`` name. Their times
are the server's local time without a zone: certgate reads them as UTC and says so. Lines may
come behind a syslog prefix (``<190>Oct 14 12:00:00 web1 nginx: ...``), without a date
(nginx's ``[info] 30979#0: ...``), in Apache 2.2's format (no module, pid or AH code) or as
mod_ssl debug lines (``ssl_engine_kernel.c(591): ...``). Each event says which side failed:
``downstream`` (the server judged its client's certificate) or ``upstream`` (nginx or Apache
was the client of a backend that refused it, or whose certificate it refused).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from certgate.core.codes import kb_id
from certgate.core.events import (
    DOWNSTREAM,
    UPSTREAM,
    LogEvent,
    client_address,
    excerpt,
    openssl_codes,
    tls_alert_codes,
)
from certgate.logs._registry import FileContext, log_format
from certgate.logs._scan import matching_lines

__all__ = ["parse_apache", "parse_nginx", "strip_syslog"]

_LOCAL_TIME = "times have no zone (server local time) and are read as UTC"
_ALERT = re.compile(r"SSL alert number (\d+)")
# RFC 3164 / RFC 5424 / journalctl prefixes: <PRI>, version, time, host, tag[pid]:
_SYSLOG = re.compile(
    r"^(?:<\d{1,3}>)?(?:1 )?"
    r"(?:[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)"
    r" \S+ [\w./@-]+(?:\[\d+\])?: ?"
)
_SYSLOG_NOTE = "lines behind a syslog prefix: the prefix is dropped, the server's own time kept"


def strip_syslog(line: str, ctx: FileContext | None = None) -> str:
    """``line`` without a syslog/journald prefix (noted once in ``ctx``)."""
    match = _SYSLOG.match(line)
    if match is None:
        return line
    if ctx is not None:
        ctx.note(_SYSLOG_NOTE)
    return line[match.end() :]


def _head_lines(head: bytes) -> list[str]:
    text = head.decode("utf-8", errors="replace")
    return [strip_syslog(line) for line in text.splitlines()[:20]]


# -- nginx ------------------------------------------------------------------------------------

_NGINX_LINE = re.compile(
    r"^(?:(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) )?\[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$"
)
_NGINX_VERIFY = re.compile(r"(client|upstream) SSL certificate verify error: \((\d+):([^)]*)\)")
_NGINX_NO_CERT = "client sent no required SSL certificate"
_NGINX_CONTEXT = re.compile(r', (client|server|request|host|upstream): ("[^"]*"|[^,]*)')
_TO_UPSTREAM = re.compile(r"\bupstream\b")


def _looks_like_nginx(head: bytes) -> bool:
    return any(_NGINX_LINE.match(line) for line in _head_lines(head))


@log_format("nginx", detect=_looks_like_nginx, priority=60)
def parse_nginx(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """nginx error logs: client-certificate verify errors and missing certificates.

    "client SSL certificate verify error: (20:unable to get local issuer certificate)"
    (answered 400, nginx's internal 495), "client sent no required SSL certificate" (496),
    and "SSL_do_handshake() failed" lines that name a TLS alert number. Lines "while SSL
    handshaking to upstream" are nginx's own side as a client (``side`` upstream): an alert
    there is the upstream refusing nginx's certificate, not a downstream client's failure.
    """
    ctx.note(_LOCAL_TIME)
    for number, _offset, raw in matching_lines(stream, (b"SSL",), ctx, progress=ctx.progress):
        line = strip_syslog(raw.decode("utf-8", errors="replace"), ctx)
        match = _NGINX_LINE.match(line)
        if match is None:
            ctx.skip(f"line {number}", f"not an nginx error-log line: {excerpt(line, 80)}")
            continue
        event = _nginx_event(match, ctx.path, number, line)
        if event is not None:
            yield event


def _nginx_event(match: re.Match[str], path: str, number: int, line: str) -> LogEvent | None:
    stamp, level, message = match.groups()
    verify = _NGINX_VERIFY.search(message)
    alert = _int(_ALERT.search(message))
    context = {key: value.strip('"') for key, value in _NGINX_CONTEXT.findall(message)}
    upstream = bool(_TO_UPSTREAM.search(message.split(", client:")[0])) or (
        verify is not None and verify.group(1) == "upstream"
    )
    purpose = None
    if verify and verify.group(1) == "upstream":  # proxy_ssl_verify: the upstream's server cert
        codes = openssl_codes(int(verify.group(2)))
        purpose = "server-auth"
    elif verify:
        codes = (kb_id("nginx", 495), *openssl_codes(int(verify.group(2))))
    elif _NGINX_NO_CERT in message:
        codes = (kb_id("nginx", 496),)
    elif alert is not None:
        codes = tls_alert_codes(alert)
    else:
        return None
    return LogEvent(
        source=path,
        format="nginx",
        time=_time(stamp, "%Y/%m/%d %H:%M:%S") if stamp else None,
        line=number,
        level=level,
        host=context.get("host") or context.get("server"),
        client_ip=None if upstream else client_address(context.get("client")),
        url=_request_url(context.get("request")),
        tls_alert=alert,
        message=excerpt(message.split(", client:")[0]),
        purpose=purpose,
        side=UPSTREAM if upstream else DOWNSTREAM,
        raw=excerpt(line),
        codes=codes,
    )


# -- Apache httpd ----------------------------------------------------------------------------

# 2.4: [time] [module:level] [pid N(:tid N)] (file.c(N): )?([client|remote ip:port] )?message
# 2.2: [time] [level] (file.c(N): )?([client ip] )?message
_APACHE_LINE = re.compile(
    r"^\[([^\]]+)\] \[(?:(\w+):)?(\w+)\](?: \[pid [^\]]*\])?(?: (\w+\.c\(\d+\)):)?"
    r"(?: \[(client|remote) ([^\]]+)\])? ?(.*)$"
)
_AH = re.compile(r"^(AH\d{5}): ")
_APACHE_VERIFY = re.compile(r"Certificate Verification: Error \((\d+)\)")
_APACHE_CERT = re.compile(r"\[subject: (.*?) / issuer: (.*?) / serial: ")
_APACHE_22_VERIFY = "AH02039"  # Apache 2.2 prints the same message without the AH code
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
# mod_ssl / mod_proxy messages about the proxy's own TLS connection to a backend.
_PROXY_AH = frozenset({"AH02003", "AH02004", "AH02005", "AH00898", "AH01084", "AH01097"})
_APACHE_NEEDLES = (b"SSL", b"ssl", b"Certificate Verification")


def _looks_like_apache(head: bytes) -> bool:
    return any(
        (match := _APACHE_LINE.match(line)) and _apache_time(match.group(1))
        for line in _head_lines(head)
    )


@log_format("apache", detect=_looks_like_apache, priority=60)
def parse_apache(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """Apache httpd error logs (mod_ssl), 2.4 and 2.2 formats: certificate verification errors
    with the OpenSSL error number (AH02039/AH02276, or 2.2's "Certificate Verification: Error
    (12): CRL has expired" without an AH code), chain too long (AH02040), failed handshakes and
    renegotiations (AH02008, AH02261), "SSL Library Error" lines naming a TLS alert number,
    including mod_ssl debug lines (``ssl_engine_kernel.c(591): ...``). Lines about a proxied
    backend (``[remote ...]``, SSL Proxy) are the upstream side.
    """
    ctx.note(_LOCAL_TIME)
    for number, _offset, raw in matching_lines(stream, _APACHE_NEEDLES, ctx, progress=ctx.progress):
        line = strip_syslog(raw.decode("utf-8", errors="replace"), ctx)
        match = _APACHE_LINE.match(line)
        if match is None or _apache_time(match.group(1)) is None:
            ctx.skip(f"line {number}", f"not an Apache error-log line: {excerpt(line, 80)}")
            continue
        if match.group(2) not in (None, "ssl", "proxy", "proxy_http"):
            continue
        event = _apache_event(match, ctx.path, number, line)
        if event is not None:
            yield event


def _apache_event(match: re.Match[str], path: str, number: int, line: str) -> LogEvent | None:
    stamp, _module, level, _source, peer_kind, peer, message = match.groups()
    ah_match = _AH.match(message)
    ah = ah_match.group(1) if ah_match else None
    alert = _int(_ALERT.search(message))
    verify = _APACHE_VERIFY.search(message)
    if ah is None and verify is not None:
        ah = _APACHE_22_VERIFY
    upstream = peer_kind == "remote" or ah in _PROXY_AH or "SSL Proxy" in message
    if ah not in _CLIENT_AH and alert is None and not (upstream and ah in _PROXY_AH):
        return None
    certificate = _APACHE_CERT.search(message)
    codes = (
        *((kb_id("apache", ah),) if ah in _CLIENT_AH else ()),
        *(openssl_codes(int(verify.group(1))) if verify else ()),
        *tls_alert_codes(alert),
    )
    if not codes:
        return None
    notes = (
        ("[inferred] an Apache 2.2 line without AH code, read as AH02039 (same message)",)
        if ah_match is None and verify is not None
        else ()
    )
    return LogEvent(
        source=path,
        format="apache",
        time=_apache_time(stamp),
        line=number,
        level=level,
        client_ip=None if upstream else client_address(peer),
        tls_alert=alert,
        subject=certificate.group(1) if certificate else None,
        issuer=certificate.group(2) if certificate else None,
        message=excerpt(message),
        side=UPSTREAM if upstream else DOWNSTREAM,
        raw=excerpt(line),
        codes=codes,
        notes=notes,
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
