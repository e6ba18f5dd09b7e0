"""What a ``.reg`` export says about client-certificate trust: the SCHANNEL key and the HTTP.sys
``SslBindingInfo`` keys, each value cited as ``file:line``.

SCHANNEL (docs/windows-model.md#trust-modes, #send-trusted-issuer-list, #schannel-settings)
[confirmed value names]. SslBindingInfo value names (docs/windows-model.md#netsh-show-sslcert)
come from unofficial sources [unconfirmed]; bindings read from them say so.
A value Schannel would most likely ignore (wrong type, undocumented number, wrong key) is kept as
a *problem* with its line, never silently applied.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

from certgate.core.settings import (
    SCHANNEL_VALUE_NAMES,
    SchannelSettings,
    Setting,
    SslBinding,
    intended_value_name,
)
from certgate.core.visible import visible
from certgate.errors import InputError
from certgate.formats.netsh_command import valid_endpoint, valid_value
from certgate.formats.reg import RegFile, RegKey, RegType, RegValue

__all__ = [
    "SCHANNEL_KEY",
    "SSL_BINDING_KEYS",
    "bindings_from_reg",
    "has_bindings",
    "has_schannel",
    "schannel_from_reg",
]

SCHANNEL_KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
SSL_BINDING_KEYS = {
    "SslBindingInfo": "ipport",
    "SslSniBindingInfo": "hostnameport",
    "SslCcsBindingInfo": "ccs",
}
# CurrentControlSet in live exports; ControlSet001... in exports of an offline SYSTEM hive.
_SYSTEM = r"HKEY_LOCAL_MACHINE\\SYSTEM\\(?:CurrentControlSet|ControlSet\d{3})\\"
_SCHANNEL = re.compile(_SYSTEM + r"Control\\SecurityProviders\\SCHANNEL(\\.*)?$", re.IGNORECASE)
_BINDING = re.compile(
    _SYSTEM + r"Services\\HTTP\\Parameters\\(Ssl(?:Sni|Ccs)?BindingInfo)\\([^\\]+)$",
    re.IGNORECASE,
)
_MODES = {0: "Machine Trust", 1: "Exclusive Root Trust", 2: "Exclusive CA Trust"}


def schannel_from_reg(reg: RegFile, base: SchannelSettings | None = None) -> SchannelSettings:
    """Apply every SCHANNEL key in ``reg`` to ``base``; None-sourced values stay defaults."""
    settings = base or SchannelSettings()
    found = False
    for key in reg.keys:
        match = _SCHANNEL.match(key.path)
        if not match or key.deleted:
            continue
        found = True
        sub = (match.group(1) or "").strip("\\")
        if not sub:
            settings = _main_key(settings, key, reg.path)
        elif sub.casefold() == "messaging":
            settings = _messaging(settings, key, reg.path)
        elif sub.casefold().startswith("protocols\\") and sub.count("\\") == 2:
            settings = _protocol(settings, key, sub.split("\\")[1:], reg.path)
            settings = _misplaced(settings, key, reg.path)
        else:
            settings = _misplaced(settings, key, reg.path)
    return replace(settings, source=reg.path) if found else settings


def has_schannel(reg: RegFile) -> bool:
    return any(_SCHANNEL.match(k.path) for k in reg.keys)


def _cite(path: str, value: RegValue) -> str:
    return f"{path}:{value.line}"


_DWORD_VALUES = ("clientauthtrustmode", "sendtrustedissuerlist", "eventlogging")


def _main_key(settings: SchannelSettings, key: RegKey, path: str) -> SchannelSettings:
    for value in key.values:
        if value.type is RegType.DELETE:
            continue
        where = _cite(path, value)
        name = value.name.casefold()
        if name in _DWORD_VALUES and not isinstance(value.data, int):
            settings = _problem(
                settings,
                f"{value.name} is {value.type_name}, but Schannel reads a REG_DWORD: most likely "
                "ignored [inferred], so the default is assumed",
                where,
            )
        elif name in _DWORD_VALUES:
            settings = _dword_value(settings, value, where)
        elif (meant := intended_value_name(value.name)) is not None:
            settings = replace(
                settings, misspelled=(*settings.misspelled, Setting(value.name, where))
            )
            settings = _problem(
                settings,
                f"{value.name} is not a Schannel value (did you mean {meant}?); Windows ignores it",
                where,
            )
        else:
            settings = _other(settings, value, where)
    return settings


def _dword_value(settings: SchannelSettings, value: RegValue, where: str) -> SchannelSettings:
    number = value.data
    assert isinstance(number, int)
    name = value.name.casefold()
    if name == "sendtrustedissuerlist":
        return settings.with_send_issuer_list(bool(number), where)
    if name == "eventlogging":
        return replace(settings, event_logging=Setting(number, where))
    if number not in _MODES:
        return _problem(
            settings,
            f"ClientAuthTrustMode={number} is not a documented mode (0, 1, 2); what Windows does "
            "with it is unknown, so the default 0 is assumed here",
            where,
        )
    return settings.with_trust_mode(number, where)


def _problem(settings: SchannelSettings, text: str, where: str) -> SchannelSettings:
    return replace(settings, problems=(*settings.problems, Setting(text, where)))


def _other(settings: SchannelSettings, value: RegValue, where: str) -> SchannelSettings:
    entry = (value.name, Setting(_text(value), where))
    return replace(settings, other_values=(*settings.other_values, entry))


def _messaging(settings: SchannelSettings, key: RegKey, path: str) -> SchannelSettings:
    for value in key.values:
        where = _cite(path, value)
        if value.name.casefold() == "messagelimitserverclientauth" and isinstance(value.data, int):
            settings = replace(
                settings, message_limit_server_client_auth=Setting(value.data, where)
            )
        elif value.type is not RegType.DELETE:
            settings = _other(settings, replace(value, name=f"Messaging\\{value.name}"), where)
    return settings


def _protocol(
    settings: SchannelSettings, key: RegKey, parts: list[str], path: str
) -> SchannelSettings:
    protocol, side = parts
    if side.casefold() not in ("client", "server"):
        return settings
    current = settings.protocol(protocol, side)
    others = tuple(p for p in settings.protocols if p is not current)
    for value in key.values:
        if not isinstance(value.data, int) or value.type is not RegType.DWORD:
            continue
        where = _cite(path, value)
        if value.name.casefold() == "enabled":
            current = replace(current, enabled=Setting(value.data != 0, where))
        elif value.name.casefold() == "disabledbydefault":
            current = replace(current, disabled_by_default=Setting(value.data != 0, where))
    return replace(settings, protocols=(*others, current))


def _misplaced(settings: SchannelSettings, key: RegKey, path: str) -> SchannelSettings:
    """A trust value under a sub-key: Schannel reads it only from the SCHANNEL key itself."""
    for value in key.values:
        real = _real_name(value.name)
        if real:
            settings = _problem(
                settings,
                f"{real} is set under {key.path}, but Schannel reads it from {SCHANNEL_KEY}; "
                "here it has no effect",
                _cite(path, value),
            )
    return settings


def _real_name(name: str) -> str | None:
    folded = name.casefold()
    return next((real for real in SCHANNEL_VALUE_NAMES if real.casefold() == folded), None)


def _text(value: RegValue) -> str:
    data = value.data
    if isinstance(data, bytes):
        return "hex:" + data.hex(",")
    if isinstance(data, tuple):
        return " | ".join(data)
    if isinstance(data, int):
        return f"{data} (0x{data:x})"
    return "" if data is None else data


def has_bindings(reg: RegFile) -> bool:
    return any(_BINDING.match(k.path) for k in reg.keys)


def bindings_from_reg(reg: RegFile) -> tuple[SslBinding, ...]:
    """One binding per ``SslBindingInfo\\<endpoint>`` key (and the SNI / CCS variants)."""
    bindings: list[SslBinding] = []
    for key in reg.keys:
        match = _BINDING.match(key.path)
        if not match or key.deleted:
            continue
        parent, endpoint = match.groups()
        kind = next(v for k, v in SSL_BINDING_KEYS.items() if k.casefold() == parent.casefold())
        bindings.append(_binding(key, endpoint, kind, reg.path))
    return tuple(bindings)


def _store_name(data: str, where: str) -> str:
    """A store name goes into fix scripts: it must fit netsh's grammar (never a path)."""
    if data and not valid_value("certstorename", data):
        path, _, line = where.rpartition(":")
        reason = f"not a certificate store name: {visible(data[:60])!r}"
        raise InputError(path or where, reason, f"line {line}" if line.isdigit() else None)
    return data


def _binding(key: RegKey, endpoint: str, kind: str, path: str) -> SslBinding:
    if not valid_endpoint(endpoint):
        reason = f"not a valid binding endpoint: {visible(endpoint[:60])!r}"
        raise InputError(path, reason, f"line {key.line}")
    binding = SslBinding(
        endpoint=endpoint,
        kind=kind,
        source=f"{path}:{key.line}",
        reported_by="registry SslBindingInfo export (value names [unconfirmed])",
    )
    sources: list[tuple[str, str]] = []
    for value in key.values:
        where = _cite(path, value)
        sources.append((value.name, where))
        binding = _binding_value(binding, value, where)
    return replace(binding, field_sources=tuple(sources))


def _binding_value(binding: SslBinding, value: RegValue, where: str) -> SslBinding:
    name, data = value.name.casefold(), value.data
    if name == "sslcerthash" and isinstance(data, bytes):
        return replace(binding, cert_hash=data.hex().upper())
    if name == "appid" and isinstance(data, bytes) and len(data) == 16:
        return replace(binding, app_id="{" + str(uuid.UUID(bytes_le=data)) + "}")
    if name == "sslcertstorename" and isinstance(data, str):
        return replace(binding, cert_store_name=_store_name(data, where))
    if name == "defaultsslcertcheckmode" and isinstance(data, int):
        return replace(binding, cert_check_mode=Setting(data, where))
    if name == "defaultsslrevocationfreshnesstime" and isinstance(data, int):
        return replace(binding, revocation_freshness_time=data)
    if name == "defaultsslrevocationurlretrievaltimeout" and isinstance(data, int):
        return replace(binding, url_retrieval_timeout=data)
    if name == "defaultsslctlidentifier" and isinstance(data, str):
        return replace(binding, ctl_identifier=data or None)
    if name == "defaultsslctlstorename" and isinstance(data, str):
        return replace(binding, ctl_store_name=Setting(_store_name(data, where) or None, where))
    if name == "defaultflags" and isinstance(data, int):
        return replace(binding, flags=Setting(data, where))
    return replace(binding, extra=(*binding.extra, (value.name, _text(value))))
