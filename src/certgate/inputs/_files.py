"""The files of a machine bundle, whether it is a folder, a zip or one exported file.

Zips are never extracted: each member is read into memory when needed, capped in size, and a
member name that would leave the bundle (``..``, an absolute or drive path) refuses the whole zip.
Windows PowerShell 5.1's Compress-Archive writes ``\\`` separators; they are read as ``/``. A zip
whose members all sit in one top folder is read from inside that folder.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from certgate.errors import InputError

__all__ = ["MAX_ENTRIES", "MAX_PART_SIZE", "BundleFile", "BundleListing", "list_bundle"]

MAX_ENTRIES = 20_000
MAX_PART_SIZE = 256 * 1024 * 1024  # a store, config or listing read into memory
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class BundleFile:
    """One file: ``name`` is bundle-relative with ``/``; it is what sources cite."""

    name: str
    size: int
    container: Path  # the folder, zip or single file
    member: str | None = None  # the zip member as stored; None outside zips

    @property
    def display(self) -> str:
        """How errors name the file: a real path, or ``bundle.zip!member``."""
        if self.member is not None:
            return f"{self.container}!{self.name}"
        if self.container.is_dir():
            return str(self.container / self.name)
        return str(self.container)

    def read(self, limit: int = MAX_PART_SIZE) -> bytes:
        if self.size > limit:
            raise InputError(
                self.display, f"is {self.size:,} bytes; parts over {limit:,} are refused"
            )
        try:
            with self.open() as stream:
                data = stream.read(limit + 1)
        except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
            raise InputError(self.display, f"cannot be read: {exc}") from exc
        if len(data) > limit:
            raise InputError(self.display, f"holds more than {limit:,} bytes: refused")
        return data

    def open(self) -> IO[bytes]:
        """A binary stream (for logs read by streaming parsers); the caller closes it."""
        if self.member is None:
            path = self.container / self.name if self.container.is_dir() else self.container
            return path.open("rb")
        with zipfile.ZipFile(self.container) as archive:
            # ZipFile keeps the file open until this member stream is closed too.
            return archive.open(self.member)


@dataclass(frozen=True)
class BundleListing:
    files: tuple[BundleFile, ...]
    format: str  # folder, zip, file


def list_bundle(path: Path) -> BundleListing:
    try:
        if path.is_dir():
            return BundleListing(_folder(path), "folder")
        if not path.is_file():
            raise InputError(str(path), "no such file or folder")
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    if zipfile.is_zipfile(path):
        return BundleListing(_zip(path), "zip")
    if path.suffix.casefold() == ".zip":
        # Named .zip but no zip directory: a truncated download or another file renamed.
        raise InputError(str(path), "not a readable zip (no zip directory: truncated or not a zip)")
    return BundleListing((BundleFile(path.name, path.stat().st_size, path),), "file")


def _folder(root: Path) -> tuple[BundleFile, ...]:
    files: list[BundleFile] = []
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            full = Path(directory) / name
            if not full.is_file():
                continue
            files.append(BundleFile(full.relative_to(root).as_posix(), full.stat().st_size, root))
            if len(files) > MAX_ENTRIES:
                raise InputError(str(root), f"more than {MAX_ENTRIES:,} files: not a bundle")
    return tuple(files)


def _zip(path: Path) -> tuple[BundleFile, ...]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(str(path), f"not a readable zip: {exc}") from exc
    if len(infos) > MAX_ENTRIES:
        raise InputError(str(path), f"more than {MAX_ENTRIES:,} entries: refused")
    entries: list[tuple[str, zipfile.ZipInfo]] = []
    for info in infos:
        name = _safe_name(info.filename, path)
        if info.is_dir() or name.endswith("/") or not name:
            continue
        if info.flag_bits & 0x1:
            raise InputError(str(path), f"member {name!r} is encrypted: not supported")
        entries.append((name, info))
    prefix = _common_folder([name for name, _ in entries])
    files: dict[str, BundleFile] = {}
    for name, info in entries:
        relative = name[len(prefix) :]
        if relative.casefold() in files:
            raise InputError(str(path), f"member {relative!r} appears twice")
        files[relative.casefold()] = BundleFile(relative, info.file_size, path, info.filename)
    return tuple(sorted(files.values(), key=lambda f: f.name))


def _safe_name(raw: str, path: Path) -> str:
    name = raw.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or _DRIVE.match(name) or ".." in parts or "\x00" in name:
        raise InputError(str(path), f"member {raw[:80]!r} would escape the bundle: zip refused")
    return "/".join(p for p in parts if p != ".") + ("/" if name.endswith("/") else "")


_LAYOUT_FOLDERS = {"stores", "logs", "iis", "listings", "registry"}


def _common_folder(names: list[str]) -> str:
    """``bundle/`` when every member is under one folder that is not itself a layout folder."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1 or not all("/" in n for n in names):
        return ""
    top = tops.pop()
    return "" if top.casefold() in _LAYOUT_FOLDERS else top + "/"
