"""The ``[mapping]`` section of the gate's policy: IIS one-to-one and many-to-one mappings,
and SAN rules."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any, TypeVar

from certgate.core.gate.mapping import (
    CertField,
    FieldRule,
    ManyToOne,
    MappingConfig,
    OneToOne,
    Permission,
    SanRule,
    SanType,
)
from certgate.core.names import SHORT_NAMES
from certgate.errors import CertgateError
from certgate.formats import load_file
from certgate.gate._reader import Reader

__all__ = ["parse_mapping"]

T = TypeVar("T")
_SUBFIELDS = {name.upper() for name in SHORT_NAMES.values()}
_OID = re.compile(r"OID\.[0-9]+(\.[0-9]+)+", re.IGNORECASE)


def parse_mapping(reader: Reader, document: dict[str, Any]) -> MappingConfig:
    keys = {"enabled", "one_to_one_enabled", "many_to_one_enabled", "one_to_one",
            "many_to_one", "san"}  # fmt: skip
    table = reader.table(document, "mapping", keys)
    return MappingConfig(
        enabled=reader.get(table, "mapping", "enabled", bool, bool(table)),
        one_to_one_enabled=reader.get(table, "mapping", "one_to_one_enabled", bool, True),
        many_to_one_enabled=reader.get(table, "mapping", "many_to_one_enabled", bool, True),
        one_to_one=tuple(_entries(reader, table, "one_to_one", _one_to_one)),
        many_to_one=tuple(_entries(reader, table, "many_to_one", _many_to_one)),
        san=tuple(_entries(reader, table, "san", _san_rule)),
    )


def _entries(
    reader: Reader,
    table: dict[str, Any],
    key: str,
    build: Callable[[Reader, dict[str, Any], str], T | None],
) -> list[T]:
    items = table.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        reader.fail(f"mapping.{key}", f"must be an array of tables ([[mapping.{key}]])")
        return []
    built = [build(reader, item, f"mapping.{key}[{i}]") for i, item in enumerate(items)]
    return [b for b in built if b is not None]


def _one_to_one(reader: Reader, item: dict[str, Any], where: str) -> OneToOne | None:
    reader.only(item, where, {"certificate", "file", "user", "enabled"})
    user = reader.get(item, where, "user", str, "")
    der = b""
    if "certificate" in item:
        try:
            der = base64.b64decode(str(item["certificate"]), validate=True)
        except (binascii.Error, ValueError):
            reader.fail(f"{where}.certificate", "must be the certificate's base64 DER, one line")
    elif "file" in item:
        try:
            loaded = load_file(reader.path(str(item["file"])))
            der = loaded.certificates[0].der if loaded.certificates else b""
        except CertgateError as exc:
            reader.fail(f"{where}.file", exc.diagnostics())
    if not der:
        reader.fail(where, "needs certificate (base64 DER) or file")
    if not user:
        reader.fail(f"{where}.user", "is required")
    enabled = reader.get(item, where, "enabled", bool, True)
    return OneToOne(der, user, enabled) if der and user else None


def _many_to_one(reader: Reader, item: dict[str, Any], where: str) -> ManyToOne | None:
    reader.only(item, where, {"name", "user", "permission", "enabled", "rules"})
    name = reader.get(item, where, "name", str, where)
    permission = reader.choice(item, where, "permission", _permission, Permission.ALLOW)
    user = reader.get(item, where, "user", str, "")
    if permission is Permission.ALLOW and not user:
        reader.fail(f"{where}.user", "is required for an Allow mapping")
    rules = item.get("rules", [])
    if not isinstance(rules, list) or not rules or not all(isinstance(r, dict) for r in rules):
        reader.fail(f"{where}.rules", "must be a non-empty array of rule tables")
        return None
    built = [_field_rule(reader, r, f"{where}.rules[{i}]") for i, r in enumerate(rules)]
    if any(r is None for r in built):
        return None
    enabled = reader.get(item, where, "enabled", bool, True)
    return ManyToOne(name, user, tuple(r for r in built if r), permission, enabled)


def _field_rule(reader: Reader, item: dict[str, Any], where: str) -> FieldRule | None:
    reader.only(item, where, {"field", "subfield", "match", "case_sensitive"})
    field_ = reader.choice(item, where, "field", _cert_field, None)
    subfield = reader.get(item, where, "subfield", str, "")
    match = reader.get(item, where, "match", str, "")
    if field_ is None or not subfield or not match:
        if "field" not in item or not subfield or not match:  # a bad field is already said
            reader.fail(where, "needs field (Subject|Issuer), subfield (CN, OU, ...) and match")
        return None
    if subfield.upper() not in _SUBFIELDS and not _OID.fullmatch(subfield):
        reader.fail(
            f"{where}.subfield",
            f"{subfield!r} is not a name attribute Windows prints (CN, OU, O, L, S, C, E, ...)",
        )
        return None
    case = reader.get(item, where, "case_sensitive", bool, True)
    return FieldRule(field_, subfield, match, case)


def _san_rule(reader: Reader, item: dict[str, Any], where: str) -> SanRule | None:
    keys = {"name", "type", "match", "user", "permission", "case_sensitive", "enabled"}
    reader.only(item, where, keys)
    kind = reader.choice(item, where, "type", lambda v: SanType(v.lower()), None)
    match = reader.get(item, where, "match", str, "")
    if kind is None or not match:
        reader.fail(where, "needs type (uri, spiffe, dns, email, upn) and match")
        return None
    user = item.get("user")
    return SanRule(
        reader.get(item, where, "name", str, where),
        kind,
        match,
        str(user) if user is not None else None,
        reader.choice(item, where, "permission", _permission, Permission.ALLOW),
        reader.get(item, where, "case_sensitive", bool, False),
        reader.get(item, where, "enabled", bool, True),
    )


def _permission(value: str) -> Permission:
    known = {"allow": Permission.ALLOW, "deny": Permission.DENY}
    if value.lower() not in known:
        raise ValueError(value)
    return known[value.lower()]


def _cert_field(value: str) -> CertField:
    known = {"subject": CertField.SUBJECT, "issuer": CertField.ISSUER}
    if value.lower() not in known:
        raise ValueError(value)
    return known[value.lower()]
