"""Live collection on a Windows server (``certgate collect``) and tracing recipes.

Nothing here loads a Windows DLL or imports ``winreg`` at import time: the module imports on any
OS, and the Windows calls are made only by ``windows_host()`` on Windows. Tests run the
collector against fakes of those calls; it has not been run on Windows by certgate's tests.
"""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from certgate.errors import UsageError
from certgate.windows.collect import WindowsHost

__all__ = ["windows_host"]


def windows_host() -> WindowsHost:  # pragma: no cover - needs Windows
    """The real machine: crypt32, winreg, netsh/wevtutil via subprocess."""
    if sys.platform != "win32":
        raise UsageError(
            "collect --out only runs on Windows; here use: certgate collect --powershell "
            "> collect.ps1, and run that on the server"
        )
    import os
    import winreg

    from certgate.windows.crypt32 import Crypt32Stores, load_crypt32

    def run(argv: Sequence[str]) -> bytes:
        try:
            done = subprocess.run(list(argv), capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OSError(f"{argv[0]}: {exc}") from exc
        if done.returncode != 0:
            raise OSError(f"{' '.join(argv[:3])} exited {done.returncode}: {done.stderr[:200]!r}")
        return done.stdout

    windir = Path(os.environ.get("WINDIR", r"C:\Windows"))
    return WindowsHost(
        stores=Crypt32Stores(load_crypt32()),
        winreg=winreg,
        run=run,
        windir=windir,
        system_drive=Path(os.environ.get("SYSTEMDRIVE", "C:") + "\\"),
        hostname=socket.gethostname(),
        os_version=platform.platform(),
        env=dict(os.environ),
    )
