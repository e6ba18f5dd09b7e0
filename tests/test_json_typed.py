"""Each JSON document's TypedDict (what its builder returns, checked by mypy) and its checked-in
JSON Schema (docs/schemas/, what tests/test_json_schemas.py validates the output against) say
the same thing: the same keys, the same required keys, the same value types, all the way down.

After changing a TypedDict, ``python tests/test_json_typed.py --write`` rewrites the schemas
from the types (keeping each schema's title, description and any ``format``)."""

from __future__ import annotations

import enum
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, NotRequired, Required, TypedDict, Union, is_typeddict

import pytest

from certgate.core.gate.answers import DenialDocument
from certgate.fleet._documents import FleetDocument, FleetLogsDocument, ServerLine
from certgate.formats.physical import PhysicalStoresDocument
from certgate.gate.backends import IdentityDocument
from certgate.report.documents import (
    AuditDocument,
    DoctorDocument,
    ExplainDocument,
    ExplainListDocument,
    LogsDocument,
    MachineDocument,
    ProbeDocument,
    VerifyDocument,
)

SCHEMAS = Path(__file__).parents[1] / "docs" / "schemas"
DOCUMENTS: dict[str, Any] = {
    "audit-1.json": AuditDocument,
    "denial-1.json": DenialDocument,
    "doctor-1.json": DoctorDocument,
    "explain-1.json": ExplainDocument | ExplainListDocument,
    "fleet-1.json": FleetDocument,
    "fleet-logs-1.json": FleetLogsDocument,
    "fleet.server-1.json": ServerLine,
    "identity-1.json": IdentityDocument,
    "logs-1.json": LogsDocument,
    "machine-1.json": MachineDocument,
    "physical-stores-1.json": PhysicalStoresDocument,
    "probe-1.json": ProbeDocument,
    "verify-1.json": VerifyDocument,
}
# Words that describe rather than constrain: the schema may carry them, the types cannot.
_ANNOTATIONS = ("$schema", "$id", "title", "description", "format")
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def shape(tp: Any) -> dict[str, Any]:
    """The JSON Schema a type describes (draft 2020-12, no annotations), keys in the order
    the type declares them."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if is_typeddict(tp):
        # not __required_keys__: with postponed annotations Python 3.11 cannot see NotRequired
        hints = typing.get_type_hints(tp, include_extras=True)
        hints = dict(sorted(hints.items(), key=lambda kv: kv[0] != "schema"))  # schema first
        optional = {k for k, hint in hints.items() if typing.get_origin(hint) is NotRequired}
        assert not any(typing.get_origin(hint) is Required for hint in hints.values())
        assert tp.__total__, f"{tp.__name__}: mark the optional keys NotRequired instead"
        return {
            "type": "object",
            "properties": {key: shape(_bare(hint)) for key, hint in hints.items()},
            "required": [key for key in hints if key not in optional],
        }
    if origin in (Union, types.UnionType):
        return _union([shape(arg) for arg in args])
    if origin is Literal:
        return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
    if origin is list:
        return {"type": "array", "items": shape(args[0])}
    if origin is tuple:
        items = [shape(arg) for arg in args]
        size = len(items)
        return {"type": "array", "prefixItems": items, "minItems": size, "maxItems": size}
    if origin is dict:
        assert args[0] is str, f"JSON object keys are strings, not {args[0]}"
        return {"type": "object", "additionalProperties": shape(args[1])}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [member.value for member in tp]}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    raise AssertionError(f"no JSON shape for {tp!r}: give the TypedDict a concrete type")


def _bare(hint: Any) -> Any:
    return typing.get_args(hint)[0] if typing.get_origin(hint) is NotRequired else hint


def _union(options: list[dict[str, Any]]) -> dict[str, Any]:
    """``X | None`` as ``"type": [x, "null"]`` when X has one type; else ``anyOf``."""
    null = {"type": "null"}
    rest = [o for o in options if o != null]
    if len(rest) == 1 and isinstance(rest[0].get("type"), str) and null in options:
        return {**rest[0], "type": sorted([rest[0]["type"], "null"])}
    if all(set(o) == {"type"} and isinstance(o["type"], str) for o in options):
        return {"type": sorted(o["type"] for o in options)}
    return {"anyOf": options}


def normalised(node: Any) -> Any:
    """The schema without annotations, with order-free lists sorted."""
    if isinstance(node, list):
        return [normalised(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: normalised(value) for key, value in node.items() if key not in _ANNOTATIONS}
    if isinstance(node.get("properties"), dict):  # property names are names, not keywords
        out["properties"] = {k: normalised(v) for k, v in node["properties"].items()}
    for key in ("required", "enum"):
        if key in out:
            out[key] = sorted(out[key])
    if isinstance(out.get("type"), list):
        out["type"] = sorted(out["type"])
    return out


def differences(expected: Any, found: Any, where: str = "$") -> list[str]:
    """Where the schema (``found``) and the types (``expected``) part ways, one line each."""
    if isinstance(expected, dict) and isinstance(found, dict):
        lines = []
        for key in sorted(set(expected) | set(found)):
            if key not in found:
                lines.append(f"{where}: the schema lacks {key!r} (types: {expected[key]})")
            elif key not in expected:
                lines.append(f"{where}: the types lack {key!r} (schema: {found[key]})")
            else:
                lines += differences(expected[key], found[key], f"{where}.{key}")
        return lines
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [
            line
            for index, (e, f) in enumerate(zip(expected, found, strict=True))
            for line in differences(e, f, f"{where}[{index}]")
        ]
    return [] if expected == found else [f"{where}: types say {expected}, schema says {found}"]


def _schema(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return document


def test_every_schema_has_its_types() -> None:
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_types_and_schema_agree(name: str) -> None:
    lines = differences(normalised(shape(DOCUMENTS[name])), normalised(_schema(name)))
    assert not lines, f"{name} and its TypedDict differ:\n" + "\n".join(lines)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_schema_names_its_document(name: str) -> None:
    """The ``schema`` key's constant is the file's name (``certgate.<name>/<version>``)."""
    document, version = name.removesuffix(".json").rsplit("-", 1)
    identifier = f"certgate.{document}/{version}"
    schema = _schema(name)
    options = schema.get("anyOf", [schema])
    assert all(o["properties"]["schema"] == {"const": identifier} for o in options)
    assert schema["title"] == identifier


class Inner(TypedDict):
    a: int
    b: NotRequired[str | None]


class Outer(TypedDict):
    inner: Inner | None
    pairs: list[tuple[str, int]]
    counts: dict[str, float]
    kind: Literal["x", "y"]


def test_shape_reads_the_typing_forms_used() -> None:
    assert shape(Outer) == {
        "type": "object",
        "properties": {
            "inner": {
                "type": ["null", "object"],
                "properties": {"a": {"type": "integer"}, "b": {"type": ["null", "string"]}},
                "required": ["a"],
            },
            "pairs": {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "integer"}],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
            "counts": {"type": "object", "additionalProperties": {"type": "number"}},
            "kind": {"enum": ["x", "y"]},
        },
        "required": ["inner", "pairs", "counts", "kind"],
    }
    assert differences(shape(Inner), {**shape(Inner), "required": ["a", "b"]}) == [
        "$.required: types say ['a'], schema says ['a', 'b']"
    ]
    assert differences(shape(Inner), {"type": "object", "properties": {}}) == [
        "$.properties: the schema lacks 'a' (types: {'type': 'integer'})",
        "$.properties: the schema lacks 'b' (types: {'type': ['null', 'string']})",
        "$: the schema lacks 'required' (types: ['a'])",
    ]


# -- python tests/test_json_typed.py --write -----------------------------------------------


def _merged(new: Any, old: Any) -> Any:
    """``new`` with the annotations ``old`` had at the same place."""
    if not isinstance(new, dict):
        return new
    out = {k: old[k] for k in _ANNOTATIONS if isinstance(old, dict) and k in old}
    for key, value in new.items():
        before = old.get(key) if isinstance(old, dict) else None
        if key in ("properties", "additionalProperties", "items") and isinstance(value, dict):
            if key == "properties":
                out[key] = {k: _merged(v, (before or {}).get(k)) for k, v in value.items()}
            else:
                out[key] = _merged(value, before)
        elif key in ("anyOf", "prefixItems"):
            olds = before if isinstance(before, list) and len(before) == len(value) else []
            out[key] = [_merged(v, olds[i] if olds else None) for i, v in enumerate(value)]
        else:
            out[key] = value
    return out


def write_schemas() -> None:
    for name, tp in DOCUMENTS.items():
        text = json.dumps(_merged(shape(tp), _schema(name)), indent=2, ensure_ascii=False)
        (SCHEMAS / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_json_typed.py --write")
    write_schemas()
