"""Every byte certgate writes goes through here: files whole or not at all, standard output
with one error path.

``write_files`` writes a set of files as one unit: each to a temporary file beside its target
(flushed and fsynced), then all are renamed into place; any failure removes every temporary
file, so a full disk leaves neither a half-written file nor half of a fix folder. A target that
is one of the command's inputs is refused before anything is written. New files get the mode
the umask allows (``0666 & ~umask``), like any other tool's output; a replaced file keeps its
mode.

``guarded_stdout`` makes a failing standard output (ENOSPC, EPIPE, EIO...) an ``OutputError``
instead of a traceback or a silently cut document.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from certgate.errors import OutputError

if TYPE_CHECKING:  # pathlib is imported by the writers: `certgate explain` needs none (~4 ms)
    from pathlib import Path

__all__ = ["STDOUT", "guarded_stdout", "output_mode", "reason", "write_files"]

STDOUT = "standard output"
_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EISDIR: "it is a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.EPIPE: "the reading end went away (broken pipe)",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENAMETOOLONG: "file name too long",
}


def reason(exc: OSError) -> str:
    """A short, stable reason for an OS error (strerror wording varies by platform)."""
    return _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__


def output_mode() -> int:
    """The mode a new output file gets: what the umask allows of 0666."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_files(planned: dict[Path, bytes], inputs: Iterable[Path | str] = ()) -> list[Path]:
    """Write every file of ``planned`` or none; ``OutputError`` names the path that failed."""
    from pathlib import Path

    _refuse_inputs(planned, inputs)
    mode = output_mode()
    staged: list[tuple[str, Path]] = []
    created: list[Path] = []
    done = False
    try:
        for path, data in planned.items():
            created += _missing_folders(path.parent)
            staged.append((_stage(path, data, mode), path))
        for temporary, path in staged:
            try:
                Path(temporary).replace(path)
            except OSError as exc:
                raise OutputError(str(path), reason(exc)) from exc
        done = True
    finally:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        if not done:  # folders this call made, deepest first, when they stayed empty
            for folder in sorted(set(created), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return list(planned)


def _missing_folders(folder: Path) -> list[Path]:
    missing: list[Path] = []
    try:
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
    except OSError:
        pass
    return missing


def _stage(path: Path, data: bytes, mode: int) -> str:
    import tempfile  # 20 ms of imports (shutil, random) that only a writing command needs
    from pathlib import Path

    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = path.stat().st_mode if path.exists() else None
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise OutputError(str(path), reason(exc)) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(stat.S_IMODE(existing) if existing is not None else mode)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(str(path), reason(exc)) from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def _refuse_inputs(planned: dict[Path, bytes], inputs: Iterable[Path | str]) -> None:
    """Refuse a target that is (``samefile``: links included) one of the inputs."""
    from pathlib import Path

    sources = {key: Path(p) for p in inputs if (key := _identity(Path(p))) is not None}
    for path in planned:
        key = _identity(path)
        source = sources.get(key) if key is not None else None
        if source is not None:
            raise OutputError(str(path), f"it is an input of this command ({source})")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


class _GuardedText(io.TextIOBase):
    """A text stream that turns the OSError of a failed write or flush into ``OutputError``."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise _failed(exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _failed(exc) from exc

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8") or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._stream, "errors", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _failed(exc: OSError) -> OutputError:
    if exc.errno == errno.EPIPE:
        _silence_stdout()
    return OutputError(STDOUT, reason(exc))


def _silence_stdout() -> None:
    """After EPIPE nothing more can reach the reader; point fd 1 at /dev/null so the
    interpreter's final flush does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
        os.close(devnull)
    except (OSError, ValueError):
        pass


@contextmanager
def guarded_stdout() -> Iterator[None]:
    """For the duration: ``sys.stdout`` fails with ``OutputError``; flushed before leaving."""
    original = sys.stdout
    sys.stdout = _GuardedText(original)
    try:
        yield
        sys.stdout.flush()
    finally:
        sys.stdout = original
