"""Streaming pre-filters: find the few lines or XML records that matter, at memory speed.

Logs run to gigabytes and the client-certificate records are a small fraction. Scanning the
input window by window for a few literal needles and parsing only the hits is 10-15x faster
than parsing every record (python-deps.md §5), and memory stays flat whatever the file size.
Needles are found with ahocorasick-rs, one automaton per needle: a single pattern runs on
Rust's SIMD ``memmem`` at 8-12 GB/s, where ``bytes.find`` manages 1-2 GB/s. Line numbers
come from counting newlines in the skipped spans with StringZilla's SIMD ``count`` (10+ GB/s;
``bytes.count`` manages 2 GB/s and was a third of an IIS scan). Every hit is confirmed by the
parser, so a needle in an unrelated message costs time, never a wrong event.

A plain file on disk is memory-mapped and scanned in place (no copy into a buffer: the copy
was a quarter of a scan); every other input (``.gz``, ``.zip`` members, UTF-16 exports,
standard input) streams through one reused buffer. Both present the same windows, so every
line number, offset and skipped record is the same either way (tests/test_logs_scan.py).
"""

from __future__ import annotations

import codecs
import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import BinaryIO

import stringzilla
from ahocorasick_rs import BytesAhoCorasick

from certgate.logs._registry import FileContext

__all__ = ["CHUNK", "MAX_LINE", "MAX_RECORD", "matching_lines", "matching_records"]

CHUNK = 8 << 20
MAX_LINE = 1 << 20
MAX_RECORD = 32 << 20
_TAG_FOLLOW = frozenset(b" \t\r\n>/")
_PREFIX_MARK = b"#"

Progress = Callable[[int], None]


class _Needles:
    """Every position of any of a few literal needles in a buffer window, in order."""

    def __init__(self, needles: tuple[bytes, ...]) -> None:
        self._finders = [BytesAhoCorasick([needle]) for needle in needles]

    def positions(self, view: memoryview, start: int, limit: int) -> list[int]:
        if start >= limit:
            return []
        with view[start:limit] as window:
            hits = [
                start + begin
                for finder in self._finders
                for _index, begin, _end in finder.find_matches_as_indexes(window)
            ]
        hits.sort()
        return hits


class _Buffer:
    """One growable bytearray refilled in place: the unconsumed tail moves to the front."""

    def __init__(self, stream: BinaryIO, progress: Progress | None) -> None:
        self.stream = stream
        self.data = bytearray(CHUNK)
        self.view = memoryview(self.data)
        self.start = 0
        self.end = 0
        self.base = 0  # absolute offset of data[0]
        self.progress = progress

    def fill(self) -> bool:
        if len(self.data) < self.end + CHUNK:
            self.view.release()
            self.data.extend(bytes(self.end + CHUNK - len(self.data)))
            self.view = memoryview(self.data)
        count = self.stream.readinto(self.view[self.end : self.end + CHUNK]) or 0  # type: ignore[attr-defined]
        self.end += count
        if self.progress is not None:
            self.progress(self.base + self.end)
        return count > 0

    def consume(self, upto: int) -> None:
        remaining = self.end - upto
        self.data[:remaining] = self.data[upto : self.end]
        self.end = remaining
        self.base += upto

    def close(self) -> None:
        self.view.release()


class _Mapped:
    """The file itself, memory-mapped: windows are views into the page cache, never copied.

    Windows grow by CHUNK exactly as the buffer's do. A file that shrinks while it is read
    (truncated by another program) would fault inside a window: its size is checked before
    each window and reading stops at the new end, with a problem reported.
    """

    def __init__(self, handle: BinaryIO, offset: int, progress: Progress | None) -> None:
        self._fd = handle.fileno()
        self.data = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
        self.view = memoryview(self.data)
        self.size = len(self.data)
        self.start = self.end = offset
        self.base = 0
        self.progress = progress
        self.shrunk = False
        if hasattr(self.data, "madvise"):
            self.data.madvise(mmap.MADV_SEQUENTIAL)

    def fill(self) -> bool:
        size = os.fstat(self._fd).st_size
        if size < self.size:
            self.size, self.shrunk = max(size, self.start), True
            self.end = min(self.end, self.size)
        end = min(self.size, self.end + CHUNK)
        more = end > self.end
        self.end = end
        if self.progress is not None:
            self.progress(end)
        return more

    def consume(self, upto: int) -> None:
        self.start = upto

    def close(self) -> None:
        self.view.release()
        self.data.close()


# The unread part of the input is ``data[start:end]``; ``data[0]`` is at byte ``base``.
_Window = _Buffer | _Mapped


def _window(
    stream: BinaryIO, ctx: FileContext, progress: Progress | None, stack: ExitStack
) -> _Window:
    """The mapped file when ``stream`` is a plain file on disk read as it is (after an
    optional UTF-8 byte-order mark), else a buffer over ``stream``."""
    mapped = _map(ctx, progress, stack)
    if mapped is not None:
        return mapped
    buffer = _Buffer(stream, progress)
    stack.callback(buffer.close)
    return buffer


def _map(ctx: FileContext, progress: Progress | None, stack: ExitStack) -> _Mapped | None:
    if ctx.disk_path is None or not ctx.head:
        return None
    try:
        handle = stack.enter_context(ctx.disk_path.open("rb", buffering=0))
        mapped = _Mapped(handle, 0, progress)
    except (OSError, ValueError):
        return None
    stack.callback(mapped.close)
    # The stream may have been transcoded (UTF-16) or had its BOM dropped: the head tells.
    for offset in (0, len(codecs.BOM_UTF8)):
        if mapped.data[offset : offset + len(ctx.head)] == ctx.head:
            if offset and mapped.data[:offset] != codecs.BOM_UTF8:
                continue
            mapped.start = mapped.end = offset
            return mapped
    return None


def _count_lines(view: memoryview, start: int, stop: int) -> int:
    return int(stringzilla.count(view, b"\n", start, stop)) if stop > start else 0


def matching_lines(
    stream: BinaryIO,
    needles: tuple[bytes, ...],
    ctx: FileContext,
    *,
    headers: bool = False,
    progress: Progress | None = None,
) -> Iterator[tuple[int, int, bytes]]:
    """(1-based line number, byte offset, line without EOL) for every line containing one of
    ``needles`` or, with ``headers``, starting with ``#`` (W3C directives)."""
    finder = _Needles(needles)
    prefix = _Needles((b"\n" + _PREFIX_MARK,)) if headers else None
    with ExitStack() as stack:
        buf = _window(stream, ctx, progress, stack)
        line_no = 1
        overlong = False
        while True:
            more = buf.fill()
            data, view, first, base = buf.data, buf.view, buf.start, buf.base
            limit = data.rfind(b"\n", first, buf.end) + 1 if more else buf.end
            if more and limit == 0:
                if overlong or buf.end - first > MAX_LINE:
                    if not overlong:
                        where = f"byte {base + first}"
                        ctx.skip(where, f"line longer than {MAX_LINE:,} bytes skipped")
                    overlong = True
                    buf.consume(buf.end)
                continue
            start = first
            if overlong:  # drop the rest of an over-long line
                start = data.find(b"\n", first, limit) + 1 or limit
                line_no += 1
                overlong = False
            _report_binary(data, start, limit, base, ctx)
            counted = start
            for begin in _line_starts(data, view, start, limit, finder, prefix):
                line_no += _count_lines(view, counted, begin)
                counted = begin
                stop = data.find(b"\n", begin, limit)
                line = bytes(data[begin : stop if stop >= 0 else limit]).rstrip(b"\r")
                if b"\x00" not in line:
                    yield line_no, base + begin, line
            line_no += _count_lines(view, counted, limit)
            buf.consume(limit)
            if not more:
                _report_shrunk(buf, ctx)
                return


def _report_shrunk(buf: _Window, ctx: FileContext) -> None:
    if isinstance(buf, _Mapped) and buf.shrunk:
        ctx.skip(f"byte {buf.size}", "the file shrank while it was read: read up to there")


def _line_starts(
    data: bytearray | mmap.mmap,
    view: memoryview,
    start: int,
    limit: int,
    needles: _Needles,
    prefix: _Needles | None,
) -> list[int]:
    starts: set[int] = set()
    for hit in needles.positions(view, start, limit):
        starts.add(data.rfind(b"\n", start, hit) + 1 or start)
    if prefix is not None:
        if data.find(_PREFIX_MARK, start, min(start + 1, limit)) == start:
            starts.add(start)
        starts.update(hit + 1 for hit in prefix.positions(view, start, limit) if hit + 1 < limit)
    return sorted(starts)


def _report_binary(
    data: bytearray | mmap.mmap, start: int, limit: int, base: int, ctx: FileContext
) -> None:
    nul = data.find(b"\x00", start, limit)
    if nul >= 0:
        ctx.skip(f"byte {base + nul}", "binary data (NUL bytes): the lines there are skipped")


def matching_records(
    stream: BinaryIO,
    start_tag: bytes,
    end_tag: bytes,
    ctx: FileContext,
    *,
    needles: tuple[bytes, ...] | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, bytes]]:
    """(byte offset, record) for each ``start_tag ... end_tag`` XML record, concatenated with or
    without a root element and separators; with ``needles``, only records containing one."""
    finder = _Needles(needles) if needles is not None else None
    with ExitStack() as stack:
        buf = _window(stream, ctx, progress, stack)
        while True:
            more = buf.fill()
            data, first, base = buf.data, buf.start, buf.base
            last = data.rfind(end_tag, first, buf.end)
            limit = last + len(end_tag) if last >= 0 else first
            if finder is None:
                yield from _all_records(data, first, limit, start_tag, end_tag, base, ctx)
            else:
                yield from _records_with(buf, limit, start_tag, end_tag, finder)
            if not more:
                _report_tail(data, limit, buf.end, start_tag, base, ctx)
                _report_shrunk(buf, ctx)
                return
            if buf.end - limit > MAX_RECORD:
                ctx.skip(f"byte {base + limit}", f"record longer than {MAX_RECORD:,} bytes skipped")
                limit = buf.end - len(start_tag)
            buf.consume(limit)


def _find_tag(data: bytearray | mmap.mmap, tag: bytes, start: int, stop: int) -> int:
    """The next ``tag`` followed by a tag delimiter (``<Event`` but not ``<EventData``)."""
    hit = data.find(tag, start, stop)
    while hit >= 0 and not _tag_at(data, tag, hit, stop):
        hit = data.find(tag, hit + 1, stop)
    return hit


def _rfind_tag(data: bytearray | mmap.mmap, tag: bytes, start: int, stop: int) -> int:
    hit = data.rfind(tag, start, stop)
    while hit >= 0 and not _tag_at(data, tag, hit, stop):
        hit = data.rfind(tag, start, hit)
    return hit


def _tag_at(data: bytearray | mmap.mmap, tag: bytes, hit: int, stop: int) -> bool:
    after = hit + len(tag)
    return after < stop and data[after] in _TAG_FOLLOW


def _records_with(
    buf: _Window, limit: int, start_tag: bytes, end_tag: bytes, needles: _Needles
) -> Iterator[tuple[int, bytes]]:
    data = buf.data
    done = buf.start  # the end of the last record yielded: later hits inside it are the same
    for hit in needles.positions(buf.view, buf.start, limit):
        if hit < done:
            continue
        begin = _rfind_tag(data, start_tag, done, hit)
        stop = data.find(end_tag, hit, limit)
        if begin < 0 or stop < 0 or data.rfind(end_tag, begin, hit) >= 0:
            continue  # outside any record (junk or a wrapper element)
        done = stop + len(end_tag)
        yield buf.base + begin, bytes(data[begin:done])


def _all_records(
    data: bytearray | mmap.mmap,
    first: int,
    limit: int,
    start_tag: bytes,
    end_tag: bytes,
    base: int,
    ctx: FileContext,
) -> Iterator[tuple[int, bytes]]:
    position = first
    while True:
        begin = _find_tag(data, start_tag, position, limit)
        if begin < 0:
            return
        stop = data.find(end_tag, begin, limit)
        if stop < 0:
            return
        if data.find(b"\x00", position, begin) >= 0:
            ctx.skip(f"byte {base + position}", "binary data between records skipped")
        stop += len(end_tag)
        yield base + begin, bytes(data[begin:stop])
        position = stop


def _report_tail(
    data: bytearray | mmap.mmap, limit: int, end: int, start_tag: bytes, base: int, ctx: FileContext
) -> None:
    begin = _find_tag(data, start_tag, limit, end)
    if begin >= 0:
        ctx.skip(f"byte {base + begin}", "truncated record: the file ends inside it")
