"""Typed access to a policy document's TOML tables, collecting every problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["Reader"]

T = TypeVar("T")


class Reader:
    """Typed access to the TOML tables; every problem is recorded, none stops the reading."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def table(self, doc: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, "must be a table")
            return {}
        for unknown in sorted(set(value) - allowed):
            self.fail(f"{key}.{unknown}", "unknown key")
        return value

    def only(self, item: dict[str, Any], where: str, allowed: set[str]) -> None:
        for unknown in sorted(set(item) - allowed):
            self.fail(f"{where}.{unknown}", "unknown key")

    def get(self, table: dict[str, Any], where: str, key: str, kind: type[T], default: T) -> T:
        value = table.get(key, default)
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if not ok:
            wanted = {
                "str": "a string",
                "bool": "true or false",
                "float": "a number",
                "int": "an integer",
            }
            self.fail(
                f"{where}.{key}",
                f"must be {wanted.get(kind.__name__, kind.__name__)}, not {value!r}",
            )
            return default
        checked: T = value
        return checked

    def strings(self, table: dict[str, Any], where: str, key: str) -> list[str]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where}.{key}", "must be a list of strings")
            return []
        return value

    def choice(
        self, table: dict[str, Any], where: str, key: str, enum: Callable[[str], T], default: T
    ) -> T:
        value = table.get(key)
        if value is None:
            return default
        try:
            chosen: T = enum(str(value))
        except (ValueError, KeyError):
            self.fail(f"{where}.{key}", f"{value!r} is not one of the allowed values")
            return default
        return chosen

    def path(self, text: str) -> Path:
        candidate = Path(text).expanduser()
        return candidate if candidate.is_absolute() else self.base / candidate
