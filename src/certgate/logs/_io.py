"""Open log inputs: folders walked recursively, ``.gz`` and ``.zip`` read transparently (by
content, not by name), UTF-16 exports (PowerShell ``>``, Event Viewer) transcoded to UTF-8.

Everything streams: nothing here holds a whole file in memory.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from certgate.errors import InputError

__all__ = ["HEAD_SIZE", "LogInput", "lines", "open_text", "read_errors", "walk_inputs"]

HEAD_SIZE = 64 * 1024
_GZIP = b"\x1f\x8b"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class LogInput:
    """One logical log file: a file on disk, a decompressed ``.gz``, or a ``.zip`` member."""

    name: str
    size: int
    open: Callable[[], BinaryIO]
    disk_path: Path | None = None  # set for plain uncompressed files (EVTX reads by path)


def walk_inputs(paths: list[str], on_error: Callable[[InputError], None]) -> Iterator[LogInput]:
    """Every log input under ``paths``, folders recursively in name order; ``-`` is standard
    input (read once, as it comes)."""
    for item in paths:
        path = Path(item)
        if item == "-":
            yield LogInput("<stdin>", 0, lambda: cast(BinaryIO, sys.stdin.buffer))
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield from _inputs_of(Path(root) / name, on_error)
        elif path.exists():
            yield from _inputs_of(path, on_error)
        else:
            on_error(InputError(item, "no such file or folder"))


def _inputs_of(path: Path, on_error: Callable[[InputError], None]) -> Iterator[LogInput]:
    name = str(path)
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
            on_error(InputError(name, "not a regular file (a pipe, device or socket): not read"))
            return
        size = status.st_size
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        on_error(InputError(name, exc.strerror or "cannot be read"))
        return
    if magic.startswith(_GZIP):
        yield LogInput(name, size, lambda: _gunzip(cast(BinaryIO, path.open("rb"))))
    elif magic.startswith(_ZIP):
        yield from _zip_members(path, on_error)
    else:
        yield LogInput(name, size, lambda: path.open("rb", buffering=0), disk_path=path)


def _gunzip(raw: BinaryIO) -> BinaryIO:
    return cast(BinaryIO, _OwningGzip(raw))


class _OwningGzip(gzip.GzipFile):
    """A GzipFile that also closes the stream it reads from. A cut or damaged stream ends at
    the damage (``damage`` says why) instead of losing everything read so far."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._owned = raw
        self.damage: str | None = None

    def read(self, size: int | None = -1) -> bytes:
        """Built on ``read1`` so that bytes decompressed before the damage are kept."""
        parts: list[bytes] = []
        wanted = -1 if size is None or size < 0 else size
        while wanted != 0:
            data = self.read1(wanted if wanted > 0 else 1 << 20)
            if not data:
                break
            parts.append(data)
            wanted = wanted - len(data) if wanted > 0 else -1
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        if self.damage is not None:
            return b""
        try:
            return super().read1(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            self.damage = str(exc)
            return b""

    def readinto(self, buffer: Any) -> int:
        data = self.read1(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._owned.close()


def read_errors() -> tuple[type[Exception], ...]:
    """What reading an input may raise besides InputError: ``zipfile``'s error only once a
    zip was opened (zipfile is imported then, not by every log scan)."""
    archive = sys.modules.get("zipfile")
    return (OSError, EOFError, zlib.error) + ((archive.BadZipFile,) if archive else ())


def _zip_members(path: Path, on_error: Callable[[InputError], None]) -> Iterator[LogInput]:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        on_error(InputError(str(path), f"unreadable zip archive: {exc}"))
        return
    for info in infos:
        if info.flag_bits & 0x1:  # encrypted: certgate takes no zip passwords
            on_error(InputError(f"{path}!{info.filename}", "encrypted zip member: not read"))
            continue
        yield LogInput(
            f"{path}!{info.filename}", info.compress_size, _member_opener(path, info.filename)
        )


def _member_opener(path: Path, member: str) -> Callable[[], BinaryIO]:
    import zipfile

    def open_member() -> BinaryIO:
        with zipfile.ZipFile(path) as archive, archive.open(member) as probe:
            head = probe.read(2)
        archive = zipfile.ZipFile(path)
        stream = archive.open(member)
        archive.close()  # the member keeps the file open until it is closed itself
        member_stream = cast(BinaryIO, stream)
        return _gunzip(member_stream) if head == _GZIP else member_stream

    return open_member


def open_text(raw: BinaryIO) -> tuple[BinaryIO, bytes, str | None]:
    """(UTF-8 stream positioned at 0, its first ``HEAD_SIZE`` bytes, note on transcoding).

    A UTF-16 byte-order mark means a Windows export: it is transcoded to UTF-8 on the fly.
    A UTF-8 BOM is dropped.
    """
    head = _read_full(raw, HEAD_SIZE)
    note = None
    stream = cast(BinaryIO, _Prefixed(head, raw))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        stream = cast(BinaryIO, _Utf16ToUtf8(stream))
        note = "UTF-16 file transcoded to UTF-8"
        head = _read_full(stream, HEAD_SIZE)
        stream = cast(BinaryIO, _Prefixed(head, stream))
    elif head.startswith(codecs.BOM_UTF8):
        stream.read(len(codecs.BOM_UTF8))
        head = head[len(codecs.BOM_UTF8) :]
    return stream, head, note


def lines(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's lines (with their end-of-line bytes), buffered."""
    return iter(io.BufferedReader(cast(io.RawIOBase, stream), 1 << 20))


def _read_full(stream: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        data = stream.read(wanted)
        if not data:
            break
        parts.append(data)
        wanted -= len(data)
    return b"".join(parts)


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``rest``: detection reads ahead, parsers see it all."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        if hasattr(self._rest, "readinto"):
            return self._rest.readinto(buffer) or 0
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


class _Utf16ToUtf8(io.RawIOBase):
    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            data = self._raw.read(1 << 20)
            self._done = not data
            self._pending = self._decoder.decode(data, final=self._done).encode("utf-8")
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()
