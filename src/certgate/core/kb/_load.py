"""Read the knowledge base from the TOML files shipped inside the package (``data/<family>.toml``).

The files hold words, not numbers: an HRESULT's value comes from ``codes.HRESULTS``, an alert's
number from ``codes.TLS_ALERTS``, a trust bit from ``codes.CERT_TRUST_*``, an OpenSSL code and its
messages from ``codes.X509_V_*``. Each family's binder below turns a table key into the code,
the canonical name, the value and the printed forms, and rejects keys the shared vocabulary
does not know. Reading package data is not user input (it ships with the program), so this
module may read it from the pure core.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from certgate.core.codes import (
    CERT_TRUST_ERRORS,
    CERT_TRUST_INFO,
    FAMILIES,
    HRESULTS,
    OPENSSL_ALERT_REASONS,
    TLS_ALERTS,
    WCF_TRACE_CODES,
    X509_V_ERRORS,
    X509_V_MESSAGES,
    CheckCode,
    GateCode,
    hresult_forms,
    kb_id,
    schannel_alert_error,
)
from certgate.core.kb._model import Confidence, Entry, LikelyCause, Reference

__all__ = ["load_entries", "parse_family"]

_ENTRY_KEYS = {
    "summary",
    "meaning",
    "causes",
    "fixes",
    "references",
    "related",
    "aliases",
    "messages",
    "confidence",
    "common",
}
_EXTRA_KEYS = {"dotnet": {"group", "value", "trust_bit"}}
_ALERT_NUMBERS = {name: number for number, name in TLS_ALERTS.items()}


@dataclass(frozen=True)
class _Bound:
    """What a family's binder derives from a table key (and its family-specific keys)."""

    code: str
    name: str
    value: int | None = None
    forms: tuple[tuple[str, str], ...] = ()
    aliases: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    group: str = ""
    related: tuple[str, ...] = ()


def load_entries() -> list[Entry]:
    """Every entry of every family, in family order then file order."""
    folder = resources.files(__package__).joinpath("data")
    entries: list[Entry] = []
    for family in FAMILIES:
        text = folder.joinpath(f"{family}.toml").read_text(encoding="utf-8")
        entries.extend(parse_family(family, tomllib.loads(text)))
    return entries


def parse_family(family: str, document: dict[str, Any]) -> Iterator[Entry]:
    """Entries of one family's document; ``ValueError`` names the first malformed entry."""
    if document.get("family") != family:
        raise ValueError(f"{family}.toml must start with family = {family!r}")
    default = Confidence(document.get("confidence", ""))
    for key, raw in document.items():
        if key in {"family", "confidence"}:
            continue
        if not isinstance(raw, dict):
            raise ValueError(f"{family}:{key} must be a table")
        try:
            yield _entry(family, key, raw, default)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{family}:{key}: {exc}") from exc


def _entry(family: str, key: str, raw: dict[str, Any], default: Confidence) -> Entry:
    unknown = set(raw) - _ENTRY_KEYS - _EXTRA_KEYS.get(family, set())
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    bound = _BINDERS[family](key, raw)
    confidence = Confidence(raw.get("confidence", default))
    return Entry(
        id=kb_id(family, bound.code),
        family=family,
        code=bound.code,
        name=bound.name,
        summary=_text(raw["summary"]),
        meaning=_text(raw["meaning"]),
        causes=tuple(_cause(item, confidence) for item in _list(raw["causes"], dict)),
        fixes=tuple(_text(fix) for fix in _list(raw["fixes"], str)),
        references=tuple(Reference.parse(r) for r in _list(raw["references"], str)),
        confidence=confidence,
        aliases=_unique(bound.aliases + _optional(raw, "aliases")),
        messages=_unique(bound.messages + _optional(raw, "messages")),
        related=_unique(_optional(raw, "related") + bound.related),
        value=bound.value,
        forms=bound.forms,
        group=bound.group,
        common=bool(raw.get("common", False)),
    )


def _cause(raw: dict[str, Any], default: Confidence) -> LikelyCause:
    unknown = set(raw) - {"text", "confirm", "confidence"}
    if unknown:
        raise ValueError(f"unknown cause keys {sorted(unknown)}")
    confidence = Confidence(raw.get("confidence", default))
    return LikelyCause(_text(raw["text"]), _text(raw["confirm"]), confidence)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a text field is empty or not a string")
    return " ".join(value.split())


def _list(value: Any, kind: type) -> list[Any]:
    if not isinstance(value, list) or not value or not all(isinstance(v, kind) for v in value):
        raise ValueError(f"expected a non-empty list of {kind.__name__}")
    return value


def _optional(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(_list(raw[key], str)) if key in raw else ()


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _hresult(key: str, raw: dict[str, Any]) -> _Bound:
    forms = hresult_forms(HRESULTS[key])
    printed: tuple[tuple[str, str], ...] = (
        ("hex", forms.hex),
        ("unsigned", str(forms.unsigned)),
        ("signed", str(forms.signed)),
        ("low word", forms.low_word),
    )
    if forms.win32_status != forms.unsigned:  # FACILITY_WIN32: what IIS logs (403 7 5)
        printed += (("sc-win32-status", str(forms.win32_status)),)
    return _Bound(key, key, forms.value, printed)


def _alert(key: str, raw: dict[str, Any]) -> _Bound:
    """Aliases: the name without _RESERVED, and OpenSSL's reason constant for the alert
    (``SSL_R_TLSV1_ALERT_UNKNOWN_CA``, ``TLSV1_ALERT_UNKNOWN_CA`` for "tlsv1 alert unknown ca")."""
    number = _ALERT_NUMBERS[key]
    reasons = OPENSSL_ALERT_REASONS.get(number, ())
    constants = [r.upper().replace(" ", "_") for r in reasons if not r.startswith("ssl/tls")]
    aliases = [key.removesuffix("_RESERVED")] if key.endswith("_RESERVED") else []
    aliases += [alias for c in constants for alias in (c, f"SSL_R_{c}")]
    forms: tuple[tuple[str, str], ...] = (("alert", str(number)),)
    related: tuple[str, ...] = ()
    windows = schannel_alert_error(number)
    if windows is not None:  # how a Windows peer reports receiving it [confirmed]
        forms += (("Windows receiver", f"{windows} (0x{HRESULTS[windows]:08X})"),)
        related = (kb_id("hresult", windows),)
    return _Bound(str(number), key, number, forms, tuple(aliases), reasons, related=related)


def _trust_bit(key: str, raw: dict[str, Any]) -> _Bound:
    group = "dwErrorStatus" if key in CERT_TRUST_ERRORS else "dwInfoStatus"
    value = CERT_TRUST_ERRORS.get(key, CERT_TRUST_INFO.get(key))
    if value is None:
        raise KeyError(f"{key} is not in codes.CERT_TRUST_ERRORS or CERT_TRUST_INFO")
    alias = key.removeprefix("CERT_TRUST_")
    return _Bound(key, key, value, (("bit", f"0x{value:X}"),), (alias,), group=group)


def _openssl(key: str, raw: dict[str, Any]) -> _Bound:
    if key.startswith("SSL_R_"):  # an SSL-layer reason ("certificate verify failed"), no number
        return _Bound(key, key, aliases=(key.removeprefix("SSL_R_"),))
    number = X509_V_ERRORS[key]
    aliases = (key.removeprefix("X509_V_ERR_"),) if key.startswith("X509_V_ERR_") else ()
    return _Bound(key, key, number, (("verify code", str(number)),), aliases, X509_V_MESSAGES[key])


def _wcf(key: str, raw: dict[str, Any]) -> _Bound:
    value = WCF_TRACE_CODES.get(key)
    if value is None:
        return _Bound(key, key)
    return _Bound(key, key, value, (("trace code", str(value)), ("hex", f"0x{value:X}")))


def _event(low: int, high: int) -> Callable[[str, dict[str, Any]], _Bound]:
    def bind(key: str, raw: dict[str, Any]) -> _Bound:
        if not key.isdigit() or not low <= int(key) <= high:
            raise ValueError(f"event id {key} is outside {low}-{high}")
        return _Bound(key, key, int(key), (("event id", key),))

    return bind


def _iis(key: str, raw: dict[str, Any]) -> _Bound:
    if re.fullmatch(r"httperr-[A-Za-z_]+", key):  # an HTTP.sys HTTPERR log reason
        return _Bound(key, key.removeprefix("httperr-"), forms=(("httperr", key[8:]),))
    if not re.fullmatch(r"[1-5]\d\d\.\d{1,3}", key):
        raise ValueError("an IIS code is status.substatus (e.g. 403.16) or httperr-<Reason>")
    return _Bound(key, key, forms=(("status", key), ("log", key.replace(".", " "))))


def _nginx(key: str, raw: dict[str, Any]) -> _Bound:
    if key.isdigit():
        return _Bound(key, key, int(key), (("status", key),))
    return _Bound(key, key)


def _apache(key: str, raw: dict[str, Any]) -> _Bound:
    if not re.fullmatch(r"AH\d{5}", key):
        raise ValueError("an Apache code is AH followed by five digits")
    return _Bound(key, key)


def _dotnet(key: str, raw: dict[str, Any]) -> _Bound:
    group = str(raw.get("group", ""))
    value: int | None = raw.get("value")
    if "trust_bit" in raw:  # X509ChainStatusFlags mirror the CERT_TRUST_* error bits
        value = CERT_TRUST_ERRORS[raw["trust_bit"]]
    if value is None:
        return _Bound(key, key, group=group)
    aliases = (f"{group}.{key}",) if group else ()
    return _Bound(key, key, int(value), (("value", str(value)),), aliases, group=group)


def _plain(key: str, raw: dict[str, Any]) -> _Bound:
    return _Bound(key, key)


def _certgate(key: str, raw: dict[str, Any]) -> _Bound:
    """A ``CheckCode`` (engines, checks) or a ``GateCode`` (``certgate serve``'s denials)."""
    enum: type[CheckCode] | type[GateCode] = CheckCode if key in _CHECK_CODES else GateCode
    code = enum(key)
    return _Bound(code.value, code.value, aliases=(code.name, f"{enum.__name__}.{code.name}"))


_CHECK_CODES = frozenset(c.value for c in CheckCode)


_BINDERS: dict[str, Callable[[str, dict[str, Any]], _Bound]] = {
    "hresult": _hresult,
    "iis": _iis,
    "wcf": _wcf,
    "schannel": _event(36864, 36999),
    "capi2": _event(1, 999),
    "cert-trust": _trust_bit,
    "tls-alert": _alert,
    "openssl": _openssl,
    "nginx": _nginx,
    "apache": _apache,
    "dotnet": _dotnet,
    "java": _plain,
    "certgate": _certgate,
}
