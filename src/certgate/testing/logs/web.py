"""nginx and Apache httpd (mod_ssl) error log lines."""

from __future__ import annotations

from datetime import datetime


def nginx_error_line(
    when: datetime,
    message: str,
    *,
    level: str = "info",
    client: str = "10.0.0.9",
    host: str = "api.contoso.test",
    request: str = "GET /orders HTTP/1.1",
) -> str:
    """``message`` is e.g. ``client SSL certificate verify error: (20:unable to get local issuer
    certificate)`` or ``client sent no required SSL certificate``."""
    return (
        f"{when:%Y/%m/%d %H:%M:%S} [{level}] 2411#2411: *17 {message} while reading client "
        f'request headers, client: {client}, server: {host}, request: "{request}", '
        f'host: "{host}"\n'
    )


def apache_error_line(
    when: datetime, message: str, *, level: str = "error", client: str = "10.0.0.9:51234"
) -> str:
    """``message`` is e.g. ``AH02039: Certificate Verification: Error (20): unable to get local
    issuer certificate``."""
    stamp = when.strftime("%a %b %d %H:%M:%S.") + f"{when.microsecond:06d} {when:%Y}"
    return f"[{stamp}] [ssl:{level}] [pid 3120:tid 140234] [client {client}] {message}\n"
