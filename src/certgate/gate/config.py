"""Read the gate's policy file (TOML) into a ``Policy``: all of it valid, or nothing.

Every problem in the file is collected and reported together (``PolicyError``); a policy is
never half-applied. Paths inside the file are relative to the file's folder.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certgate.core.changes import (
    Change,
    ChangeError,
    SetCtlStore,
    SetSendIssuerList,
    SetTrustMode,
)
from certgate.core.engines import ENGINES
from certgate.core.gate.mapping import MappingConfig
from certgate.core.gate.policy import (
    AnswerFormat,
    ClientCertMode,
    HintSource,
    Limits,
    Location,
    Policy,
)
from certgate.core.gate.request import Target, canonical_target
from certgate.core.names import Name
from certgate.core.stores import Machine, canonical_store_name
from certgate.errors import CertgateError
from certgate.formats import load_file
from certgate.gate._mapping_config import parse_mapping
from certgate.gate._reader import Reader
from certgate.inputs import Request, StoreFiles, load

__all__ = ["GateConfig", "LogSettings", "PolicyError", "load_crls", "load_policy", "parse_policy"]

_EKU_NAMES = {
    "clientauth": ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
    "serverauth": ExtendedKeyUsageOID.SERVER_AUTH.dotted_string,
    "emailprotection": ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string,
    "codesigning": ExtendedKeyUsageOID.CODE_SIGNING.dotted_string,
    "smartcardlogon": "1.3.6.1.4.1.311.20.2.2",
}
# IIS <access sslFlags> names (docs/windows-model.md#iis-access-sslflags) -> what the gate does with
# the certificate
_SSL_FLAGS = {"ssl", "sslnegotiatecert", "sslrequirecert", "sslmapcert", "ssl128", "none"}
MAX_DEPTH = 16  # tables and arrays nested in the policy (a real one needs 4)
MAX_POLICY_BYTES = 4 << 20
MIN_CRL_REFRESH = 10.0  # seconds: CRLs change in hours; a smaller value is a busy core
# [limits]: the inclusive range each value must lie in
_LIMIT_RANGES: dict[str, tuple[float, float]] = {
    "max_header_bytes": (1024, 1 << 20),
    "max_headers": (1, 10000),
    "max_body_bytes": (1, 1 << 40),
    "max_chain_certificates": (1, 100),
    "max_chain_bytes": (1024, 1 << 20),
    "client_max_pending": (1, 1000),
    "client_free_denials": (0, 1000),
    "slowed_max_connections": (1, 1000),
    "slowed_crowd": (1, 1 << 20),
}
_MAX_SECONDS = 86400.0


class PolicyError(CertgateError):
    """The policy file is invalid; ``errors`` lists every problem found."""

    def __init__(self, path: str, errors: list[str]) -> None:
        self.path = path
        self.errors = errors
        super().__init__(self.diagnostics())

    def diagnostics(self) -> str:
        if len(self.errors) == 1:
            return f"{self.path}: {self.errors[0]} (nothing applied)"
        lines = [f"{self.path}: {len(self.errors)} error(s) in the policy, nothing applied:"]
        return "\n".join([*lines, *(f"  - {e}" for e in self.errors)])


@dataclass(frozen=True)
class LogSettings:
    w3c_dir: Path | None = None  # u_exYYMMDD.log files, IIS W3C format
    svclog: Path | None = None  # WCF-style records for denials
    site: str = "W3SVC1"


@dataclass(frozen=True)
class GateConfig:
    policy: Policy
    logs: LogSettings = field(default_factory=LogSettings)
    crl_files: tuple[Path, ...] = ()


def load_policy(path: str | Path) -> GateConfig:
    """Read and check the policy file; ``PolicyError`` lists every problem. The log paths
    are checked on disk too (a directory, writable), so ``--check`` and start-up agree."""
    file = Path(path)
    try:
        if file.is_dir():
            raise PolicyError(str(file), ["is a directory, not a policy file"])
        if file.exists() and not file.is_file():
            raise PolicyError(str(file), ["is not a regular file (a FIFO or a device?)"])
        if file.exists() and file.stat().st_size > MAX_POLICY_BYTES:
            raise PolicyError(str(file), [f"is over {MAX_POLICY_BYTES >> 20} MiB: not a policy"])
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except RecursionError:
        raise PolicyError(str(file), [f"nested deeper than {MAX_DEPTH} levels"]) from None
    except FileNotFoundError as exc:
        raise PolicyError(str(file), ["no such file"]) from exc
    except OSError as exc:
        raise PolicyError(str(file), [f"cannot be read: {exc.strerror or exc}"]) from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(str(file), [f"not a readable TOML file: {exc}"]) from exc
    config = parse_policy(document, base=file.parent, source=str(file))
    problems = writable_logs(config.logs)
    if problems:
        raise PolicyError(str(file), problems)
    return config


def writable_logs(logs: LogSettings) -> list[str]:
    """Where the gate could not write its logs: each problem as ``logs.key: ...``."""
    problems = []
    for key, path, folder in (("w3c_dir", logs.w3c_dir, True), ("svclog", logs.svclog, False)):
        if path is None:
            continue
        if folder and path.exists() and not path.is_dir():
            problems.append(f"logs.{key}: {path} is a file, not a folder")
            continue
        if not folder and path.is_dir():
            problems.append(f"logs.{key}: {path} is a folder, not a file")
            continue
        if not folder and path.exists() and not os.access(path, os.W_OK):
            problems.append(f"logs.{key}: {path} is not writable")
            continue
        existing = path if folder and path.is_dir() else path.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            problems.append(f"logs.{key}: {existing} is not a folder")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"logs.{key}: {existing} is not writable")
    return problems


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest (iterative: a hostile file cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_policy(document: dict[str, Any], *, base: Path, source: str = "policy") -> GateConfig:
    if _depth(document) > MAX_DEPTH:
        raise PolicyError(source, [f"nested deeper than {MAX_DEPTH} levels"])
    reader = Reader(base)
    allowed = {
        "trust", "tls", "require", "mapping", "location", "limits", "answers", "logs",
        "forwarding",
    }  # fmt: skip
    for unknown in sorted(set(document) - allowed):
        reader.fail(unknown, "unknown section")
    machine, crl_files, trust = _trust(reader, document)
    tls = reader.table(document, "tls", {"versions", "hints", "hint_store"})
    mapping = parse_mapping(reader, document)
    policy_args: dict[str, Any] = {
        **trust,
        **_require(reader, document),
        "machine": machine,
        "crls": load_crls(crl_files, reader.fail),
        "mapping": mapping,
        "locations": _locations(reader, document, mapping),
        "limits": _limits(reader, document),
        "trusted_proxies": _trusted_proxies(reader, document),
        "hints": reader.choice(tls, "tls", "hints", HintSource, HintSource.WINDOWS),
        "hint_store": _store_name(reader, tls.get("hint_store"), "tls.hint_store"),
        "tls_versions": _versions(reader, tls),
        "answer_format": reader.choice(
            reader.table(document, "answers", {"format"}),
            "answers",
            "format",
            AnswerFormat,
            AnswerFormat.AUTO,
        ),
        "source": source,
    }
    logs = _logs(reader, document)
    _contradictions(reader, document)
    if reader.errors:
        raise PolicyError(source, reader.errors)
    try:
        policy = Policy(**policy_args)
    except ValueError as exc:
        raise PolicyError(source, [str(exc)]) from exc
    return GateConfig(policy, logs, tuple(crl_files))


def _trust(reader: Reader, document: dict[str, Any]) -> tuple[Machine, list[Path], dict[str, Any]]:
    keys = {
        "engine", "machine", "stores", "trust_mode", "send_trusted_issuer_list", "ctl_store",
        "crls", "crl_refresh", "require_revocation", "partial_chain",
    }  # fmt: skip
    table = reader.table(document, "trust", keys)
    engine = reader.get(table, "trust", "engine", str, "windows")
    if engine not in ENGINES:
        reader.fail("trust.engine", f"must be one of {', '.join(ENGINES)}, not {engine!r}")
        engine = "windows"
    machine = _machine(reader, table)
    crl_files = [reader.path(p) for p in reader.strings(table, "trust", "crls")]
    refresh = reader.get(table, "trust", "crl_refresh", float, 0.0)
    if refresh != 0 and not MIN_CRL_REFRESH <= refresh <= _MAX_SECONDS:
        reader.fail(
            "trust.crl_refresh",
            f"must be 0 (never) or {MIN_CRL_REFRESH:g} to {_MAX_SECONDS:g} seconds, not {refresh}",
        )
        refresh = 0.0
    options: dict[str, Any] = {
        "engine": engine,
        "crl_refresh": refresh,
        "require_revocation": reader.get(table, "trust", "require_revocation", bool, False),
        "partial_chain": reader.get(table, "trust", "partial_chain", bool, False),
    }
    return machine, crl_files, options


def _machine(reader: Reader, table: dict[str, Any]) -> Machine:
    """``[trust]``'s machine, stores and settings, read as one ``inputs.Request``: every
    unreadable file is reported under its key (the policy is refused, nothing applied)."""
    bundle = table.get("machine")
    stores = table.get("stores", {})
    if not isinstance(stores, dict):
        reader.fail("trust.stores", "must be a table of store name = [files]")
        stores = {}
    files: list[StoreFiles] = []
    keys: dict[str, str] = {}
    for name in stores:
        store = _store_name(reader, name, f"trust.stores.{name}")
        paths = tuple(str(reader.path(p)) for p in reader.strings(stores, "trust.stores", name))
        if store is not None:
            files.append(StoreFiles(store, paths))
            keys[store] = f"trust.stores.{name}"
    # The settings are read first but their problems listed after the files', in key order.
    problems = Reader(reader.base)
    request = Request(
        str(reader.path(str(bundle))) if bundle is not None else None,
        stores=tuple(files),
        changes=_settings(problems, table),
        collect=True,
    )
    loaded = load(request)
    for failure in loaded.failures:
        key = "trust.machine" if failure.input == "bundle" else keys[failure.input]
        reader.fail(key, failure.error.diagnostics())
    reader.errors += problems.errors
    return loaded.machine


def _settings(reader: Reader, table: dict[str, Any]) -> tuple[Change, ...]:
    source = "policy [trust]"
    changes: list[Change] = []
    if "trust_mode" in table:
        try:
            changes.append(SetTrustMode(table["trust_mode"], origin=source))
        except ChangeError as exc:
            reader.fail("trust.trust_mode", exc.problem)
    if "send_trusted_issuer_list" in table:
        send = reader.get(table, "trust", "send_trusted_issuer_list", bool, False)
        changes.append(SetSendIssuerList(send, origin=source))
    if "ctl_store" in table:
        ctl = _store_name(reader, table["ctl_store"], "trust.ctl_store")
        changes.append(SetCtlStore(ctl, origin=source))
    return tuple(changes)


def _store_name(reader: Reader, value: Any, where: str) -> str | None:
    if value is None:
        return None
    try:
        return canonical_store_name(str(value))
    except ValueError as exc:
        reader.fail(where, str(exc))
        return None


def load_crls(
    files: list[Path] | tuple[Path, ...], fail: Callable[[str, str], None]
) -> tuple[x509.CertificateRevocationList, ...]:
    crls: list[x509.CertificateRevocationList] = []
    for file in files:
        try:
            loaded = load_file(file)
        except CertgateError as exc:
            fail("trust.crls", exc.diagnostics())
            continue
        if not loaded.crls:
            fail("trust.crls", f"{file}: no CRL in this file")
        crls += loaded.crls
    return tuple(crls)


def _require(reader: Reader, document: dict[str, Any]) -> dict[str, Any]:
    table = reader.table(document, "require", {"eku", "issuers", "pins"})
    ekus = []
    for text in reader.strings(table, "require", "eku"):
        oid = _EKU_NAMES.get(text.lower(), text)
        if not all(part.isdigit() for part in oid.split(".")) or "." not in oid:
            reader.fail("require.eku", f"{text!r} is neither an OID nor a known EKU name")
        ekus.append(oid)
    issuers = []
    for text in reader.strings(table, "require", "issuers"):
        try:
            issuers.append(Name.from_cryptography(x509.Name.from_rfc4514_string(_dn(text))))
        except ValueError:
            reader.fail("require.issuers", f"{text!r} is not a distinguished name (CN=..., O=...)")
    pins = {_pin(reader, text) for text in reader.strings(table, "require", "pins")}
    return {
        "required_eku": tuple(ekus),
        "allowed_issuers": tuple(issuers),
        "pins": frozenset(p for p in pins if p),
    }


def _dn(text: str) -> str:
    """Windows shows ``CN=a, O=b``; RFC 4514 wants no blank after the comma."""
    return ",".join(part.strip() for part in text.split(","))


def _pin(reader: Reader, text: str) -> str:
    value = text.strip().removeprefix("sha256/").replace(":", "")
    if len(value) == 64:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return raw.hex()
    reader.fail("require.pins", f"{text!r} is not a SHA-256 (64 hex digits or base64)")
    return ""


def _locations(
    reader: Reader, document: dict[str, Any], mapping: MappingConfig
) -> tuple[Location, ...]:
    items = document.get("location", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        reader.fail("location", "must be an array of tables ([[location]])")
        return (Location("/"),)
    built = [_location(reader, item, f"location[{i}]", mapping) for i, item in enumerate(items)]
    paths = [loc.path for loc in built]
    for duplicate in sorted({p for p in paths if paths.count(p) > 1}):
        reader.fail("location", f"path {duplicate!r} is given twice")
    if not any(loc.path.rstrip("/") == "" for loc in built):
        built.append(Location("/", ClientCertMode.REQUIRE, mapping.enabled))
    return tuple(built)


def _location(reader: Reader, item: dict[str, Any], where: str, mapping: MappingConfig) -> Location:
    reader.only(item, where, {"path", "client_cert", "ssl_flags", "identity"})
    path = reader.get(item, where, "path", str, "/")
    if not path.startswith("/"):
        reader.fail(f"{where}.path", f"must start with /, not {path!r}")
    elif not _canonical_location(path):
        reader.fail(
            f"{where}.path",
            f"{path!r} is not a canonical path (no %, \\, ;, ?, #, control characters, empty,"
            " . or .. segments): requests are matched decoded and normalised",
        )
    mode = reader.choice(item, where, "client_cert", ClientCertMode, ClientCertMode.REQUIRE)
    if "ssl_flags" in item:
        if "client_cert" in item:
            reader.fail(where, "gives both client_cert and ssl_flags: give one")
        mode = _ssl_flags(reader, str(item["ssl_flags"]), f"{where}.ssl_flags")
    identity = reader.get(item, where, "identity", str, "required" if mapping.enabled else "none")
    if identity not in ("required", "optional", "none"):
        reader.fail(f"{where}.identity", f"must be required, optional or none, not {identity!r}")
    if identity == "required" and not mapping.enabled:
        reader.fail(f"{where}.identity", "required, but [mapping] is not enabled")
    if identity == "required" and mode is ClientCertMode.IGNORE and "identity" in item:
        reader.fail(f"{where}.identity", "required, but the location ignores certificates")
    return Location(path, mode, identity == "required")


def _canonical_location(path: str) -> bool:
    """Whether ``path`` is what a request's target becomes (``canonical_target``, the one
    definition of canonical): a location written any other way could never match."""
    found = canonical_target(path.encode("utf-8", "surrogatepass"))
    return isinstance(found, Target) and found.judged == path and not found.query


def _ssl_flags(reader: Reader, text: str, where: str) -> ClientCertMode:
    flags = {f.strip().lower() for f in text.split(",") if f.strip()}
    for unknown in sorted(flags - _SSL_FLAGS):
        reader.fail(where, f"unknown sslFlags value {unknown!r}")
    if "sslrequirecert" in flags:
        return ClientCertMode.REQUIRE
    return ClientCertMode.ACCEPT if "sslnegotiatecert" in flags else ClientCertMode.IGNORE


def _limits(reader: Reader, document: dict[str, Any]) -> Limits:
    """Sizes are integers within ``_LIMIT_RANGES``; timeouts finite seconds, > 0, <= a day."""
    defaults = Limits()
    names = list(defaults.__dataclass_fields__)
    table = reader.table(document, "limits", set(names))
    values: dict[str, Any] = {}
    for name in names:
        default = getattr(defaults, name)
        value = reader.get(table, "limits", name, type(default), default)
        low, high = _LIMIT_RANGES.get(name, (0.0, _MAX_SECONDS))
        if isinstance(value, float) and not (math.isfinite(value) and 0 < value <= high):
            reader.fail(
                f"limits.{name}", f"must be a number of seconds > 0 and <= {high:g}, not {value}"
            )
            value = default
        elif isinstance(value, int) and not low <= value <= high:
            reader.fail(f"limits.{name}", f"must be {int(low)} to {int(high)}, not {value}")
            value = default
        values[name] = value
    return Limits(**values)


def _contradictions(reader: Reader, document: dict[str, Any]) -> None:
    """Options that cannot all be meant: one of them would silently do nothing."""
    trust = document.get("trust") if isinstance(document.get("trust"), dict) else {}
    tls = document.get("tls") if isinstance(document.get("tls"), dict) else {}
    assert isinstance(trust, dict) and isinstance(tls, dict)
    engine = trust.get("engine", "windows")
    hints = tls.get("hints", "windows")
    if "hint_store" in tls and hints != "store":
        reader.fail("tls.hint_store", f'is used only with hints = "store", not {hints!r}')
    if "send_trusted_issuer_list" in trust and hints != "windows":
        reader.fail(
            "trust.send_trusted_issuer_list", f'is used only with hints = "windows", not {hints!r}'
        )
    if trust.get("crl_refresh") and not trust.get("crls"):
        reader.fail("trust.crl_refresh", "is set, but trust.crls names no CRL file")
    for key in ("trust_mode", "ctl_store"):
        if key in trust and engine in ENGINES and engine != "windows":
            reader.fail(f"trust.{key}", f"applies to the windows engine only, not {engine!r}")
    if trust.get("partial_chain") and engine != "openssl":
        reader.fail("trust.partial_chain", f"applies to the openssl engine only, not {engine!r}")


def _trusted_proxies(reader: Reader, document: dict[str, Any]) -> tuple[Any, ...]:
    table = reader.table(document, "forwarding", {"trusted_proxies"})
    networks = []
    for text in reader.strings(table, "forwarding", "trusted_proxies"):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            reader.fail("forwarding.trusted_proxies", f"{text!r} is not an address or network")
    return tuple(networks)


def _versions(reader: Reader, tls: dict[str, Any]) -> tuple[str, ...]:
    versions = reader.strings(tls, "tls", "versions") or ["1.2", "1.3"]
    for version in versions:
        if version not in ("1.2", "1.3"):
            reader.fail("tls.versions", f"{version!r}: only 1.2 and 1.3 are offered")
    return tuple(sorted(set(versions) & {"1.2", "1.3"})) or ("1.2", "1.3")


def _logs(reader: Reader, document: dict[str, Any]) -> LogSettings:
    table = reader.table(document, "logs", {"w3c_dir", "svclog", "site"})
    w3c = table.get("w3c_dir")
    svclog = table.get("svclog")
    return LogSettings(
        reader.path(str(w3c)) if w3c is not None else None,
        reader.path(str(svclog)) if svclog is not None else None,
        reader.get(table, "logs", "site", str, "W3SVC1"),
    )
