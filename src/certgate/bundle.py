"""Read a *machine bundle*: a folder describing one Windows machine's client-cert trust.

Layout (every part optional; what is missing is reported as unknown, Windows defaults assumed)::

    <bundle>/
      Root.sst, CA.p7b, ClientAuthIssuer.pem, ...   one file per store, named after the store
      stores/<StoreName>.<ext>                        the same, in a sub-folder
      settings.toml                                   trust mode, issuer list, binding settings

``settings.toml``::

    [schannel]
    client_auth_trust_mode = 0          # ClientAuthTrustMode
    send_trusted_issuer_list = false    # SendTrustedIssuerList

    [binding]                           # the HTTP.sys binding being judged
    endpoint = "0.0.0.0:443"
    ctl_store_name = "ClientAuthIssuer" # sslctlstorename
    cert_check_mode = 0                 # DefaultCertCheckMode
    negotiate_client_cert = false       # clientcertnegotiation
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from certgate.core.settings import FLAG_NEGOTIATE_CLIENT_CERT, SchannelSettings, Setting, SslBinding
from certgate.core.stores import Machine, canonical_store_name
from certgate.errors import InputError
from certgate.formats import Loaded, LoadWarning, PasswordPrompt, load_file

__all__ = ["LoadedMachine", "load_machine", "parse_settings"]

SETTINGS_FILE = "settings.toml"
_STORE_SUFFIXES = {".sst", ".p7b", ".p7c", ".pem", ".crt", ".cer", ".der", ".pfx", ".p12"}


@dataclass(frozen=True)
class LoadedMachine:
    machine: Machine
    loaded: Loaded  # certificates and warnings from the store files

    @property
    def warnings(self) -> tuple[LoadWarning, ...]:
        return self.loaded.warnings


def load_machine(
    path: str | Path,
    *,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
) -> LoadedMachine:
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(str(path), "a machine bundle must be a folder")
    machine = Machine()
    loaded = Loaded()
    for store_name, file in _store_files(folder):
        part = load_file(file, password=password, prompt=prompt)
        machine = machine.adding(store_name, part.certificates)
        loaded += part
    settings = folder / SETTINGS_FILE
    if settings.is_file():
        machine = parse_settings(settings, machine)
    notes = list(machine.notes)
    if not machine.stores:
        notes.append("no store files found: every store is unknown")
    if machine.schannel.client_auth_trust_mode.is_default:
        notes.append("ClientAuthTrustMode not given: Windows default 0 (Machine Trust) assumed")
    return LoadedMachine(replace(machine, notes=tuple(notes)), loaded)


def _store_files(folder: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for directory in (folder, folder / "stores"):
        if not directory.is_dir():
            continue
        for file in sorted(directory.iterdir()):
            if file.is_file() and file.suffix.lower() in _STORE_SUFFIXES:
                try:
                    found.append((canonical_store_name(file.stem), file))
                except ValueError as exc:
                    raise InputError(str(file), f"file name is not a store name: {exc}") from exc
    return found


def parse_settings(path: Path, machine: Machine) -> Machine:
    """Apply ``settings.toml`` to ``machine``; unknown keys and bad values are errors."""
    name = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(name, f"not a readable settings file: {exc}") from exc
    unknown = set(document) - {"schannel", "binding"}
    if unknown:
        raise InputError(name, f"unknown section(s): {', '.join(sorted(unknown))}")
    schannel = _schannel(document.get("schannel", {}), name, machine.schannel)
    binding = _binding(document.get("binding", {}), name, machine.binding)
    return machine.with_schannel(schannel).with_bindings(
        (binding, *machine.bindings[1:]) if "binding" in document or machine.bindings else ()
    )


def _schannel(table: dict[str, Any], name: str, base: SchannelSettings) -> SchannelSettings:
    _only(table, {"client_auth_trust_mode", "send_trusted_issuer_list"}, name, "schannel")
    settings = base
    if "client_auth_trust_mode" in table:
        mode = table["client_auth_trust_mode"]
        if mode not in (0, 1, 2) or isinstance(mode, bool):
            raise InputError(name, f"client_auth_trust_mode must be 0, 1 or 2, not {mode!r}")
        settings = settings.with_trust_mode(mode, f"{name} [schannel]")
    if "send_trusted_issuer_list" in table:
        value = _bool(table["send_trusted_issuer_list"], name, "send_trusted_issuer_list")
        settings = settings.with_send_issuer_list(value, f"{name} [schannel]")
    return settings


def _binding(table: dict[str, Any], name: str, base: SslBinding) -> SslBinding:
    keys = {"endpoint", "ctl_store_name", "cert_check_mode", "negotiate_client_cert"}
    _only(table, keys, name, "binding")
    source = f"{name} [binding]"
    binding = replace(base, source=source)
    if "endpoint" in table:
        binding = replace(binding, endpoint=str(table["endpoint"]))
    if "ctl_store_name" in table:
        try:
            ctl = canonical_store_name(str(table["ctl_store_name"]))
        except ValueError as exc:
            raise InputError(name, f"ctl_store_name: {exc}") from exc
        binding = replace(binding, ctl_store_name=Setting(ctl, source))
    if "cert_check_mode" in table:
        mode = table["cert_check_mode"]
        if not isinstance(mode, int) or isinstance(mode, bool) or mode < 0:
            raise InputError(name, f"cert_check_mode must be a non-negative integer, not {mode!r}")
        binding = replace(binding, cert_check_mode=Setting(mode, source))
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
