"""``settings.toml``: overrides of what the exports say, applied last (bundle part or
``--settings``). Every value is checked when read; each key's line is known for provenance.

::

    [machine]
    os_version = "2019"                 # 2012, 2012r2, 2016, ..., win10, or a build 10.0.17763

    [schannel]
    client_auth_trust_mode = 0          # ClientAuthTrustMode
    send_trusted_issuer_list = false    # SendTrustedIssuerList

    [binding]                           # the HTTP.sys binding being judged (the first one)
    endpoint = "0.0.0.0:443"
    ctl_store_name = "ClientAuthIssuer" # sslctlstorename
    cert_check_mode = 0                 # DefaultCertCheckMode
    negotiate_client_cert = false       # clientcertnegotiation
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from certgate.core.changes import (
    ChangeError,
    SetCertCheckMode,
    SetCtlStore,
    SetSendIssuerList,
    SetTrustMode,
)
from certgate.core.settings import FLAG_NEGOTIATE_CLIENT_CERT, SchannelSettings, Setting, SslBinding
from certgate.core.stores import Machine
from certgate.core.winver import parse_windows_version
from certgate.errors import InputError
from certgate.formats.netsh_command import valid_endpoint

__all__ = ["SECTIONS", "apply_settings", "key_lines", "parse_settings"]

SECTIONS = ("machine", "schannel", "binding")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """``(section, key) -> line`` for the plain ``key = value`` lines of a settings file
    (the only shape its three flat tables take); read after ``apply_settings`` accepted it."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        if table := _TABLE.match(line):
            section = table.group(1)
        elif (key := _KEY.match(line)) and section:
            lines.setdefault((section, key.group(1)), number)
    return lines


def parse_settings(path: Path, machine: Machine) -> Machine:
    """Apply ``settings.toml`` to ``machine``; unknown keys and bad values are errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not a readable settings file: {exc}") from exc
    return apply_settings(text, str(path), machine)


def apply_settings(text: str, name: str, machine: Machine) -> Machine:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(name, f"not a readable settings file: {exc}") from exc
    unknown = set(document) - {"machine", "schannel", "binding"}
    if unknown:
        raise InputError(name, f"unknown section(s): {', '.join(sorted(unknown))}")
    for section in ("machine", "schannel", "binding"):
        if not isinstance(document.get(section, {}), dict):
            raise InputError(name, f"{section} must be a [{section}] table, not a value")
    schannel = _schannel(document.get("schannel", {}), name, machine.schannel)
    binding = _binding(document.get("binding", {}), name, machine.binding)
    bindings = (binding, *machine.bindings[1:]) if "binding" in document or machine.bindings else ()
    machine = _machine_table(document.get("machine", {}), name, machine)
    return replace(machine.with_schannel(schannel), bindings=bindings)


def _machine_table(table: dict[str, Any], name: str, machine: Machine) -> Machine:
    _only(table, {"os_version"}, name, "machine")
    if "os_version" not in table:
        return machine
    try:
        version = parse_windows_version(str(table["os_version"]))
    except ValueError as exc:
        raise InputError(name, f"os_version: {exc}") from exc
    return machine.with_os_version(version, f"{name} [machine]")


def _schannel(table: dict[str, Any], name: str, base: SchannelSettings) -> SchannelSettings:
    _only(table, {"client_auth_trust_mode", "send_trusted_issuer_list"}, name, "schannel")
    settings = base
    source = f"{name} [schannel]"
    if "client_auth_trust_mode" in table:
        try:
            trust = SetTrustMode(table["client_auth_trust_mode"], origin=source)
        except ChangeError as exc:
            raise InputError(name, f"client_auth_trust_mode {exc.problem}") from None
        settings = trust.schannel(settings)
    if "send_trusted_issuer_list" in table:
        value = _bool(table["send_trusted_issuer_list"], name, "send_trusted_issuer_list")
        settings = SetSendIssuerList(value, origin=source).schannel(settings)
    return settings


def _binding(table: dict[str, Any], name: str, base: SslBinding) -> SslBinding:
    keys = {"endpoint", "ctl_store_name", "cert_check_mode", "negotiate_client_cert"}
    _only(table, keys, name, "binding")
    source = f"{name} [binding]"
    binding = replace(base, source=source) if table else base
    if "endpoint" in table:
        endpoint = table["endpoint"]
        if not isinstance(endpoint, str) or not valid_endpoint(endpoint):
            raise InputError(
                name, f"endpoint must be IP:port, host:port or a port, not {endpoint!r}"
            )
        binding = replace(binding, endpoint=endpoint)
    if "ctl_store_name" in table:
        try:
            ctl = SetCtlStore(str(table["ctl_store_name"]), origin=source)
        except ValueError as exc:
            raise InputError(name, f"ctl_store_name: {exc}") from exc
        binding = ctl.binding(binding)
    if "cert_check_mode" in table:
        try:
            mode = SetCertCheckMode(table["cert_check_mode"], origin=source)
        except ChangeError as exc:
            raise InputError(name, f"cert_check_mode {exc.problem}") from None
        binding = mode.binding(binding)
    if "negotiate_client_cert" in table:
        on = _bool(table["negotiate_client_cert"], name, "negotiate_client_cert")
        flags = binding.flags.value | FLAG_NEGOTIATE_CLIENT_CERT
        flags = flags if on else flags & ~FLAG_NEGOTIATE_CLIENT_CERT
        binding = replace(binding, flags=Setting(flags, source))
    return binding


def _only(table: dict[str, Any], allowed: set[str], name: str, section: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise InputError(name, f"unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")


def _bool(value: Any, name: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(name, f"{key} must be true or false, not {value!r}")
    return value
