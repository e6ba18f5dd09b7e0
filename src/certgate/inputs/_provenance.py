"""Where every setting and certificate of a loaded machine came from, as the user can find it:
the file (a bundle member as ``bundle.zip!stores/Root.sst``) and the line, registry value or
element (PEM block, SST element, PKCS#7 index) in it; a flag (``--trust-mode``), the policy
(``policy [trust]``) or ``default`` when nobody set it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certgate.core.model import Certificate
from certgate.core.settings import Setting
from certgate.inputs._load import LoadedInputs

__all__ = ["Origin", "provenance", "setting_origins"]

_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+)$")
_SECTION = re.compile(r"^(?P<file>.+) \[(?P<section>[a-z]+)\]$")


@dataclass(frozen=True)
class Origin:
    """One value and where it came from. ``file`` is empty for a default."""

    kind: str  # "setting" or "certificate"
    subject: (
        str  # "ClientAuthTrustMode", "binding 0.0.0.0:443 DefaultSslCtlStoreName", "Root <sha1>"
    )
    value: str
    file: str = ""
    place: str = ""  # "line 12", "PEM block 2, line 30", "element 3, byte 512"

    @property
    def source(self) -> str:
        """``file:line``, ``file#element``, the flag or ``default``."""
        if not self.file:
            return "default"
        if self.place.startswith("line ") and self.place[5:].isdigit():
            return f"{self.file}:{self.place[5:]}"
        return f"{self.file}#{self.place}" if self.place else self.file


def provenance(loaded: LoadedInputs) -> tuple[Origin, ...]:
    """Every setting (defaults included) and every certificate in a store, with its origin."""
    certificates = tuple(
        _certificate(loaded, store.name, cert)
        for store in loaded.machine.stores
        for cert in store.certificates
    )
    return (*setting_origins(loaded), *certificates)


def setting_origins(loaded: LoadedInputs) -> tuple[Origin, ...]:
    """The settings a judgement rests on: SCHANNEL, each binding's trust fields, the OS."""
    machine = loaded.machine
    s = machine.schannel
    rows: list[tuple[str, Setting[Any], str]] = [
        ("ClientAuthTrustMode", s.client_auth_trust_mode, "client_auth_trust_mode"),
        ("SendTrustedIssuerList", s.send_trusted_issuer_list, "send_trusted_issuer_list"),
        ("EventLogging", s.event_logging, ""),
        ("MessageLimitServerClientAuth", s.message_limit_server_client_auth, ""),
    ]
    for binding in machine.bindings or (machine.binding,):
        name = f"binding {binding.endpoint}"
        rows += [
            (f"{name} DefaultSslCertCheckMode", binding.cert_check_mode, "cert_check_mode"),
            (f"{name} DefaultSslCtlStoreName", binding.ctl_store_name, "ctl_store_name"),
            (f"{name} DefaultFlags", binding.flags, "negotiate_client_cert"),
        ]
    version = machine.os_version
    label = version.value.label if version.value is not None else None
    rows.append(("Windows version", Setting(label, version.source), "os_version"))
    return tuple(_setting(loaded, subject, setting, key) for subject, setting, key in rows)


def _setting(loaded: LoadedInputs, subject: str, setting: Setting[Any], key: str) -> Origin:
    value = "unknown" if setting.value is None else str(setting.value)
    source = setting.source
    if not source:
        return Origin("setting", subject, value)
    if line := _LINE.match(source):
        return Origin(
            "setting", subject, value, _file(loaded, line["file"]), f"line {line['line']}"
        )
    if _SECTION.match(source):
        for cited, toml_key, number in loaded.setting_lines:
            if cited == source and toml_key == key:
                file = _file(loaded, source.rpartition(" [")[0])
                return Origin("setting", subject, value, file, f"line {number}")
    return Origin("setting", subject, value, source)


def _certificate(loaded: LoadedInputs, store: str, cert: Certificate) -> Origin:
    name, hash_mark, where = cert.source.rpartition("#")
    if not hash_mark:
        name, where = cert.source, ""
    return Origin(
        "certificate", f"{store} {cert.sha1}", str(cert.subject), _file(loaded, name), where
    )


def _file(loaded: LoadedInputs, name: str) -> str:
    """A bundle member as the user finds it (``bundle.zip!stores/Root.sst``); else as cited."""
    bundle = loaded.bundle
    if bundle is None or not name or not any(part.name == name for part in bundle.parts):
        return name
    if bundle.format == "zip":
        return f"{bundle.path}!{name}"
    if bundle.format == "folder":
        return str(Path(bundle.path) / name)
    return bundle.path
