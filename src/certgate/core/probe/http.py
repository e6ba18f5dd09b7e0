"""Read an HTTP/1.x answer far enough to classify it: status, Server, and the error pages that
name a client-certificate problem (IIS substatus pages, nginx's 495/496 pages, the
``Certgate-Status`` headers of a certgate gate).

IIS shows the substatus only on its *detailed* error page ("HTTP Error 403.16 - Forbidden"),
which by default only local clients get (errorMode DetailedLocalOnly,
docs/windows-model.md#iis-substatus);
remote clients usually see a plain "403 - Forbidden: Access is denied." without it.
"""

from __future__ import annotations

import re

from certgate.core.probe.model import HttpAnswer, PageKind

__all__ = ["BODY_LIMIT", "answer_complete", "build_request", "parse_answer"]

BODY_LIMIT = 64 * 1024  # enough for any error page; the rest of a body is not needed
_HEAD_LIMIT = 32 * 1024

_STATUS = re.compile(rb"HTTP/\d(?:\.\d)? +(\d{3})(?: +([^\r\n]*))?\r?\n")
_IIS_SUBSTATUS = (
    re.compile(r"HTTP Error (\d{3})\.(\d{1,3})\b"),  # <h3>HTTP Error 403.16 - Forbidden</h3>
    re.compile(r"Detailed Error - (\d{3})\.(\d{1,3})\b"),  # <title>IIS 10.0 Detailed Error - ...
)
_IIS_ERROR_CODE = re.compile(
    r"Error Code(?:\s|&nbsp;|:|<[^>]{0,40}>){0,40}0x([0-9A-Fa-f]{8})\b", re.IGNORECASE
)
_GATE_STATUS = re.compile(r"(\d{3})\.(\d{1,3})")
_GATE_HRESULT = re.compile(r"0x([0-9A-Fa-f]{8})")
_NGINX_PAGES = (
    ("No required SSL certificate was sent", PageKind.NGINX_NO_CERT),
    ("The SSL certificate error", PageKind.NGINX_CERT_ERROR),
)


def build_request(host: str, path: str, user_agent: str) -> bytes:
    """A GET (``s_server -www`` ignores HEAD), closing the connection after the answer."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "replace")


def _split(data: bytes) -> tuple[bytes, bytes] | None:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = data.partition(separator)
        if found:
            return head, body
    return None


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            key = name.strip().decode("latin-1").lower()
            headers.setdefault(key, value.strip().decode("latin-1"))
    return headers


def answer_complete(data: bytes) -> bool:
    """Whether enough of an answer is in: the whole body, or as much as is ever looked at."""
    parts = _split(data)
    if parts is None:
        return len(data) >= _HEAD_LIMIT
    head, body = parts
    if len(body) >= BODY_LIMIT:
        return True
    headers = _headers(head)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return body.endswith(b"0\r\n\r\n")
    length = headers.get("content-length", "")
    return length.isdigit() and len(body) >= int(length)


def parse_answer(data: bytes, *, truncated: bool = False) -> HttpAnswer | None:
    """The answer in ``data``, or None when it does not start with an HTTP status line."""
    match = _STATUS.match(data)
    if match is None:
        return None
    parts = _split(data)
    head, body = parts if parts is not None else (data, b"")
    headers = _headers(head)
    text = body[:BODY_LIMIT].decode("latin-1")
    substatus, error_code, page = _certgate(headers)
    if page is None:
        substatus, error_code, page = _iis(text)
    if page is None:
        page = next((kind for marker, kind in _NGINX_PAGES if marker in text), None)
    return HttpAnswer(
        status=int(match.group(1)),
        reason=(match.group(2) or b"").decode("latin-1").strip(),
        server=headers.get("server"),
        substatus=substatus,
        error_code=error_code,
        page=page,
        truncated=truncated or parts is None,
    )


def _certgate(headers: dict[str, str]) -> tuple[str | None, int | None, PageKind | None]:
    """A certgate gate states its IIS-style answer in headers (``Certgate-Status: 403.16``)."""
    status = _GATE_STATUS.fullmatch(headers.get("certgate-status", ""))
    if status is None:
        return None, None, None
    hresult = _GATE_HRESULT.fullmatch(headers.get("certgate-hresult", ""))
    error = int(hresult.group(1), 16) if hresult else None
    return f"{status.group(1)}.{int(status.group(2))}", error, PageKind.CERTGATE


def _iis(text: str) -> tuple[str | None, int | None, PageKind | None]:
    for pattern in _IIS_SUBSTATUS:
        found = pattern.search(text)
        if found:
            code = _IIS_ERROR_CODE.search(text)
            error = int(code.group(1), 16) if code else None
            return f"{found.group(1)}.{int(found.group(2))}", error, PageKind.IIS
    return None, None, None
