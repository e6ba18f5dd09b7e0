"""Which bundles (or log files) a fleet command's PATH arguments name.

A PATH is a bundle (a folder with bundle parts, or a ``.zip``), a folder of bundles (each
sub-folder or ``.zip`` in it), a glob (``bundles/*.zip``, for shells that do not expand it), or a
list file (any other file: one PATH a line, ``#`` comments, relative to the list's folder).
Paths are yielded lazily and once each, in a stable order: a fleet of 10,000 bundles is never
held as a list. Nothing here reads a bundle: workers do, where the bundle lies.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from certgate.errors import InputError

__all__ = ["BUNDLE_MARKERS", "bundle_paths"]

# Entries whose presence makes a folder one bundle rather than a folder of bundles.
BUNDLE_MARKERS = frozenset(
    {
        "stores",
        "listings",
        "registry",
        "iis",
        "logs",
        "manifest.json",
        "physical-stores.json",
        "schannel.reg",
        "netsh-sslcert.txt",
        "applicationhost.config",
        "settings.toml",
    }
)
_GLOB = frozenset("*?[")
_Walker = Callable[[Path], Iterator[str]]
_OnFile = Callable[[Path], tuple[list[str], bool]]
MAX_LIST_FILE = 64 * 1024 * 1024


def bundle_paths(arguments: Iterable[str]) -> Iterator[str]:
    """Every bundle the arguments name, each once."""
    seen: set[str] = set()
    for path in _expand(arguments, _bundles_in, _bundle_file):
        if path not in seen:
            seen.add(path)
            yield path


def _expand(
    arguments: Iterable[str], folder: _Walker, file: _OnFile, depth: int = 0
) -> Iterator[str]:
    """Globs expanded, folders walked with ``folder``, files given to ``file`` (which may
    return a list file's entries, expanded in turn, one level deep)."""
    for argument in arguments:
        if argument.startswith(("http://", "https://")):
            yield argument  # read by the worker (certgate.fleet._fetch)
            continue
        if _GLOB & set(argument) and not Path(argument).exists():
            # Path.glob takes no absolute pattern; glob.glob does
            matches = sorted(glob.glob(argument, recursive=True))  # noqa: PTH207
            if not matches:
                raise InputError(argument, "no file matches this pattern")
            yield from _expand(matches, folder, file, depth)
            continue
        path = Path(argument)
        if path.is_dir():
            yield from folder(path)
        elif path.is_file():
            found, listed = file(path)
            if listed and depth > 0:
                raise InputError(argument, "a list file may not name another list file")
            yield from _expand(found, folder, file, depth + 1) if listed else found
        else:
            raise InputError(argument, "no such file or folder")


def _bundle_file(path: Path) -> tuple[list[str], bool]:
    """A ``.zip`` is a bundle; any other file lists bundles."""
    if path.suffix.casefold() == ".zip":
        return [str(path)], False
    return _list_file(path), True


def _bundles_in(folder: Path) -> Iterator[str]:
    children = sorted(folder.iterdir(), key=lambda p: p.name)
    if any(child.name.casefold() in BUNDLE_MARKERS for child in children):
        yield str(folder)
        return
    for child in children:
        if child.name.startswith("."):
            continue  # hidden: .git, .DS_Store, a tool's cache
        if child.is_dir() or (child.is_file() and child.suffix.casefold() == ".zip"):
            yield str(child)


def _list_file(path: Path) -> list[str]:
    try:
        if path.stat().st_size > MAX_LIST_FILE:
            raise InputError(str(path), "list file is over 64 MiB")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            str(path), "not a bundle (.zip or folder) nor a UTF-8 list of paths"
        ) from exc
    except OSError as exc:
        raise InputError(str(path), (exc.strerror or str(exc)).lower()) from exc
    entries = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            entries.append(str(path.parent / entry) if not Path(entry).is_absolute() else entry)
    if not entries:
        raise InputError(str(path), "no path in this list file")
    return entries
