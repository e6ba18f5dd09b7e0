"""The Windows version of a machine, as far as client-certificate behaviour depends on it.

Read from a collector's ``manifest.json`` (``Microsoft Windows NT 10.0.17763.0`` from
PowerShell, ``Windows-10-10.0.17763-SP0`` from Python), from ``settings.toml``
(``[machine] os_version = "2012"``) or from ``--os-version``. What depends on it
(docs/windows-model.md#os-version): the 16 KB issuer-list failure of KB 2880390 (Windows
Server 2012 / Windows 8 only), the SendTrustedIssuerList default, TLS 1.3 renegotiation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["KNOWN_NAMES", "WindowsVersion", "parse_windows_version"]


@dataclass(frozen=True)
class WindowsVersion:
    """``nt`` is the kernel version (6.2 = Server 2012 / Windows 8); ``build`` when known."""

    name: str  # canonical: "2012", "2019", "win10", or "10.0.17763" when only a build is known
    nt: tuple[int, int]
    build: int | None
    label: str  # for people: "Windows Server 2012 / Windows 8 (NT 6.2)"

    @property
    def has_kb2880390(self) -> bool:
        """Windows Server 2012 / Windows 8: a Root store past 16 KB breaks client-certificate
        authentication whatever SendTrustedIssuerList says (KB 2880390, hotfix) [secondary]."""
        return self.nt == (6, 2)

    @property
    def has_store_issuer_list(self) -> bool:
        """The store-based trusted-issuer list and ClientAuthTrustMode: 2012 / Windows 8 on."""
        return self.nt >= (6, 2)

    def __str__(self) -> str:
        return self.label


# name -> (NT version, build, label). Server and client releases share a kernel; the build
# decides what certgate models, so "2012" and "win8" behave the same.
_NAMES: dict[str, tuple[tuple[int, int], int | None, str]] = {
    "2008r2": ((6, 1), 7601, "Windows Server 2008 R2"),
    "win7": ((6, 1), 7601, "Windows 7"),
    "2012": ((6, 2), 9200, "Windows Server 2012"),
    "win8": ((6, 2), 9200, "Windows 8"),
    "2012r2": ((6, 3), 9600, "Windows Server 2012 R2"),
    "win8.1": ((6, 3), 9600, "Windows 8.1"),
    "2016": ((10, 0), 14393, "Windows Server 2016"),
    "2019": ((10, 0), 17763, "Windows Server 2019"),
    "2022": ((10, 0), 20348, "Windows Server 2022"),
    "2025": ((10, 0), 26100, "Windows Server 2025"),
    "win10": ((10, 0), None, "Windows 10"),
    "win11": ((10, 0), 22000, "Windows 11"),
}
KNOWN_NAMES = tuple(_NAMES)
_NT_LABELS = {
    (6, 1): "Windows Server 2008 R2 / Windows 7",
    (6, 2): "Windows Server 2012 / Windows 8",
    (6, 3): "Windows Server 2012 R2 / Windows 8.1",
}
_SERVER_BUILDS = {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}
_BUILD = re.compile(r"(?<!\d)(6|10)\.(\d)\.(\d{4,5})(?!\d)")
_SERVER = re.compile(
    r"(?:server\s*|^|[\s-])(2008|2012|2016|2019|2022|2025)\s*(?:server)?\s*(r2)?", re.I
)
_CLIENT = re.compile(r"windows[\s-]*(7|8\.1|8|10|11)(?![\d.])", re.I)
_NOT_SEEN = "known names: " + ", ".join(KNOWN_NAMES) + ", or a build such as 10.0.17763"


def parse_windows_version(text: str) -> WindowsVersion:
    """``2012``, ``2012 R2``, ``win10``, ``10.0.17763``, ``Windows Server 2019 Datacenter``,
    ``Microsoft Windows NT 6.2.9200.0`` ...; anything else is a ``ValueError``."""
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > 200:
        raise ValueError(f"not a Windows version ({_NOT_SEEN})")
    key = cleaned.casefold().replace(" ", "").removeprefix("windows").removeprefix("server")
    if key in _NAMES:
        return _named(key)
    if build := _BUILD.search(cleaned):
        nt = (int(build.group(1)), int(build.group(2)))
        number = int(build.group(3))
        return _from_build(nt, number)
    if server := _SERVER.search(cleaned):
        return _named(server.group(1) + ("r2" if server.group(2) else ""))
    if client := _CLIENT.search(cleaned):
        return _named("win" + client.group(1))
    raise ValueError(f"{cleaned[:60]!r} is not a Windows version ({_NOT_SEEN})")


def _named(key: str) -> WindowsVersion:
    if key not in _NAMES:
        raise ValueError(f"{key!r} is not a Windows version ({_NOT_SEEN})")
    nt, build, label = _NAMES[key]
    return WindowsVersion(key, nt, build, f"{label} (NT {nt[0]}.{nt[1]})")


def _from_build(nt: tuple[int, int], build: int) -> WindowsVersion:
    if nt in _NT_LABELS:
        return WindowsVersion(
            f"{nt[0]}.{nt[1]}.{build}", nt, build, f"{_NT_LABELS[nt]} (NT {nt[0]}.{nt[1]}.{build})"
        )
    if nt == (10, 0):
        server = _SERVER_BUILDS.get(build)
        label = f"Windows Server {server} or the client of the same build" if server else "Windows"
        return WindowsVersion(f"10.0.{build}", nt, build, f"{label} (NT 10.0.{build})")
    raise ValueError(f"NT {nt[0]}.{nt[1]} is not a Windows version certgate models ({_NOT_SEEN})")
