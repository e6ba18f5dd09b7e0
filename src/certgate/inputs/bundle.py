"""Read a *machine bundle*: a folder or zip describing one Windows machine's client-cert trust.

Layout (every part optional; what is missing is reported as unknown, Windows defaults assumed)::

    <bundle>/ or <bundle>.zip
      stores/<StoreName>.<ext>      certificates of one LocalMachine store: .sst, .p7b, .pem, .cer,
                                    .der, .crt, .pfx (certificates only); <StoreName>.<ext> at the
                                    top level and stores/<StoreName>/<any>.<ext> work too
      stores/<StoreName>.txt        a listing of that store when it could not be exported:
                                    Format-List * / Format-Table output, or certutil -store
      listings/<any>.txt            listings that name their store themselves (PSParentPath)
      schannel.reg                  reg export of ...\\SecurityProviders\\SCHANNEL; any *.reg at
                                    the top level or in registry/ is read (SslBindingInfo too)
      netsh-sslcert.txt             netsh http show sslcert (wins over SslBindingInfo .reg)
      applicationHost.config        or iis/applicationHost.config
      iis/sites/<Site>[/<app>]/web.config
      logs/...                      any logs; listed for `certgate logs` and the doctor
      manifest.json                 written by the collectors: host, time, steps that failed
      physical-stores.json          which physical store(s) (registry, group-policy, enterprise,
                                    ...) each certificate of Root, CA and ClientAuthIssuer sits
                                    in (certgate.physical-stores/1, docs/physical-stores.md);
                                    without it every origin is "origin unknown"
      settings.toml                 overrides, applied last: it wins over everything above

A zip is never extracted to disk: members are read in memory (size-capped) and names that
would escape the bundle (``..``, absolute paths) make the whole bundle refused.

``settings.toml`` is described in ``inputs/settings.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from certgate.core.iis import IisConfig
from certgate.core.stores import Machine, canonical_store_name
from certgate.core.unknowns import unknowns
from certgate.core.winver import parse_windows_version
from certgate.errors import InputError
from certgate.formats import Loaded, LoadWarning, PasswordPrompt, load_bytes
from certgate.formats._text import decode_text
from certgate.formats.iisconfig import looks_like_application_host, merge_iis, parse_iis_config
from certgate.formats.listings import looks_like_listing, parse_listing
from certgate.formats.netsh import looks_like_netsh, parse_netsh_sslcert
from certgate.formats.physical import PHYSICAL_FILE, parse_physical_stores
from certgate.formats.reg import parse_reg
from certgate.formats.regkeys import bindings_from_reg, has_bindings, schannel_from_reg
from certgate.inputs._files import BundleFile, list_bundle
from certgate.inputs.settings import apply_settings, key_lines

__all__ = [
    "BundleFile",
    "BundlePart",
    "LoadedMachine",
    "classify",
    "load_machine",
]

SETTINGS_FILE = "settings.toml"
NETSH_FILE = "netsh-sslcert.txt"
SCHANNEL_FILE = "schannel.reg"
MANIFEST_FILE = "manifest.json"
_STORE_SUFFIXES = {".sst", ".p7b", ".p7c", ".pem", ".crt", ".cer", ".der", ".pfx", ".p12"}
_LISTING_SUFFIXES = {".txt", ".list"}
# Kinds in the order they are applied: later ones refine or override earlier ones.
_ORDER = (
    "store",
    "listing",
    "text",
    "registry",
    "netsh",
    "iis",
    "webconfig",
    "settings",
    "physical",
)


@dataclass(frozen=True)
class BundlePart:
    """One file of the bundle and what became of it."""

    name: str
    kind: str  # store, listing, registry, netsh, iis, webconfig, settings, manifest, log, ignored
    status: str  # read, error, ignored
    detail: str = ""


@dataclass(frozen=True)
class LoadedMachine:
    machine: Machine
    loaded: Loaded  # certificates and warnings from the store files (and listings)
    logs: tuple[BundleFile, ...] = ()
    parts: tuple[BundlePart, ...] = ()
    errors: tuple[InputError, ...] = ()  # only when loaded with strict=False
    collected: tuple[tuple[str, str], ...] = ()  # manifest.json: what collected it, when
    path: str = ""
    format: str = ""  # folder, zip, file
    # settings.toml keys read: (source its values carry, e.g. "settings.toml [schannel]",
    # key, line), so provenance can name the line
    setting_lines: tuple[tuple[str, str, int], ...] = ()

    @property
    def warnings(self) -> tuple[LoadWarning, ...]:
        return self.loaded.warnings


def load_machine(
    path: str | Path,
    *,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
    strict: bool = True,
) -> LoadedMachine:
    """Read a bundle folder, zip or single exported file.

    ``strict`` (the default) raises the first unreadable part as ``InputError``; with
    ``strict=False`` every other part is still read and the errors are returned.
    """
    listing = list_bundle(Path(path))
    loader = _Loader(password, prompt, strict)
    classified = [_by_content(file, *classify(file.name)) for file in listing.files]
    if classified and all(kind == "ignored" for _, kind, _ in classified):
        raise InputError(str(path), _NOTHING_KNOWN[listing.format == "file"])
    for kind in _ORDER:
        for file, file_kind, argument in classified:
            if file_kind == kind:
                loader.part(file, kind, argument)
    for file, file_kind, _ in classified:
        if file_kind in ("log", "manifest", "ignored"):
            loader.other(file, file_kind)
    machine = loader.machine.noting(*unknowns(loader.machine))
    return LoadedMachine(
        machine,
        loader.loaded,
        tuple(loader.logs),
        tuple(loader.parts),
        tuple(loader.errors),
        loader.collected,
        str(path),
        listing.format,
        tuple(loader.setting_lines),
    )


_NOTHING_KNOWN = (
    "no machine bundle part in it (stores/<Store>.sst, schannel.reg, netsh-sslcert.txt, "
    "applicationHost.config, settings.toml, logs/...)",
    "not a machine bundle part: give a folder or .zip, or one exported part named like "
    "<Store>.sst, schannel.reg, netsh-sslcert.txt, applicationHost.config or settings.toml",
)


def _by_content(
    file: BundleFile, kind: str, argument: str | None
) -> tuple[BundleFile, str, str | None]:
    """A file the names did not place, recognised by content: an applicationHost.config
    saved under another name (``applicationHost (1).config``, ``apphost.xml``)."""
    if (kind in ("ignored", "text") and "/" not in file.name.strip("/")) or (
        kind == "ignored" and file.name.casefold().startswith("iis/")
    ):
        suffix = Path(file.name).suffix.casefold()
        if suffix in (".config", ".xml", ".txt") and file.size <= 64 << 20:
            try:
                if looks_like_application_host(file.read()):
                    return file, "iis", None
            except InputError:
                pass
    return file, kind, argument


def classify(name: str) -> tuple[str, str | None]:
    """(kind, argument) for a bundle-relative name: the store name, web.config's IIS path."""
    parts = name.split("/")
    top, leaf = parts[0].casefold(), parts[-1]
    suffix = Path(leaf).suffix.casefold()
    if len(parts) == 1:
        return _top_level(leaf, suffix)
    if top == "logs":
        return "log", None
    if top == "stores":
        if len(parts) == 3 and suffix in _STORE_SUFFIXES:
            return "store", parts[1]
        if len(parts) == 2 and suffix in _STORE_SUFFIXES:
            return "store", Path(leaf).stem
        if len(parts) == 2 and suffix in _LISTING_SUFFIXES:
            return "listing", Path(leaf).stem
    if top == "listings" and suffix in _LISTING_SUFFIXES:
        return "listing", None
    if top == "registry" and suffix == ".reg":
        return "registry", None
    if top == "iis" and len(parts) == 2 and leaf.casefold() == "applicationhost.config":
        return "iis", None
    in_sites = top == "iis" and len(parts) >= 4 and parts[1].casefold() == "sites"
    if in_sites and leaf.casefold() == "web.config":
        return "webconfig", "/".join(parts[2:-1])
    return "ignored", None


def _top_level(leaf: str, suffix: str) -> tuple[str, str | None]:
    folded = leaf.casefold()
    if folded == SETTINGS_FILE:
        return "settings", None
    if folded == MANIFEST_FILE:
        return "manifest", None
    if folded == NETSH_FILE:
        return "netsh", None
    if folded == PHYSICAL_FILE:
        return "physical", None
    if folded == "applicationhost.config":
        return "iis", None
    if suffix == ".reg":
        return "registry", None
    if suffix in _STORE_SUFFIXES:
        return "store", Path(leaf).stem
    if suffix in _LISTING_SUFFIXES:
        return "text", None  # netsh output or a listing: decided by content
    return "ignored", None


class _Loader:
    def __init__(self, password: bytes | None, prompt: PasswordPrompt | None, strict: bool) -> None:
        self.password = password
        self.prompt = prompt
        self.strict = strict
        self.machine = Machine()
        self.loaded = Loaded()
        self.logs: list[BundleFile] = []
        self.parts: list[BundlePart] = []
        self.errors: list[InputError] = []
        self.collected: tuple[tuple[str, str], ...] = ()
        self.iis: IisConfig | None = None
        self.netsh_seen = False
        self.setting_lines: list[tuple[str, str, int]] = []

    def part(self, file: BundleFile, kind: str, argument: str | None) -> None:
        try:
            detail = self._read(file, kind, argument)
        except InputError as error:
            # Parsers cite the bundle-relative name; the error names the real file.
            exc = (
                InputError(file.display, error.message, error.where)
                if (error.path == file.name)
                else error
            )
            if self.strict:
                raise exc from error
            self.errors.append(exc)
            self.parts.append(BundlePart(file.name, kind, "error", exc.diagnostics()))
            return
        self.parts.append(BundlePart(file.name, kind, "read", detail))

    def other(self, file: BundleFile, kind: str) -> None:
        if kind == "log":
            self.logs.append(file)
            self.parts.append(BundlePart(file.name, "log", "read", f"{file.size:,} bytes"))
        elif kind == "manifest":
            self.part(file, "manifest", None)
        else:
            self.parts.append(BundlePart(file.name, "ignored", "ignored", "not a bundle part"))

    def _read(self, file: BundleFile, kind: str, argument: str | None) -> str:
        data = file.read()
        if kind == "text":
            kind = self._sniff(file, data)
        reader = getattr(self, f"_{kind}")
        result: str = reader(file, data, argument)
        return result

    def _sniff(self, file: BundleFile, data: bytes) -> str:
        text = decode_text(data, file.display)
        if looks_like_netsh(text):
            return "netsh"
        if looks_like_listing(text):
            return "listing"
        raise InputError(file.display, "neither netsh http show sslcert output nor a listing")

    def _store(self, file: BundleFile, data: bytes, store: str | None) -> str:
        name = _store_name(store or "", file)
        part = load_bytes(data, file.name, password=self.password, prompt=self.prompt)
        self.machine = self.machine.adding(name, part.certificates)
        self.loaded += part
        return f"{len(part.certificates)} certificate(s) in {name}"

    def _listing(self, file: BundleFile, data: bytes, store: str | None) -> str:
        default = _store_name(store, file) if store else None
        listing = parse_listing(data, file.name, default)
        for store_name, cert in listing.recovered:
            self.machine = self.machine.adding(store_name, [cert])
        self.machine = self.machine.with_listed(listing.listed)
        self.loaded += Loaded(tuple(c for _, c in listing.recovered), warnings=listing.warnings)
        recovered = (
            f", {len(listing.recovered)} recovered whole from RawData" if listing.recovered else ""
        )
        return f"{listing.kind}: {len(listing.listed)} listed certificate(s){recovered}"

    def _registry(self, file: BundleFile, data: bytes, _: str | None) -> str:
        reg = parse_reg(data, file.name)
        before = self.machine.schannel
        schannel = schannel_from_reg(reg, before)
        self.machine = self.machine.with_schannel(schannel)
        found = ["SCHANNEL"] if schannel is not before else []
        if has_bindings(reg):
            found.append("SslBindingInfo")
            if not self.netsh_seen:
                self.machine = self.machine.with_bindings(bindings_from_reg(reg), file.name)
        return f"{len(reg.keys)} key(s): {', '.join(found) or 'nothing certgate reads'}"

    def _netsh(self, file: BundleFile, data: bytes, _: str | None) -> str:
        warnings: list[LoadWarning] = []
        bindings = parse_netsh_sslcert(data, file.name, warnings)
        self.loaded += Loaded(warnings=tuple(warnings))
        if self.machine.bindings_source and not self.netsh_seen:
            self.machine = self.machine.noting(
                f"bindings read from {file.name}; {self.machine.bindings_source} not used for them"
            )
            self.machine = replace(self.machine, bindings=(), bindings_source=None)
        self.netsh_seen = True
        self.machine = self.machine.with_bindings(self.machine.bindings + bindings, file.name)
        return f"{len(bindings)} binding(s)"

    def _iis(self, file: BundleFile, data: bytes, _: str | None) -> str:
        config = parse_iis_config(data, file.name)
        self.iis = merge_iis(self.iis, config)
        self.machine = self.machine.with_iis(self.iis)
        return f"{len(config.sites)} site(s), {len(config.locations)} configured path(s)"

    def _webconfig(self, file: BundleFile, data: bytes, base: str | None) -> str:
        config = parse_iis_config(data, file.name, base or "")
        self.iis = merge_iis(self.iis, config)
        self.machine = self.machine.with_iis(self.iis)
        return f"web.config for {base}: {len(config.locations)} configured path(s)"

    def _settings(self, file: BundleFile, data: bytes, _: str | None) -> str:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(file.display, f"not UTF-8 text: {exc.reason}") from exc
        self.machine = apply_settings(text, file.name, self.machine)
        self.setting_lines += [
            (f"{file.name} [{section}]", key, line)
            for (section, key), line in key_lines(text).items()
        ]
        return "overrides applied"

    def _physical(self, file: BundleFile, data: bytes, _: str | None) -> str:
        physical = parse_physical_stores(data, file.name)
        self.machine = replace(self.machine, physical=physical)
        return (
            f"physical stores of {len(physical.entries)} certificate(s) in "
            f"{', '.join(physical.stores) or 'no store'}"
        )

    def _manifest(self, file: BundleFile, data: bytes, _: str | None) -> str:
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(file.display, f"not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise InputError(file.display, "must be a JSON object")
        self.collected = tuple(
            (str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in document.items()
        )
        os_text = document.get("os")
        if isinstance(os_text, str) and self.machine.os_version.value is None:
            try:  # an unreadable version stays unknown: it is context, not a setting
                version = parse_windows_version(os_text)
            except ValueError:
                version = None
            if version is not None:
                self.machine = self.machine.with_os_version(version, f"{file.display} (os)")
        return f"collected by {document.get('collector', 'unknown')}"


def _store_name(name: str, file: BundleFile) -> str:
    try:
        return canonical_store_name(name)
    except ValueError as exc:
        raise InputError(file.display, f"file name is not a store name: {exc}") from exc
