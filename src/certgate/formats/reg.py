"""Registry export files (``.reg``): what ``regedit`` and ``reg export`` write, and a writer.

``reg export`` and regedit write UTF-16LE with a BOM, headed ``Windows Registry Editor Version
5.00``; hand-made and older (``REGEDIT4``) files are UTF-8 or ANSI. Values are ``"name"="text"``,
``dword:0000000a``, ``hex:aa,bb`` (binary), ``hex(N):`` for other types (2 expand string,
7 multi string, b qword), ``-`` to delete; long hex values continue on the next line after
``\\``. Every value keeps its line so findings can cite ``schannel.reg:12``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from certgate.errors import InputError
from certgate.formats._text import decode_text

__all__ = ["RegFile", "RegKey", "RegType", "RegValue", "decode_text", "dump_reg", "parse_reg"]

HEADER_5 = "Windows Registry Editor Version 5.00"
HEADER_4 = "REGEDIT4"
_HIVES = {
    "hklm": "HKEY_LOCAL_MACHINE",
    "hkcu": "HKEY_CURRENT_USER",
    "hkcr": "HKEY_CLASSES_ROOT",
    "hku": "HKEY_USERS",
    "hkcc": "HKEY_CURRENT_CONFIG",
}
_HEX_TYPES = {
    0: "none",
    1: "sz",
    2: "expand_sz",
    3: "binary",
    4: "dword",
    7: "multi_sz",
    11: "qword",
}
_NAME = re.compile(r'^(@|"(?:[^"\\]|\\.)*")\s*=\s*(.*)$')


class RegType(StrEnum):
    SZ = "sz"
    EXPAND_SZ = "expand_sz"
    MULTI_SZ = "multi_sz"
    DWORD = "dword"
    QWORD = "qword"
    BINARY = "binary"
    NONE = "none"
    OTHER = "other"  # hex(N) with an N certgate does not interpret: data kept as bytes
    DELETE = "delete"


RegData = str | int | bytes | tuple[str, ...] | None


@dataclass(frozen=True)
class RegValue:
    name: str  # "" for the default value (@)
    type: RegType
    data: RegData
    line: int

    @property
    def type_name(self) -> str:
        return {"sz": "REG_SZ", "dword": "REG_DWORD", "binary": "REG_BINARY"}.get(
            self.type.value, f"REG_{self.type.value.upper()}"
        )


@dataclass(frozen=True)
class RegKey:
    path: str  # full path, hive spelled out: HKEY_LOCAL_MACHINE\SYSTEM\...
    values: tuple[RegValue, ...] = ()
    line: int = 0
    deleted: bool = False

    def value(self, name: str) -> RegValue | None:
        wanted = name.casefold()
        return next((v for v in self.values if v.name.casefold() == wanted), None)


@dataclass(frozen=True)
class RegFile:
    path: str
    keys: tuple[RegKey, ...]

    def under(self, prefix: str) -> Iterator[RegKey]:
        """Keys at or below ``prefix`` (case-insensitive, hive abbreviations accepted)."""
        wanted = normalize_key(prefix).casefold()
        for key in self.keys:
            folded = key.path.casefold()
            if folded == wanted or folded.startswith(wanted + "\\"):
                yield key


def normalize_key(path: str) -> str:
    path = path.strip().strip("\\")
    hive, sep, rest = path.partition("\\")
    hive = _HIVES.get(hive.casefold(), hive.upper())
    return f"{hive}{sep}{rest}"


def parse_reg(data: bytes, path: str) -> RegFile:
    """Parse a ``.reg`` export; anything malformed is an ``InputError`` naming the line."""
    lines = list(_logical_lines(decode_text(data, path)))
    if not lines or lines[0][1].strip() not in (HEADER_5, HEADER_4):
        raise InputError(
            path,
            f"not a .reg export: the first line must be {HEADER_5!r} or {HEADER_4!r}",
            "line 1",
        )
    unicode = lines[0][1].strip() == HEADER_5
    keys: list[RegKey] = []
    current: tuple[str, int, bool] | None = None
    values: list[RegValue] = []
    for number, text in lines[1:]:
        stripped = text.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.startswith("["):
            if current is not None:
                keys.append(RegKey(current[0], tuple(values), current[1], current[2]))
            current, values = _key_line(stripped, path, number), []
            continue
        if current is None:
            raise InputError(path, "value outside any [key]", f"line {number}")
        values.append(_value_line(stripped, path, number, unicode))
    if current is not None:
        keys.append(RegKey(current[0], tuple(values), current[1], current[2]))
    return RegFile(path, tuple(keys))


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Join ``\\``-continued lines; yield (first physical line number, text)."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = raw.rstrip()
        if line.endswith("\\") and not line.lstrip().startswith("["):
            pending.append(line[:-1].strip() if pending else line[:-1])
            continue
        pending.append(line.strip() if pending else line)
        yield start, "".join(pending)
        pending = []
    if pending:
        yield start, "".join(pending)


def _key_line(text: str, path: str, number: int) -> tuple[str, int, bool]:
    if not text.endswith("]") or len(text) < 3:
        raise InputError(path, "key line must be [HKEY_...\\path]", f"line {number}")
    inner = text[1:-1]
    deleted = inner.startswith("-")
    inner = inner[1:] if deleted else inner
    if not inner.upper().startswith("HKEY_") and inner.split("\\")[0].casefold() not in _HIVES:
        raise InputError(path, f"key {inner[:60]!r} does not start with a hive", f"line {number}")
    return normalize_key(inner), number, deleted


def _value_line(text: str, path: str, number: int, unicode: bool) -> RegValue:
    match = _NAME.match(text)
    if not match:
        raise InputError(path, f"not a value line: {text[:60]!r}", f"line {number}")
    raw_name, data = match.groups()
    name = "" if raw_name == "@" else _unescape(raw_name[1:-1])
    where = f"line {number}"
    try:
        kind, value = _value_data(data.strip(), unicode)
    except ValueError as exc:
        raise InputError(path, f"value {name or '@'!r}: {exc}", where) from exc
    return RegValue(name, kind, value, number)


def _value_data(data: str, unicode: bool) -> tuple[RegType, RegData]:
    if data == "-":
        return RegType.DELETE, None
    if data.startswith('"'):
        if len(data) < 2 or not data.endswith('"'):
            raise ValueError("string value without closing quote")
        return RegType.SZ, _unescape(data[1:-1])
    lowered = data.lower()
    if lowered.startswith("dword:"):
        digits = data[6:].strip()
        if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digits):
            raise ValueError(f"dword must be 1-8 hex digits, not {digits[:20]!r}")
        return RegType.DWORD, int(digits, 16)
    if lowered.startswith("hex"):
        return _hex_value(data, unicode)
    raise ValueError(f"unknown value data {data[:30]!r}")


def _hex_value(data: str, unicode: bool) -> tuple[RegType, RegData]:
    match = re.fullmatch(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:(.*)", data, re.IGNORECASE)
    if not match:
        raise ValueError(f"malformed hex value {data[:30]!r}")
    type_id = int(match.group(1), 16) if match.group(1) else 3
    body = match.group(2).replace(" ", "")
    octets = [o for o in body.split(",") if o]
    if any(not re.fullmatch(r"[0-9a-fA-F]{1,2}", o) for o in octets):
        raise ValueError("hex data must be comma-separated bytes")
    raw = bytes(int(o, 16) for o in octets)
    kind = _HEX_TYPES.get(type_id)
    if kind in ("sz", "expand_sz", "multi_sz"):
        text = raw.decode("utf-16-le" if unicode else "cp1252", errors="replace")
        if kind == "multi_sz":
            return RegType.MULTI_SZ, tuple(s for s in text.split("\x00") if s)
        return RegType(kind), text.split("\x00", 1)[0]
    if kind in ("dword", "qword"):
        size = 4 if kind == "dword" else 8
        if len(raw) != size:
            raise ValueError(f"hex({type_id:x}) needs {size} bytes, has {len(raw)}")
        return RegType(kind), int.from_bytes(raw, "little")
    if kind in ("binary", "none"):
        return RegType(kind), raw
    return RegType.OTHER, raw


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dump_reg(keys: Iterable[RegKey]) -> str:
    """Text as ``reg export`` writes it (encode as UTF-16 with BOM, CRLF, to match exactly)."""
    out = [HEADER_5, ""]
    for key in keys:
        out.append(f"[{key.path}]")
        out.extend(_dump_value(value) for value in key.values)
        out.append("")
    return "\r\n".join(out) + "\r\n"


def _dump_value(value: RegValue) -> str:
    name = "@" if value.name == "" else f'"{_escape(value.name)}"'
    data = value.data
    if value.type is RegType.DELETE:
        return f"{name}=-"
    if value.type is RegType.SZ and isinstance(data, str):
        return f'{name}="{_escape(data)}"'
    if value.type is RegType.DWORD and isinstance(data, int):
        return f"{name}=dword:{data:08x}"
    if value.type is RegType.QWORD and isinstance(data, int):
        return _hex_line(name, "hex(b)", data.to_bytes(8, "little"))
    if value.type is RegType.EXPAND_SZ and isinstance(data, str):
        return _hex_line(name, "hex(2)", (data + "\x00").encode("utf-16-le"))
    if value.type is RegType.MULTI_SZ and isinstance(data, tuple):
        text = "".join(s + "\x00" for s in data) + "\x00"
        return _hex_line(name, "hex(7)", text.encode("utf-16-le"))
    if isinstance(data, bytes):
        prefix = "hex" if value.type is RegType.BINARY else "hex(0)"
        return _hex_line(name, prefix, data)
    raise ValueError(f"cannot write {value.type.value} value {value.name!r}")


def _hex_line(name: str, prefix: str, data: bytes) -> str:
    """Wrap like regedit: lines of at most 80 characters, continued with ``\\``."""
    head = f"{name}={prefix}:"
    octets = [f"{b:02x}" for b in data]
    lines: list[str] = []
    line = head
    for index, octet in enumerate(octets):
        piece = octet + ("," if index < len(octets) - 1 else "")
        if len(line) + len(piece) > 77:
            lines.append(line + "\\")
            line = "  "
        line += piece
    lines.append(line)
    return "\r\n".join(lines)
