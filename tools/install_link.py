"""``make install``: put the virtualenv's ``certgate`` on the user's PATH, as a link.

The link goes into the first of ``$PREFIX/bin`` (when PREFIX is given), ``~/.local/bin``,
``~/bin`` and ``/usr/local/bin`` that is on PATH and writable; when none is, into
``~/.local/bin``, and the one line that puts that folder on PATH is printed. An existing
``certgate`` that is not a link is never replaced.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _on_path(folder: Path) -> bool:
    entries = [Path(p).expanduser() for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    return any(entry.resolve() == folder.resolve() for entry in entries)


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


def main() -> int:
    target = Path(sys.argv[1]).resolve()
    prefix = os.environ.get("PREFIX")
    home = Path.home()
    if prefix:
        candidates = [Path(prefix).expanduser() / "bin"]
    else:
        candidates = [home / ".local" / "bin", home / "bin", Path("/usr/local/bin")]
    usable = [c for c in candidates if _on_path(c) and _writable(c)]
    folder = usable[0] if usable else candidates[0]
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "certgate"
    if link.exists() and not link.is_symlink():
        print(f"{link} exists and is not a link: left alone", file=sys.stderr)
        return 1
    if link.is_symlink():
        link.unlink()
    link.symlink_to(target)
    print(f"certgate installed: {link} -> {target}")
    if not _on_path(folder):
        print(f"{folder} is not on your PATH; add it (e.g. in ~/.profile):")
        print(f'    export PATH="{folder}:$PATH"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
