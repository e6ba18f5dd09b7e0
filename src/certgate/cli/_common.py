"""Options and helpers shared by the commands."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import click

from certgate.errors import UsageError

# rich (report.console, report._text) is imported inside the helpers that print: ~30 ms of
# start-up that `certgate explain` and `--help` do not pay (bench/startup.py).
if TYPE_CHECKING:  # commands that need them import them; `explain` and `--help` do not
    from certgate.core.settings import Setting
    from certgate.core.winver import WindowsVersion
    from certgate.formats import LoadWarning

__all__ = [
    "StoreAssignment",
    "TimeParam",
    "at_option",
    "byte_progress",
    "file_progress",
    "json_option",
    "listen_address",
    "os_version_setting",
    "password_prompt",
    "print_warnings",
    "read_password",
    "split_fields",
    "step_status",
]

F = TypeVar("F", bound=Callable[..., Any])


def listen_address(text: str, default_host: str) -> tuple[str, int]:
    """``--listen HOST:PORT`` (``[::1]:0``, ``:8443``); an empty host is ``default_host``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen must be HOST:PORT (port 0 = any free port), not {text!r}")
    return host.strip("[]") or default_host, int(port)


class TimeParam(click.ParamType[datetime, Any]):
    """``now``, a date (``2024-03-05``), an ISO-8601 time, or ``today``/``yesterday`` with an
    optional time of day (``"yesterday 10:00"``); naive times are UTC."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if text.lower() == "now":
            return datetime.now(UTC)
        day, _, clock = text.partition(" ")
        if day.lower() in ("today", "yesterday"):
            back = 1 if day.lower() == "yesterday" else 0
            text = f"{datetime.now(UTC).date() - timedelta(days=back)}T{clock.strip() or '00:00'}"
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
            except ValueError:
                self.fail(
                    f"{str(value).strip()!r} is not a time (use now, 2024-03-05, "
                    '2024-03-05T10:00Z or "yesterday 10:00")'
                )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class StoreName(click.ParamType[str, Any]):
    name = "STORE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from certgate.core.stores import canonical_store_name

        try:
            return canonical_store_name(str(value))
        except ValueError as exc:
            self.fail(str(exc))


class StoreAssignment(click.ParamType[tuple[str, str], Any]):
    """``STORE=PATH``: load PATH into the named store."""

    name = "STORE=PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        store, sep, path = str(value).partition("=")
        if not sep or not store or not path:
            self.fail(f"{value!r} is not STORE=PATH (for example Disallowed=disallowed.sst)")
        from certgate.core.stores import canonical_store_name

        try:
            return canonical_store_name(store), path
        except ValueError as exc:
            self.fail(str(exc))


def at_option(func: F) -> F:
    return click.option(
        "--at",
        "at",
        type=TimeParam(),
        default="now",
        show_default=True,
        help="Judge validity at this time (ISO 8601; naive times are UTC).",
    )(func)


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document (versioned schema)."
    )(func)


def os_version_setting(text: str | None) -> Setting[WindowsVersion] | None:
    """``--os-version``: the version, cited as given by that flag; a bad one is a usage error."""
    if text is None:
        return None
    from certgate.core.settings import Setting
    from certgate.core.winver import parse_windows_version

    try:
        return Setting(parse_windows_version(text), "--os-version")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--os-version") from exc


def read_password(password: str | None, password_env: str | None) -> bytes | None:
    if password is not None:
        return password.encode()
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            raise click.BadParameter(f"environment variable {password_env} is not set")
        return value.encode()
    return None


def password_prompt(path: str) -> bytes | None:
    """Ask on the terminal, once per PFX; without a terminal there is nobody to ask."""
    if not sys.stdin.isatty():
        return None
    value: str = click.prompt(
        f"Password for {path}", hide_input=True, default="", show_default=False, err=True
    )
    return value.encode()


@contextmanager
def file_progress(label: str) -> Iterator[Callable[[str], None] | None]:
    """A one-line status on stderr naming the file being read; nothing when not a terminal."""
    from certgate.report._text import escape
    from certgate.report.console import err_console

    console = err_console()
    if not console.is_terminal:
        yield None
        return
    with console.status(label) as status:
        yield lambda path: status.update(f"{label} {escape(path)}")


@contextmanager
def byte_progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A byte progress bar with ETA on stderr (``progress(done, total)``), only when stderr is
    a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from certgate.report.console import err_console

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    )
    task = bar.add_task(label, total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def step_status(label: str) -> Iterator[None]:
    """A spinner naming a step that can take seconds, on stderr, only on a terminal."""
    from certgate.report.console import err_console

    console = err_console()
    if not console.is_terminal:
        yield
        return
    with console.status(label):
        yield


def print_warnings(warnings: tuple[LoadWarning, ...] | list[LoadWarning], limit: int = 20) -> None:
    from certgate.report._text import escape
    from certgate.report.console import err_console

    console = err_console()
    for warning in warnings[:limit]:
        console.print(f"[yellow]warning:[/] {escape(str(warning))}")
    if len(warnings) > limit:
        console.print(f"[yellow]warning:[/] ... and {len(warnings) - limit} more (see --json)")


STORE_NAME = StoreName()


# A W3C extended log field identifier (c-ip, sc-win32-status, cs(User-Agent)) or an IIS custom
# field name; no spaces or control characters by construction (they are split on whitespace).
_W3C_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*(\([A-Za-z0-9_.-]+\))?")


def split_fields(text: str | None) -> tuple[str, ...] | None:
    """``--fields``: the W3C field names, with or without the ``#Fields:`` prefix."""
    if text is None:
        return None
    names = text.strip().removeprefix("#Fields:").split()
    example = '"date time c-ip sc-status sc-substatus sc-win32-status"'
    if not names:
        raise click.UsageError(f"--fields needs the W3C field names, e.g. {example}")
    for name in names:
        if not _W3C_FIELD.fullmatch(name):
            raise click.UsageError(
                f"--fields: {name!r} is not a W3C field name (letters, digits, -, _, ., "
                f"and a header in parentheses like cs(User-Agent)), e.g. {example}"
            )
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise click.UsageError(f"--fields: {', '.join(duplicated)} named twice")
    if "sc-status" not in names:
        # IIS W3C and HTTPERR rows are both judged by their status: without it no row is read.
        raise click.UsageError(
            f"--fields {_excerpt(text, 60)!r} has no sc-status field, so no row could be "
            f"judged; give the columns of the rows in order, e.g. {example}"
        )
    return tuple(names)


def _excerpt(text: str, limit: int) -> str:
    from certgate.core.events import excerpt

    return excerpt(text, limit)
