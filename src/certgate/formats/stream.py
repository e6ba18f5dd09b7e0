"""Read inputs certificate by certificate: each one is handed to a sink as it is read.

``certgate audit`` of a 100,000-certificate file must not hold 100,000 parsed certificates
(issue 17): PEM bundles and .sst stores, the formats that get that large, are read with the
streaming readers (``pem.read_pem``, ``sst.read_sst``); the other formats (DER, PKCS#7,
PKCS#12) are small and loaded whole with ``load_bytes``. The rules about which inputs are read,
skipped or refused are those of ``load_file`` / ``load_paths`` / ``inputs.load``, with one
addition: a file that turns out unusable after some of its certificates were handed on raises
``Restart``, and the caller starts over with that file marked bad (``StreamInputs.bad``), so
that, as with the loaders, a skipped file contributes nothing at all.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from certgate.core.model import Certificate
from certgate.errors import InputError
from certgate.formats import (
    Loaded,
    LoadWarning,
    empty_folder,
    folder_files,
    load_bytes,
    read_store_bytes,
    repeated_in_folder,
    sniff_store_format,
)
from certgate.formats._base import Item, os_reason
from certgate.formats.pem import read_pem
from certgate.formats.pkcs12 import PasswordPrompt
from certgate.formats.sst import read_sst

__all__ = ["Restart", "StreamInputs", "StreamResult"]

Sink = Callable[[Certificate], None]


class Restart(Exception):
    """``path`` proved unusable after some of its certificates were handed to the sink."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class StreamResult:
    """What one input gave besides its certificates (those went to the sink)."""

    certificates: int = 0
    crls: int = 0
    warnings: list[LoadWarning] = field(default_factory=list)
    repeated: int = 0  # certificates left out as already read from another file of a folder

    def __iadd__(self, other: StreamResult) -> StreamResult:
        self.certificates += other.certificates
        self.crls += other.crls
        self.warnings += other.warnings
        self.repeated += other.repeated
        return self


@dataclass
class StreamInputs:
    """Streams files, folders and lists of them; remembers what must not be redone when the
    caller starts over after a ``Restart``: the files found bad, and what the small, whole-file
    formats loaded (a PKCS#12 password is not asked twice)."""

    password: bytes | None = None
    prompt: PasswordPrompt | None = None
    on_file: Callable[[str], None] | None = None
    bad: dict[str, InputError] = field(default_factory=dict)
    _whole: dict[str, Loaded] = field(default_factory=dict)

    def paths(self, paths: Iterable[str | os.PathLike[str]], sink: Sink) -> StreamResult:
        """``load_paths``: one bad input among several is a warning; all bad, or the only one
        bad, raises its error."""
        items = list(paths)
        result = StreamResult()
        errors: list[InputError] = []
        for item in items:
            try:
                result += self.file(item, sink)
            except InputError as exc:
                errors.append(exc)
        if errors and (len(items) == 1 or len(errors) == len(items)):
            raise errors[0]
        result.warnings += [LoadWarning(e.path, f"skipped: {e.message}", e.where) for e in errors]
        return result

    def file(
        self, path: str | os.PathLike[str], sink: Sink, seen: set[bytes] | None = None
    ) -> StreamResult:
        """``load_file``: one file, or every certificate file below a folder."""
        target = Path(path)
        name = str(path)
        if name in self.bad:
            raise self.bad[name]
        try:
            info = target.stat()
        except OSError as exc:
            raise InputError(name, os_reason(exc)) from exc
        if stat.S_ISDIR(info.st_mode):
            return self._folder(target, sink)
        if self.on_file is not None:
            self.on_file(name)
        data = read_store_bytes(target, name, info)
        return self._items(name, self._read(data, name), sink, seen)

    def _read(self, data: bytes, name: str) -> Iterator[Item]:
        kind = sniff_store_format(data) if data else "unknown"
        if kind == "pem":
            return read_pem(data, name)
        if kind == "sst":
            return read_sst(data, name)
        whole = self._whole.get(name)
        if whole is None:
            whole = load_bytes(data, name, password=self.password, prompt=self.prompt)
            self._whole[name] = whole
        return iter((*whole.certificates, *whole.crls, *whole.warnings))

    def _items(
        self, name: str, items: Iterator[Item], sink: Sink, seen: set[bytes] | None
    ) -> StreamResult:
        result = StreamResult()
        try:
            for item in items:
                if isinstance(item, Certificate):
                    if seen is not None:
                        key = hashlib.sha256(item.der).digest()
                        if key in seen:
                            result.repeated += 1
                            continue
                        seen.add(key)
                    result.certificates += 1
                    sink(item)
                elif isinstance(item, LoadWarning):
                    result.warnings.append(item)
                else:
                    result.crls += 1
        except InputError as exc:
            if result.certificates:
                self.bad[name] = exc
                raise Restart(exc) from exc
            raise
        return result

    def _folder(self, folder: Path, sink: Sink) -> StreamResult:
        """``_load_folder``: every file once (hashed-directory links skipped), unreadable ones
        skipped with a warning, and a certificate in several files counted once."""
        result = StreamResult()
        seen: set[bytes] = set()  # SHA-256 of every certificate read from the folder
        for file_path in folder_files(folder):
            try:
                result += self.file(file_path, sink, seen)
            except InputError as exc:
                note = LoadWarning(exc.path, f"skipped: {exc.message}", exc.where)
                result.warnings.append(note)
        repeated, result.repeated = result.repeated, 0
        if repeated:
            result.warnings.append(repeated_in_folder(folder, repeated))
        if not result.certificates and not result.crls:
            raise empty_folder(folder, skipped=len(result.warnings))
        return result
