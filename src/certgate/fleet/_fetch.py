"""Bundles at an ``http(s)://`` URL: the worker downloads the zip to a private temporary file
(size-capped, timed out), reads it as any zip bundle, and deletes it. Only http and https;
redirects are followed by urllib only to http(s)."""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import unquote, urlsplit

from certgate.errors import InputError

__all__ = ["MAX_DOWNLOAD", "fetched", "is_url", "url_name"]

MAX_DOWNLOAD = 2 * 1024 * 1024 * 1024
TIMEOUT = 60.0
_CHUNK = 1024 * 1024


def is_url(path: str) -> bool:
    return path.startswith(("http://", "https://"))


def url_name(url: str) -> str:
    """The zip's name without ``.zip``: what a server is called when its manifest is not read."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    return name.removesuffix(".zip").removesuffix(".ZIP") or urlsplit(url).netloc


@contextmanager
def fetched(url: str, limit: int = MAX_DOWNLOAD) -> Iterator[Path]:
    """The URL's content in a temporary ``.zip`` file, removed afterwards."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise InputError(url, "only http:// and https:// URLs are read")
    with tempfile.TemporaryDirectory(prefix="certgate-fetch-") as folder:
        target = Path(folder) / "bundle.zip"
        try:
            with _OPENER.open(url, timeout=TIMEOUT) as answer:
                _copy(answer, target, url, limit)
        except urllib.error.HTTPError as exc:
            raise InputError(url, f"HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise InputError(url, f"cannot be downloaded: {reason}") from exc
        yield target


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.URLError(f"redirect to {newurl!r} refused (http(s) only)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


def _copy(answer: IO[bytes], target: Path, url: str, limit: int) -> None:
    total = 0
    with target.open("wb") as out:
        while chunk := answer.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                raise InputError(url, f"is over {limit:,} bytes: refused")
            out.write(chunk)
    if not total:
        raise InputError(url, "is empty")
