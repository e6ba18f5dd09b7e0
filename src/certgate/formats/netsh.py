"""``netsh http show sslcert`` output: one ``SslBinding`` per block, every row cited.

Layout (docs/windows-model.md#netsh-show-sslcert) [confirmed from real captures]: ``label : value``
rows indented four spaces, a blank line between bindings, ``(null)`` for absent strings,
``Enabled``/``Disabled`` for switches and ``Set``/``Not Set`` for the newer flags. Windows Server
2008 R2/2012 stop after ``Negotiate Client Certificate``; 2016+ add ``Reject Connections`` and later
rows. Blocks start with ``IP:port``, ``Hostname:port`` (SNI) or ``Central Certificate Store`` (CCS)
[SNI/CCS labels unconfirmed; seen in third-party captures]. The rows map to the API's
DefaultCertCheckMode and DefaultFlags bits (labels mapped [inferred], bit values [confirmed]).

Only English labels are read: a localized Windows prints translated labels, and that is refused
with a message pointing to the registry export instead of being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from certgate.core.settings import (
    CERT_CHECK_CACHED_REVOCATION,
    CERT_CHECK_NO_REVOCATION,
    CERT_CHECK_NO_USAGE_CHECK,
    CERT_CHECK_REVOCATION_FRESHNESS,
    FLAG_DISABLE_HTTP2,
    FLAG_DISABLE_LEGACY_TLS,
    FLAG_DISABLE_OCSP_STAPLING,
    FLAG_DISABLE_QUIC,
    FLAG_DISABLE_TLS12,
    FLAG_DISABLE_TLS13,
    FLAG_ENABLE_CACHE_CLIENT_HELLO,
    FLAG_ENABLE_SESSION_TICKET,
    FLAG_ENABLE_TOKEN_BINDING,
    FLAG_LOG_EXTENDED_EVENTS,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_REJECT,
    FLAG_USE_DS_MAPPER,
    Setting,
    SslBinding,
)
from certgate.core.visible import visible
from certgate.errors import InputError
from certgate.formats._base import LoadWarning
from certgate.formats._text import decode_text
from certgate.formats.netsh_command import valid_endpoint, valid_value

__all__ = ["looks_like_netsh", "parse_netsh_sslcert"]

_ROW = re.compile(r"^\s*(?P<label>\S.*?)\s+:\s?(?P<value>.*?)\s*$")
_ROW_TIGHT = re.compile(r"^\s*(?P<label>[^:\s][^:]*?):\s(?P<value>.*?)\s*$")  # no space before ':'
_STARTS = {"ip:port": "ipport", "hostname:port": "hostnameport", "central certificate store": "ccs"}
# label -> (bit, True when "Enabled"/"Set" sets the bit) in DefaultCertCheckMode
_CHECK_ROWS = {
    "verify client certificate revocation": (CERT_CHECK_NO_REVOCATION, False),
    "verify revocation using cached client certificate only": (CERT_CHECK_CACHED_REVOCATION, True),
    "usage check": (CERT_CHECK_NO_USAGE_CHECK, False),
    "use revocation freshness time": (CERT_CHECK_REVOCATION_FRESHNESS, True),
}
_FLAG_ROWS = {
    "ds mapper usage": FLAG_USE_DS_MAPPER,
    "negotiate client certificate": FLAG_NEGOTIATE_CLIENT_CERT,
    "reject connections": FLAG_REJECT,
    "disable http2": FLAG_DISABLE_HTTP2,
    "disable quic": FLAG_DISABLE_QUIC,
    "disable tls1.2": FLAG_DISABLE_TLS12,
    "disable tls1.3": FLAG_DISABLE_TLS13,
    "disable ocsp stapling": FLAG_DISABLE_OCSP_STAPLING,
    "enable token binding": FLAG_ENABLE_TOKEN_BINDING,
    "log extended events": FLAG_LOG_EXTENDED_EVENTS,
    "disable legacy tls versions": FLAG_DISABLE_LEGACY_TLS,
    "enable session ticket": FLAG_ENABLE_SESSION_TICKET,
    "enable caching client hello": FLAG_ENABLE_CACHE_CLIENT_HELLO,
}
_TEXT_ROWS = {
    "certificate hash",
    "application id",
    "certificate store name",
    "ctl identifier",
    "ctl store name",
    "revocation freshness time",
    "url retrieval timeout",
}
# Rows whose value goes into scripts: checked against netsh's own grammar when read.
_GRAMMAR = {
    "application id": ("appid", "a GUID like {4dc3e181-e14b-4a21-b022-59fc669b0914}"),
    "certificate store name": ("certstorename", "a certificate store name (letters, digits, _.-)"),
    "ctl store name": ("sslctlstorename", "a certificate store name (letters, digits, _.-)"),
}
_ON = {"enabled": True, "set": True, "disabled": False, "not set": False}
_NULL = "(null)"
_HEADER = "ssl certificate bindings:"


@dataclass
class _Block:
    kind: str
    endpoint: str
    line: int
    rows: list[tuple[str, str, int]] = field(default_factory=list)  # label, value, line
    extended: list[tuple[str, str]] = field(default_factory=list)


def looks_like_netsh(text: str) -> bool:
    head = text[:4096].casefold()
    return _HEADER in head or any(
        re.search(rf"^\s*{re.escape(label)}\s+:", head, re.MULTILINE) for label in _STARTS
    )


def parse_netsh_sslcert(
    data: bytes, path: str, warnings: list[LoadWarning] | None = None
) -> tuple[SslBinding, ...]:
    """Parse the whole output; an empty binding list is a valid answer (no binding exists).

    What a paste adds around the output is tolerated, each with a warning naming its line
    (appended to ``warnings``): the echoed command line (``C:\\>netsh http show sslcert``),
    prompts, ``...`` where rows were left out, and a trailing ``Ok.``.
    """
    text = decode_text(data, path)
    if not _has_start(text) and not _only_header(text):
        raise InputError(
            path,
            "no 'IP:port', 'Hostname:port' or 'Central Certificate Store' row: not English "
            "`netsh http show sslcert` output (for a localized Windows, export "
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\HTTP\\Parameters\\SslBindingInfo instead)",
        )
    notes = warnings if warnings is not None else []
    return tuple(_binding(block, path) for block in _blocks(text, path, notes))


def _has_start(text: str) -> bool:
    for line in text.splitlines():
        match = _ROW.match(line)
        if match and match["label"].casefold() in _STARTS:
            return True
    return False


def _only_header(text: str) -> bool:
    meaningful = [ln.strip() for ln in text.splitlines() if ln.strip()]
    rest = [ln for ln in meaningful if ln.casefold() != _HEADER and set(ln) != {"-"}]
    return bool(meaningful) and not rest


# What a paste adds: an echoed command (after a cmd or PowerShell prompt, or bare), a prompt
# alone, an elision, netsh's own "Ok." after a command.
_PASTE_EXTRA = (
    (re.compile(r"^(?:PS\s+)?(?:[A-Za-z]:\\[^>]*)?>\s*netsh\b.*$", re.I), "echoed command line"),
    (re.compile(r"^netsh(?:\.exe)?\s+http\s+show\s+sslcert\b.*$", re.I), "echoed command line"),
    (re.compile(r"^(?:PS\s+)?[A-Za-z]:\\[^>]*>\s*$"), "prompt"),
    (re.compile(r"^netsh(?:\s+http)?>.*$", re.I), "netsh prompt"),
    (re.compile(r"^(?:\.{3,}|…|\[\.\.\.\]|\(\.\.\.\))$"), "elision (rows left out)"),
    (re.compile(r"^Ok\.$", re.I), "netsh's 'Ok.'"),
)


def _paste_extra(line: str) -> str | None:
    for pattern, what in _PASTE_EXTRA:
        if pattern.match(line):
            return what
    return None


def _blocks(text: str, path: str, warnings: list[LoadWarning]) -> list[_Block]:
    blocks: list[_Block] = []
    in_extended = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.casefold() == _HEADER or set(line) == {"-"}:
            continue
        extra = _paste_extra(line)
        if extra is not None:
            warnings.append(
                LoadWarning(path, f"{extra} ignored: {visible(line[:60])!r}", f"line {number}")
            )
            continue
        if line.casefold() == "extended properties:":
            in_extended = _require_block(blocks, path, number) is not None
            continue
        match = _ROW.match(raw) or _ROW_TIGHT.match(raw)
        if not match:
            raise InputError(path, f"unexpected line {line[:60]!r}", f"line {number}")
        label, value = match["label"], match["value"]
        kind = _STARTS.get(label.casefold())
        if kind is not None:
            blocks.append(_Block(kind, value, number))
            in_extended = False
        elif in_extended:
            _require_block(blocks, path, number).extended.append((label, value))
        else:
            _require_block(blocks, path, number).rows.append((label, value, number))
    return blocks


def _require_block(blocks: list[_Block], path: str, number: int) -> _Block:
    if not blocks:
        raise InputError(path, "row before the first 'IP:port' row", f"line {number}")
    return blocks[-1]


def _binding(block: _Block, path: str) -> SslBinding:
    start = f"{path}:{block.line}"
    if not valid_endpoint(block.endpoint):
        reason = f"not a valid {_label_of(block.kind)} endpoint: {visible(block.endpoint[:60])!r}"
        raise InputError(path, reason, f"line {block.line}")
    binding = SslBinding(endpoint=block.endpoint, kind=block.kind, source=start)
    check_mode, flags = 0, 0
    # A row that is absent leaves the HTTP.sys default, not something the file said.
    check_source: str | None = None
    flag_source: str | None = None
    sources: list[tuple[str, str]] = [(_label_of(block.kind), start)]
    extra = [(f"Extended Properties: {k}", v) for k, v in block.extended]
    for label, value, number in block.rows:
        where = f"{path}:{number}"
        key = label.casefold()
        sources.append((label, where))
        if key in _CHECK_ROWS:
            bit, sets_when_on = _CHECK_ROWS[key]
            if _switch(value, path, number) == sets_when_on:
                check_mode |= bit
            if key == "verify client certificate revocation":
                check_source = where
        elif key in _FLAG_ROWS:
            if _switch(value, path, number):
                flags |= _FLAG_ROWS[key]
            if key == "negotiate client certificate":
                flag_source = where
        elif key in _TEXT_ROWS:
            binding = _text_row(binding, key, value, where, path, number)
        else:
            extra.append((label, value))
    newer = any(r[0].casefold() == "reject connections" for r in block.rows)
    field_set = "2016+" if newer else "2008 R2/2012"
    return replace(
        binding,
        cert_check_mode=Setting(check_mode, check_source),
        flags=Setting(flags, flag_source),
        field_sources=tuple(sources),
        extra=tuple(extra),
        reported_by=f"netsh http show sslcert ({field_set} field set)",
    )


def _label_case(key: str) -> str:
    return key[:1].upper() + key[1:]


def _label_of(kind: str) -> str:
    return {"ipport": "IP:port", "hostnameport": "Hostname:port"}.get(
        kind, "Central Certificate Store"
    )


def _switch(value: str, path: str, number: int) -> bool:
    state = _ON.get(value.casefold())
    if state is None:
        reason = f"expected Enabled, Disabled, Set or Not Set, not {value[:30]!r}"
        raise InputError(path, reason, f"line {number}")
    return state


def _text_row(
    binding: SslBinding, key: str, value: str, where: str, path: str, number: int
) -> SslBinding:
    text = None if value in (_NULL, "") else value
    grammar = _GRAMMAR.get(key)
    if text is not None and grammar and not valid_value(grammar[0], text):
        reason = f"{_label_case(key)} must be {grammar[1]}, not {visible(value[:60])!r}"
        raise InputError(path, reason, f"line {number}")
    if key == "certificate hash":
        if text is not None and not re.fullmatch(r"[0-9a-fA-F]{40}", text):
            reason = f"certificate hash must be 40 hex digits, not {value[:50]!r}"
            raise InputError(path, reason, f"line {number}")
        return replace(binding, cert_hash=text.upper() if text else None)
    if key == "application id":
        return replace(binding, app_id=text)
    if key == "certificate store name":
        return replace(binding, cert_store_name=text or "My")
    if key == "ctl identifier":
        return replace(binding, ctl_identifier=text)
    if key == "ctl store name":
        return replace(binding, ctl_store_name=Setting(text, where))
    if text is not None and not text.isdigit():
        raise InputError(path, f"expected a number, not {value[:30]!r}", f"line {number}")
    number_value = int(text) if text else 0
    if key == "revocation freshness time":
        return replace(binding, revocation_freshness_time=number_value)
    return replace(binding, url_retrieval_timeout=number_value)
