"""One request (what the user named) in, one loaded machine with its provenance out.

Every command and the gate describe their inputs as a ``Request`` and call ``load``; nothing
else turns user paths into a ``Machine``. Steps run in one order, each refining the last:
client certificates, the bundle, store files, the binding's CTL store file, this machine's own
stores, settings files, then typed changes (flags, the policy's ``[trust]``), then CRLs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from certgate.core.changes import Change, SetCtlStore
from certgate.core.model import Certificate
from certgate.core.settings import Setting
from certgate.core.stores import CA, Machine
from certgate.core.winver import WindowsVersion
from certgate.errors import InputError
from certgate.formats import Loaded, LoadWarning, PasswordPrompt, load_bytes, load_file, load_paths
from certgate.formats.iisconfig import looks_like_application_host, parse_iis_config
from certgate.formats.netsh import looks_like_netsh, parse_netsh_sslcert
from certgate.formats.reg import parse_reg
from certgate.formats.regkeys import bindings_from_reg, has_bindings, schannel_from_reg
from certgate.inputs._stores import StoreFiles, load_store, machine_from_loaded
from certgate.inputs.bundle import LoadedMachine, classify, load_machine
from certgate.inputs.settings import apply_settings, key_lines

__all__ = [
    "CTL_STORE",
    "MAX_STDIN",
    "ClientChain",
    "ClientFiles",
    "Failure",
    "LoadedInputs",
    "Request",
    "load",
]

CTL_STORE = "CTL"  # the store a --ctl file goes to when the binding names none
MAX_STDIN = 16 << 20  # a certificate chain on standard input, generously


@dataclass(frozen=True)
class ClientFiles:
    """A client's certificate file (``-``: standard input), leaf first, and more chain files."""

    cert: str
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    """Everything a command reads, as the user named it. Frozen; ``load`` reads it."""

    bundle: str | None = None  # a bundle folder, zip or one exported part
    stores: tuple[StoreFiles, ...] = ()
    ctl: str | None = None  # a file holding the binding's CTL store (sslctlstorename)
    system: bool = False  # this machine's own trust store(s)
    settings: tuple[str, ...] = ()  # settings.toml, .reg, netsh output, applicationHost.config
    clients: tuple[ClientFiles, ...] = ()
    crls: tuple[str, ...] = ()
    online_crls: bool = False  # fetch CRLs from the certificates' distribution points
    os_version: Setting[WindowsVersion] | None = None  # value and where it was given
    changes: tuple[Change, ...] = ()  # typed changes applied after everything is read
    bundle_strict: bool = True  # False: read every bundle part, failures in bundle.errors
    collect: bool = False  # True: every unreadable input is a Failure, none raises
    password: bytes | None = field(default=None, repr=False)
    prompt: PasswordPrompt | None = field(default=None, compare=False, repr=False)
    on_file: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    @property
    def paths(self) -> tuple[str, ...]:
        """Every file or folder named (standard input left out), in request order: what an
        output must never overwrite."""
        named = (
            self.bundle,
            *(path for files in self.stores for path in files.paths),
            self.ctl,
            *self.settings,
            *(path for client in self.clients for path in (client.cert, *client.chain)),
            *self.crls,
        )
        return tuple(path for path in named if path and path != "-")


@dataclass(frozen=True)
class ClientChain:
    """A client's certificate and the chain it sends (its own certificate left out)."""

    leaf: Certificate
    chain: tuple[Certificate, ...]
    path: str


@dataclass(frozen=True)
class Failure:
    """An input that could not be read (``Request.collect`` only): which input, and why."""

    input: str  # "bundle", a store name, "ctl", "settings", "client", "crl"
    error: InputError


@dataclass(frozen=True)
class LoadedInputs:
    """The machine the request describes, what else it named, and where each part came from
    (``certgate.inputs.provenance`` walks it)."""

    request: Request
    machine: Machine
    bundle: LoadedMachine | None = None
    clients: tuple[ClientChain, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    warnings: tuple[LoadWarning, ...] = ()
    failures: tuple[Failure, ...] = ()
    # settings.toml keys read: (source their values carry, key, line)
    setting_lines: tuple[tuple[str, str, int], ...] = ()


def load(request: Request) -> LoadedInputs:
    """Read everything ``request`` names. A bad input raises ``InputError`` naming the file
    (one line, exit 2 in the CLI) unless ``request.collect``."""
    return _Run(request).run()


class _Run:
    def __init__(self, request: Request) -> None:
        self.request = request
        self.warnings: list[LoadWarning] = []
        self.failures: list[Failure] = []
        self.lines: list[tuple[str, str, int]] = []

    def fail(self, what: str, error: InputError) -> None:
        if not self.request.collect:
            raise error
        self.failures.append(Failure(what, error))

    def run(self) -> LoadedInputs:
        request = self.request
        clients = tuple(c for c in map(self.client, request.clients) if c is not None)
        bundle = self.bundle()
        machine = bundle.machine if bundle else Machine()
        for files in request.stores:
            machine = self.store(machine, files)
        if request.ctl:
            name = machine.binding.ctl_store_name.value or CTL_STORE
            machine = self.store(machine, StoreFiles(name, (request.ctl,)), "ctl")
            machine = SetCtlStore(name, origin="--ctl").apply(machine)
        if request.system:
            from certgate.formats.system import load_system_stores

            system = load_system_stores()
            machine = machine_from_loaded(system, machine)
            for part in system.values():
                self.warnings += part.warnings
        for path in request.settings:
            try:
                machine = self.settings_file(Path(path), machine)
            except InputError as exc:
                self.fail("settings", exc)
        if request.os_version is not None:
            version = request.os_version
            machine = machine.with_os_version(version.value, version.source or "")
        for change in request.changes:
            machine = change.apply(machine)
        crls = self.crls(clients, machine)
        return LoadedInputs(
            request,
            machine,
            bundle,
            clients,
            crls,
            tuple(self.warnings),
            tuple(self.failures),
            (*(bundle.setting_lines if bundle else ()), *self.lines),
        )

    def client(self, files: ClientFiles) -> ClientChain | None:
        request = self.request
        try:
            if files.cert == "-":  # PEM or DER on standard input
                data = sys.stdin.buffer.read(MAX_STDIN + 1)
                if len(data) > MAX_STDIN:
                    raise InputError(
                        "<stdin>", f"more than {MAX_STDIN:,} bytes: not a certificate chain"
                    )
                loaded = load_bytes(data, "<stdin>", password=request.password)
            else:
                loaded = load_file(files.cert, password=request.password, prompt=request.prompt)
            if not loaded.certificates:
                raise InputError(files.cert, "no certificate in this file")
            leaf, *chain = loaded.certificates
            self.warnings += loaded.warnings
            if files.chain:
                extra = load_paths(files.chain, password=request.password, prompt=request.prompt)
                chain += extra.certificates
                self.warnings += extra.warnings
        except InputError as exc:
            self.fail("client", exc)
            return None
        unique = tuple(c for c in dict.fromkeys(chain) if c != leaf)
        return ClientChain(leaf, unique, files.cert)

    def bundle(self) -> LoadedMachine | None:
        request = self.request
        if not request.bundle:
            return None
        try:
            bundle = load_machine(
                request.bundle,
                password=request.password,
                prompt=request.prompt,
                strict=request.bundle_strict,
            )
        except InputError as exc:
            self.fail("bundle", exc)
            return None
        self.warnings += bundle.warnings
        return bundle

    def store(self, machine: Machine, files: StoreFiles, what: str = "") -> Machine:
        if not files.paths:
            return machine
        request = self.request
        loaded, errors = load_store(
            files,
            password=request.password,
            prompt=request.prompt,
            on_file=request.on_file,
            each=request.collect,
        )
        for error in errors:
            self.fail(what or files.store, error)
        self.warnings += loaded.warnings
        return machine.with_store(machine.store(files.store).adding(loaded.certificates))

    def settings_file(self, path: Path, machine: Machine) -> Machine:
        """A settings file, recognised as the bundle recognises its own parts."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
        kind, _ = classify(path.name)
        if kind == "iis" or looks_like_application_host(data):
            return machine.with_iis(parse_iis_config(data, str(path)))
        if kind == "settings":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(str(path), f"not UTF-8 text: {exc.reason}") from exc
            machine = apply_settings(text, str(path), machine)
            self.lines += [
                (f"{path} [{section}]", key, line)
                for (section, key), line in key_lines(text).items()
            ]
            return machine
        if kind == "registry":
            reg = parse_reg(data, str(path))
            machine = machine.with_schannel(schannel_from_reg(reg, machine.schannel))
            if has_bindings(reg):
                machine = machine.with_bindings(bindings_from_reg(reg), str(path))
            return machine
        if kind in ("netsh", "text") or looks_like_netsh(data.decode("utf-8", errors="replace")):
            warnings: list[LoadWarning] = []
            bindings = parse_netsh_sslcert(data, str(path), warnings)
            self.warnings += warnings
            return machine.with_bindings(bindings, str(path))
        raise InputError(
            str(path), "not settings.toml, a .reg export, netsh output or applicationHost.config"
        )

    def crls(
        self, clients: tuple[ClientChain, ...], machine: Machine
    ) -> tuple[x509.CertificateRevocationList, ...]:
        request = self.request
        loaded = Loaded()
        for path in request.crls:
            try:
                part = load_file(path, password=request.password, prompt=request.prompt)
                if not part.crls:
                    raise InputError(path, "no CRL in this file")
            except InputError as exc:
                self.fail("crl", exc)
                continue
            loaded += part
        crls = list(loaded.crls)
        self.warnings += loaded.warnings
        if request.online_crls:
            from certgate.net.revocation import fetch_crls

            certs = [c for client in clients for c in (client.leaf, *client.chain)]
            fetched = fetch_crls((*certs, *machine.store(CA)))
            crls += fetched.crls
            self.warnings += [LoadWarning("--online", text) for text in fetched.warnings]
        return tuple(crls)
