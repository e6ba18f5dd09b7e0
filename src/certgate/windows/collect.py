"""``certgate collect --out bundle.zip`` on the Windows server: write a machine bundle.

Layout as ``certgate.inputs.bundle`` reads it: ``stores/<name>.sst`` for every LocalMachine
system store (custom CTL stores included; certificates and friendly names only, never keys),
``schannel.reg`` and ``http-sslbindings.reg`` (winreg, written as ``reg export`` would),
``netsh-sslcert.txt``, ``applicationHost.config`` and each site's ``web.config`` (every secret
blanked in place by ``windows.redact``), recent IIS and HTTPERR logs and Schannel/CAPI2 events
under ``logs/``, and ``manifest.json`` saying what each step did and what was redacted (file,
line, which value). A failing step is recorded, never fatal. The zip is written to a temporary
name and renamed, so no half bundle is ever left behind.

Everything Windows-specific comes in through ``WindowsHost``: the real one is built by
``windows_host()`` on Windows; tests pass fakes.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from certgate.core.physical import COLLECTED_STORES, PHYSICAL_STORE_KEYS, PhysicalStores
from certgate.errors import OutputError
from certgate.formats.iisconfig import parse_iis_config
from certgate.formats.physical import PHYSICAL_FILE, dump_physical_stores
from certgate.formats.reg import dump_reg
from certgate.formats.sst import dump_sst
from certgate.output import output_mode, reason
from certgate.windows.redact import Redaction, redact_config
from certgate.windows.winreg_export import export_tree

__all__ = ["CollectStep", "StoreReader", "WindowsHost", "collect_bundle"]

SCHANNEL_PATH = r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
HTTP_PATHS = tuple(
    rf"SYSTEM\CurrentControlSet\Services\HTTP\Parameters\{name}"
    for name in ("SslBindingInfo", "SslSniBindingInfo", "SslCcsBindingInfo")
)
MAX_LOG_BYTES = 200 * 1024 * 1024
_OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
BUNDLE_FORMAT = 2  # 2: physical-stores.json (docs/physical-stores.md)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9 _.\-]")
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


class StoreReader(Protocol):
    def names(self) -> list[str]: ...

    def certificates(self, name: str) -> list[tuple[bytes, str | None]]: ...


@dataclass
class WindowsHost:
    stores: StoreReader
    winreg: Any
    run: Callable[[Sequence[str]], bytes]  # a command's stdout; raises OSError on failure
    windir: Path
    system_drive: Path
    hostname: str
    os_version: str
    env: dict[str, str] = field(default_factory=dict)  # for %VAR% in IIS physical paths


@dataclass(frozen=True)
class CollectStep:
    name: str
    status: str  # ok, missing, failed
    detail: str = ""


class _Zip:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.steps: list[CollectStep] = []
        self.redactions: list[Redaction] = []

    def add(self, name: str, data: bytes) -> None:
        self.archive.writestr(name, data)

    def add_config(self, name: str, data: bytes) -> bytes:
        """Add IIS configuration with its secrets blanked; returns what was written."""
        redacted, redactions = redact_config(data, name)
        self.archive.writestr(name, redacted)
        self.redactions += redactions
        return redacted

    def step(self, name: str, action: Callable[[], str]) -> None:
        try:
            detail = action()
        except FileNotFoundError as exc:
            self.steps.append(CollectStep(name, "missing", str(exc)))
        except OSError as exc:
            if exc.errno in _OUT_OF_SPACE:  # the bundle cannot be written: no bundle at all
                raise
            self.steps.append(CollectStep(name, "failed", f"{type(exc).__name__}: {exc}"))
        except ValueError as exc:
            self.steps.append(CollectStep(name, "failed", f"{type(exc).__name__}: {exc}"))
        else:
            self.steps.append(CollectStep(name, "ok", detail))


def collect_bundle(
    host: WindowsHost, out: Path, *, now: datetime, log_days: int = 7, version: str = ""
) -> list[CollectStep]:
    """Write the bundle zip to ``out``; return what each step did."""
    out = out.resolve()
    try:
        handle, temporary = tempfile.mkstemp(prefix=".certgate-", suffix=".zip", dir=out.parent)
    except OSError as exc:
        raise OutputError(str(out), reason(exc)) from exc
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            bundle = _Zip(archive)
            _collect(bundle, host, now, log_days)
            manifest = {
                "collector": f"certgate {version} (python)".replace("  ", " "),
                "host": host.hostname,
                "os": host.os_version,
                "collected_at": now.isoformat(),
                "bundle_format": BUNDLE_FORMAT,
                "steps": [s.__dict__ for s in bundle.steps],
                "redacted": [r.to_dict() for r in bundle.redactions],
            }
            bundle.add("manifest.json", json.dumps(manifest, indent=2).encode())
        Path(temporary).chmod(output_mode())
        Path(temporary).replace(out)
    except OSError as exc:
        raise OutputError(str(out), reason(exc)) from exc
    finally:
        Path(temporary).unlink(missing_ok=True)
    return bundle.steps


def _collect(bundle: _Zip, host: WindowsHost, now: datetime, log_days: int) -> None:
    bundle.step("stores", lambda: _stores(bundle, host))
    bundle.step(PHYSICAL_FILE, lambda: _physical(bundle, host))
    bundle.step("schannel.reg", lambda: _export_reg(bundle, host, "schannel.reg", [SCHANNEL_PATH]))
    bundle.step(
        "http-sslbindings.reg",
        lambda: _export_reg(bundle, host, "http-sslbindings.reg", HTTP_PATHS),
    )
    bundle.step("netsh-sslcert.txt", lambda: _netsh(bundle, host))
    config: list[bytes] = []
    bundle.step("applicationHost.config", lambda: _iis(bundle, host, config))
    bundle.step("web.config", lambda: _web_configs(bundle, host, config))
    since = now - timedelta(days=log_days)
    bundle.step("logs", lambda: _logs(bundle, host, config, since))
    bundle.step("events", lambda: _events(bundle, host))


def _stores(bundle: _Zip, host: WindowsHost) -> str:
    counts = []
    for name in host.stores.names():
        if _SAFE_NAME.search(name):
            counts.append(f"{name}: skipped (name not usable as a file name)")
            continue
        try:
            certificates = host.stores.certificates(name)
        except OSError as exc:
            counts.append(f"{name}: {exc}")
            continue
        bundle.add(f"stores/{name}.sst", dump_sst(certificates))
        counts.append(f"{name}: {len(certificates)}")
    return "; ".join(counts)


def _physical(bundle: _Zip, host: WindowsHost) -> str:
    """Which physical store each certificate of Root, CA and ClientAuthIssuer sits in: the
    sub-keys (SHA-1 thumbprints) of each physical store's registry key."""
    entries = []
    for (store, physical), key in PHYSICAL_STORE_KEYS.items():
        path = key.removeprefix("HKEY_LOCAL_MACHINE\\")
        access = host.winreg.KEY_READ | getattr(host.winreg, "KEY_WOW64_64KEY", 0)
        try:
            with host.winreg.OpenKey(host.winreg.HKEY_LOCAL_MACHINE, path, 0, access) as handle:
                count = host.winreg.QueryInfoKey(handle)[0]
                names = [host.winreg.EnumKey(handle, i) for i in range(count)]
        except FileNotFoundError:
            continue
        entries += [(store, name, (physical,)) for name in names if _THUMBPRINT.match(name)]
    physical_stores = PhysicalStores.build(COLLECTED_STORES, entries)
    bundle.add(PHYSICAL_FILE, dump_physical_stores(physical_stores))
    return f"{len(physical_stores.entries)} certificate(s) placed"


def _export_reg(bundle: _Zip, host: WindowsHost, file: str, paths: Sequence[str]) -> str:
    keys = []
    for path in paths:
        try:
            keys.extend(export_tree(host.winreg, path))
        except FileNotFoundError:
            continue
    if not keys:
        raise FileNotFoundError(f"none of {', '.join(paths)} exists")
    bundle.add(file, b"\xff\xfe" + dump_reg(keys).encode("utf-16-le"))
    return f"{len(keys)} key(s)"


def _netsh(bundle: _Zip, host: WindowsHost) -> str:
    output = host.run(["netsh", "http", "show", "sslcert"])
    bundle.add("netsh-sslcert.txt", output)
    return f"{len(output)} bytes"


def _iis_config_path(host: WindowsHost) -> Path:
    return host.windir / "System32" / "inetsrv" / "config" / "applicationHost.config"


def _iis(bundle: _Zip, host: WindowsHost, config: list[bytes]) -> str:
    before = len(bundle.redactions)
    data = bundle.add_config("applicationHost.config", _iis_config_path(host).read_bytes())
    config.append(data)
    return f"{len(data)} bytes, {len(bundle.redactions) - before} secret(s) redacted"


def _web_configs(bundle: _Zip, host: WindowsHost, config: list[bytes]) -> str:
    if not config:
        raise FileNotFoundError("no applicationHost.config")
    parsed = parse_iis_config(config[0], "applicationHost.config")
    found = 0
    for site in parsed.sites:
        for app in site.applications:
            if not app.physical_path:
                continue
            source = Path(_expand(app.physical_path, host)) / "web.config"
            if not source.is_file():
                continue
            app_path = app.path.strip("/")
            target = "/".join(p for p in ("iis/sites", site.name, app_path, "web.config") if p)
            bundle.add_config(target, source.read_bytes())
            found += 1
    return f"{found} web.config file(s)"


def _expand(path: str, host: WindowsHost) -> str:
    variables = {
        "systemdrive": str(host.system_drive).rstrip("\\/"),
        **{k.casefold(): v for k, v in host.env.items()},
    }
    expanded = re.sub(
        r"%([^%]+)%", lambda m: variables.get(m.group(1).casefold(), m.group(0)), path
    )
    return expanded.replace("\\", os.sep)  # a no-op on Windows; lets fakes use real folders


def _logs(bundle: _Zip, host: WindowsHost, config: list[bytes], since: datetime) -> str:
    roots = [
        ("logs/iis", Path(_expand(_log_directory(config), host))),
        ("logs/httperr", host.windir / "System32" / "LogFiles" / "HTTPERR"),
    ]
    budget, copied = MAX_LOG_BYTES, 0
    for prefix, root in roots:
        for file in _recent(root, since):
            size = file.stat().st_size
            if size > budget:
                return f"{copied} file(s); stopped at the {MAX_LOG_BYTES:,}-byte log budget"
            bundle.archive.write(file, f"{prefix}/{file.relative_to(root).as_posix()}")
            budget -= size
            copied += 1
    return f"{copied} file(s) modified since {since:%Y-%m-%d}"


def _log_directory(config: list[bytes]) -> str:
    default = r"%SystemDrive%\inetpub\logs\LogFiles"
    if not config:
        return default
    match = re.search(rb'<siteDefaults[^>]*>.*?<logFile[^>]*directory="([^"]+)"', config[0], re.S)
    return match.group(1).decode("utf-8", "replace") if match else default


def _recent(root: Path, since: datetime) -> Iterator[Path]:
    if not root.is_dir():
        return
    cutoff = since.timestamp()
    for file in sorted(root.rglob("*")):
        if file.is_file() and file.stat().st_mtime >= cutoff:
            yield file


_EVENT_EXPORTS = (
    ("schannel-system.evtx", ["System", "/q:*[System[Provider[@Name='Schannel']]]"]),
    ("capi2-operational.evtx", ["Microsoft-Windows-CAPI2/Operational"]),
)


def _events(bundle: _Zip, host: WindowsHost) -> str:
    done = []
    with tempfile.TemporaryDirectory(prefix="certgate-events-") as folder:
        for name, (log, *query) in _EVENT_EXPORTS:
            target = Path(folder) / name
            try:
                host.run(["wevtutil", "epl", log, str(target), *query])
            except OSError as exc:
                done.append(f"{name}: {exc}")
                continue
            if target.is_file():
                bundle.archive.write(target, f"logs/events/{name}")
                done.append(name)
    return "; ".join(done)
