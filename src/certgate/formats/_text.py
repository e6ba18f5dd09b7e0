"""Text as Windows tools write it: UTF-16LE + BOM (reg export, PowerShell 5 `>`), UTF-8, ANSI."""

from __future__ import annotations

from certgate.errors import InputError

__all__ = ["decode_text"]


def decode_text(data: bytes, path: str) -> str:
    """UTF-16 (with BOM), UTF-8 (with or without BOM), else Windows-1252 (REGEDIT4, ANSI)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(
                path, f"not valid UTF-16 text: {exc.reason}", f"byte {exc.start}"
            ) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:200]:
        try:
            return data.decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise InputError(
                path, "UTF-16 text without BOM is not valid", f"byte {exc.start}"
            ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
