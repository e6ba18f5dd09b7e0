"""The normalised log event: what every log parser yields, whatever the format.

A WCF trace, an IIS log line, a Schannel event and an nginx error line all become one
``LogEvent`` carrying the knowledge-base ids (``codes``) it is evidence for, so the summary,
the doctor and ``explain`` speak one vocabulary. Pure: parsers (``certgate.logs``) fill it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from certgate.core.codes import (
    HRESULTS,
    TLS_ALERTS,
    hresult_from_low_word,
    hresult_name,
    kb_id,
    x509_v_name,
)

__all__ = [
    "CLIENT_AUTH",
    "CLIENT_PURPOSES",
    "DOWNSTREAM",
    "RAW_LIMIT",
    "UPSTREAM",
    "LogEvent",
    "client_address",
    "code_name",
    "excerpt",
    "hresult_codes",
    "iis_code",
    "native_error_codes",
    "openssl_codes",
    "tls_alert_codes",
]

RAW_LIMIT = 400
CLIENT_AUTH = "client-auth"
# Purposes whose failures can be a client certificate's: client authentication, or unknown.
CLIENT_PURPOSES = frozenset({CLIENT_AUTH, None})
DOWNSTREAM = "downstream"
UPSTREAM = "upstream"


@dataclass(frozen=True)
class LogEvent:
    """One client-certificate-relevant record, located to its file and line or byte offset.

    ``time`` is aware UTC (None when the record has none); ``line`` is 1-based, ``offset`` the
    byte offset of the record in the (decompressed) file, ``record`` an event-log record number
    (EVTX ``EventRecordID``). ``hresult`` holds the full 32-bit
    value, also when it was inferred from a low word (then ``notes`` says so).

    ``purpose`` is what the certificate was checked for, when the record says (a CAPI2 chain's
    requested usage or policy): ``client-auth``, ``server-auth``, ``code-signing``,
    ``time-stamping`` or ``other``; None when the record does not say. ``side`` says whose
    certificate failed when a server can be both: ``downstream`` (this server judged its
    client's certificate) or ``upstream`` (this server was the client, e.g. nginx proxying to
    an upstream that refused nginx's own certificate).
    """

    source: str
    format: str
    time: datetime | None = None
    line: int | None = None
    offset: int | None = None
    record: int | None = None
    level: str | None = None
    host: str | None = None
    client_ip: str | None = None
    url: str | None = None
    status: int | None = None
    substatus: int | None = None
    win32_status: int | None = None
    trace_code: str | None = None
    native_error: str | None = None
    hresult: int | None = None
    tls_alert: int | None = None
    event_id: int | None = None
    subject: str | None = None
    issuer: str | None = None
    thumbprint: str | None = None
    message: str | None = None
    purpose: str | None = None
    side: str | None = None
    raw: str = ""
    codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.time is not None and self.time.utcoffset() is None:
            raise ValueError("LogEvent.time must be timezone-aware")

    @property
    def location(self) -> str:
        """``file:line``, ``file@byte`` or ``file#record``, whichever locates the record."""
        if self.line is not None:
            return f"{self.source}:{self.line}"
        if self.offset is not None:
            return f"{self.source}@{self.offset}"
        if self.record is not None:
            return f"{self.source}#{self.record}"
        return self.source

    @property
    def about_client_certificate(self) -> bool:
        """Evidence about a client certificate this server judged: client-authentication (or
        unknown) purpose, and not the server's own certificate refused upstream."""
        return self.purpose in CLIENT_PURPOSES and self.side != UPSTREAM

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC with ``Z``, tuples as lists, None kept."""
        result: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, datetime):
                value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
            elif isinstance(value, tuple):
                value = list(value)
            result[item.name] = value
        result["location"] = self.location
        return result


_FIELD_NAMES = tuple(item.name for item in fields(LogEvent))
_FIELDS = frozenset(_FIELD_NAMES)
_REQUIRED = tuple(item.name for item in fields(LogEvent) if item.default is MISSING)
# Unset fields read the class attribute the dataclass leaves for each plain default.
assert all(item.default_factory is MISSING for item in fields(LogEvent))


def _init(self: LogEvent, *args: Any, **values: Any) -> None:
    """The dataclass ``__init__`` (same arguments, same errors) in one dict update: a frozen
    dataclass sets each of its 27 fields with ``object.__setattr__``, a third of reading an
    IIS row, and logs hold millions of rows. Fields left out read their class default."""
    if args:
        if len(args) > len(_FIELD_NAMES):
            raise TypeError(f"LogEvent() takes {len(_FIELD_NAMES)} arguments, {len(args)} given")
        given = dict(zip(_FIELD_NAMES, args, strict=False))
        for name in given.keys() & values.keys():
            raise TypeError(f"LogEvent() got multiple values for argument {name!r}")
        values.update(given)
    if not _FIELDS.issuperset(values):
        unknown = min(values.keys() - _FIELDS)
        raise TypeError(f"LogEvent() got an unexpected keyword argument {unknown!r}")
    for name in _REQUIRED:
        if name not in values:
            raise TypeError(f"LogEvent() missing required argument {name!r}")
    self.__dict__.update(values)
    self.__post_init__()


LogEvent.__init__ = _init  # type: ignore[method-assign]


def client_address(text: str | None) -> str | None:
    """An IP address as logged (``[::1]``, ``10.0.0.9``, ``10.0.0.9:51234``); None for a
    redacted or otherwise unreadable value (``...``, ``<IP_address>``, ``x.x.x.x``)."""
    if not text:
        return None
    return _cached_address(text) if len(text) <= _CACHED_LENGTH else _read_address(text)


_IPV4 = re.compile(r"(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}")
# Logs repeat the same addresses: each is read once. Longer texts are no address; they are
# read each time and never kept (a hostile log must not fill the cache with megabytes).
_CACHED_LENGTH = 64


def _read_address(text: str) -> str | None:
    if _IPV4.fullmatch(text) and all(int(part) <= 255 for part in text.split(".")):
        return text  # the common case, without ipaddress's cost (logs hold millions of rows)
    value = text.strip().strip("[]")
    for candidate in (value, value.rsplit(":", 1)[0].strip("[]")):
        try:
            return str(ipaddress.ip_address(candidate.split("%", 1)[0]))
        except ValueError:
            continue
    return None


_cached_address = lru_cache(maxsize=4096)(_read_address)


def excerpt(text: str, limit: int = RAW_LIMIT) -> str:
    """A short, single-line raw excerpt: whitespace runs collapsed, cut at ``limit``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def hresult_codes(value: int | None) -> tuple[str, ...]:
    """``hresult:<NAME>`` for a known non-zero HRESULT (any printed form's integer value)."""
    if not value:
        return ()
    name = hresult_name(value)
    return (kb_id("hresult", name),) if name else ()


def native_error_codes(text: str) -> tuple[int | None, tuple[str, ...], tuple[str, ...]]:
    """Read a WCF ``native error code`` (``0x109`` or a full ``0x800B0109``).

    Returns (hresult, codes, notes). A low word maps to its HRESULT only when unambiguous,
    and the note marks that reading as inferred.
    """
    try:
        number = int(text, 16)
    except ValueError:
        return None, (), ()
    if number > 0xFFFF:
        full = number & 0xFFFFFFFF
        return full, hresult_codes(full), ()
    name = hresult_from_low_word(number)
    if name is None:
        return None, (), ()
    value = HRESULTS[name]
    note = (
        f"[inferred] native error code {text} read as the low word of 0x{value:08X} {name} "
        "(self-hosted WCF keeps only the low 16 bits of CertFlags; "
        "docs/windows-model.md#wcf-native-error)"
    )
    return value, (kb_id("hresult", name),), (note,)


def iis_code(status: int, substatus: int | None) -> str:
    return kb_id("iis", f"{status}.{substatus}" if substatus is not None else str(status))


def tls_alert_codes(alert: int | None) -> tuple[str, ...]:
    return (kb_id("tls-alert", alert),) if alert is not None else ()


def openssl_codes(number: int) -> tuple[str, ...]:
    name = x509_v_name(number)
    return (kb_id("openssl", name),) if name else ()


_FAMILY_LABEL = {"schannel": "Schannel event", "capi2": "CAPI2 event"}


def code_name(code: str) -> str:
    """A short human name for a knowledge-base id, meaningful without the knowledge base:
    ``CERT_E_UNTRUSTEDROOT``, ``403.16``, ``HttpsClientCertificateInvalid``, ``unknown_ca (48)``."""
    family, _, rest = code.partition(":")
    if family == "tls-alert" and rest.isdigit():
        return f"{TLS_ALERTS.get(int(rest), 'alert')} ({rest})"
    if family in _FAMILY_LABEL:
        return f"{_FAMILY_LABEL[family]} {rest}"
    return rest or code
