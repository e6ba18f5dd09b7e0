"""Export registry keys with ``winreg`` into the same ``.reg`` text ``reg export`` writes, so a
collected bundle is read by exactly the parser that reads hand-made exports.

``winreg`` is passed in (the real module on Windows, a fake in tests): nothing here imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from certgate.formats.reg import RegKey, RegType, RegValue

__all__ = ["export_tree"]

_TYPES = {
    1: RegType.SZ,
    2: RegType.EXPAND_SZ,
    3: RegType.BINARY,
    4: RegType.DWORD,
    7: RegType.MULTI_SZ,
    11: RegType.QWORD,
}
MAX_KEYS = 5000


def export_tree(winreg: Any, path: str) -> list[RegKey]:
    """``HKEY_LOCAL_MACHINE\\<path>`` and every sub-key, values in registry order.

    Raises ``FileNotFoundError`` when the key does not exist (the caller records that).
    """
    keys: list[RegKey] = []
    for full, values in _walk(winreg, path):
        keys.append(RegKey(f"HKEY_LOCAL_MACHINE\\{full}", tuple(values)))
        if len(keys) > MAX_KEYS:
            raise OSError(f"more than {MAX_KEYS} keys under {path}: export stopped")
    return keys


def _walk(winreg: Any, path: str) -> Iterator[tuple[str, list[RegValue]]]:
    access = winreg.KEY_READ | getattr(winreg, "KEY_WOW64_64KEY", 0)
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path, 0, access) as handle:
        subkeys, count, _ = winreg.QueryInfoKey(handle)
        values = [_value(*winreg.EnumValue(handle, i)) for i in range(count)]
        names = [winreg.EnumKey(handle, i) for i in range(subkeys)]
    yield path, values
    for name in sorted(names, key=str.casefold):
        yield from _walk(winreg, f"{path}\\{name}")


def _value(name: str, data: Any, kind: int) -> RegValue:
    reg_type = _TYPES.get(kind, RegType.OTHER)
    if reg_type is RegType.MULTI_SZ:
        data = tuple(data or ())
    elif reg_type is RegType.OTHER:
        data = bytes(data or b"") if isinstance(data, (bytes, bytearray)) else str(data).encode()
        reg_type = RegType.BINARY
    elif reg_type is RegType.BINARY:
        data = bytes(data or b"")
    return RegValue(name, reg_type, data, 0)
