"""``physical-stores.json``: the bundle part that says which physical store(s) each certificate
of Root, CA and ClientAuthIssuer sits in (schema ``certgate.physical-stores/1``)::

    {
      "schema": "certgate.physical-stores/1",
      "stores": ["Root", "CA", "ClientAuthIssuer"],
      "certificates": [
        {"store": "Root", "thumbprint": "8F0B...", "physical": ["group-policy"]}
      ]
    }

``stores`` names the logical stores the collector examined: a certificate of such a store that
no entry lists is in none of the recorded physical stores; a store not named is "origin
unknown". Physical store names: registry, group-policy, enterprise, auth-root, smart-card.
Everything is validated; anything else is refused with the reason.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Literal, TypedDict

from certgate.core.physical import PhysicalStore, PhysicalStores
from certgate.core.stores import canonical_store_name
from certgate.errors import InputError

__all__ = ["PHYSICAL_FILE", "SCHEMA", "dump_physical_stores", "parse_physical_stores"]

SCHEMA: Final = "certgate.physical-stores/1"
PHYSICAL_FILE = "physical-stores.json"
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
_NAMES = {p.value: p for p in PhysicalStore}


def parse_physical_stores(data: bytes, name: str) -> PhysicalStores:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(name, f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InputError(name, "must be a JSON object")
    schema = document.get("schema")
    if schema != SCHEMA:
        raise InputError(name, f"schema {schema!r} is not {SCHEMA!r} (the one certgate reads)")
    stores = _list(document.get("stores"), name, "stores")
    entries = [
        _entry(item, name, i)
        for i, item in enumerate(_list(document.get("certificates"), name, "certificates"))
    ]
    try:
        names = [canonical_store_name(_text(s, name, "stores[]")) for s in stores]
    except ValueError as exc:
        raise InputError(name, f"stores: {exc}") from exc
    return PhysicalStores.build(names, entries, name)


def _entry(item: Any, name: str, index: int) -> tuple[str, str, list[PhysicalStore]]:
    where = f"certificates[{index}]"
    if not isinstance(item, dict):
        raise InputError(name, f"{where} must be an object")
    try:
        store = canonical_store_name(_text(item.get("store"), name, f"{where}.store"))
    except ValueError as exc:
        raise InputError(name, f"{where}.store: {exc}") from exc
    thumbprint = _text(item.get("thumbprint"), name, f"{where}.thumbprint")
    if not _THUMBPRINT.match(thumbprint):
        raise InputError(name, f"{where}.thumbprint {thumbprint!r} is not 40 hex digits")
    physical = []
    for value in _list(item.get("physical"), name, f"{where}.physical"):
        if value not in _NAMES:
            raise InputError(
                name, f"{where}.physical: {value!r} is not one of {', '.join(sorted(_NAMES))}"
            )
        physical.append(_NAMES[value])
    return store, thumbprint, physical


def _list(value: Any, name: str, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(name, f"{key} must be a list")
    return value


def _text(value: Any, name: str, key: str) -> str:
    if not isinstance(value, str):
        raise InputError(name, f"{key} must be a string")
    return value


class PlacedEntry(TypedDict):
    store: str
    thumbprint: str
    physical: list[PhysicalStore]  # written as their values: "registry", "group-policy", ...


class PhysicalStoresDocument(TypedDict):
    schema: Literal["certgate.physical-stores/1"]
    stores: list[str]
    certificates: list[PlacedEntry]


def physical_stores_document(physical: PhysicalStores) -> PhysicalStoresDocument:
    return {
        "schema": SCHEMA,
        "stores": list(physical.stores),
        "certificates": [
            {"store": store, "thumbprint": sha1, "physical": list(where)}
            for (store, sha1), where in sorted(physical.entries.items())
        ],
    }


def dump_physical_stores(physical: PhysicalStores) -> bytes:
    return (json.dumps(physical_stores_document(physical), indent=2) + "\n").encode()
