"""``certgate probe``: ask a live server how it does client-certificate authentication."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from certgate.cli._common import json_option, password_prompt, read_password
from certgate.cli.fleet import executor_options
from certgate.core.kb import knowledge_base
from certgate.core.probe import ProbeResult, Requirement, TlsVersion
from certgate.errors import InputError, UsageError
from certgate.exitcode import ExitCode
from certgate.report.console import err_console, out_console
from certgate.report.jsonout import dumps
from certgate.report.probe import print_probe, probe_document
from certgate.tls.credentials import load_credentials
from certgate.tls.probe import ALL_VERSIONS, ProbeOptions, ProbeTarget, probe, probe_many

__all__ = ["command", "parse_targets"]

_VERSIONS = {"1.2": (TlsVersion.TLS1_2,), "1.3": (TlsVersion.TLS1_3,), "all": ALL_VERSIONS}
_MAX_TARGETS_FILE = 64 * 1024 * 1024


@click.command("probe")
@click.argument("target", required=False, metavar="HOST[:PORT]")
@click.option("--sni", metavar="NAME", help="Server name to send (default: HOST; none for an IP).")
@click.option("--path", "paths", multiple=True, metavar="/P", help="Path to request. Repeatable.")
@click.option("--cert", type=click.Path(), help="Client certificate (PEM, DER, ...), with --key.")
@click.option("--key", type=click.Path(), help="Private key of --cert (PEM or DER).")
@click.option("--pfx", type=click.Path(), help="Client certificate and key in a PFX/PKCS#12.")
@click.option("--chain", type=click.Path(), help="Extra intermediates to send (any format).")
@click.option("--password", help="Password of the PFX or the key (else asked on the terminal).")
@click.option("--password-env", metavar="VAR", help="Read that password from $VAR.")
@click.option(
    "--tls", "tls", type=click.Choice(sorted(_VERSIONS)), default="all", show_default=True
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=300),
    default=5.0,
    show_default=True,
    help="Seconds to wait for each step: connect, handshake, answer.",
)
@click.option(
    "-f",
    "--file",
    "targets_file",
    type=click.Path(),
    help="Probe every target in it; prints JSON Lines.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=10,
    show_default=True,
    help="Targets probed at once with -f (per worker process with --workers/--dask).",
)
@executor_options
@json_option
def command(
    target: str | None,
    sni: str | None,
    paths: tuple[str, ...],
    cert: str | None,
    key: str | None,
    pfx: str | None,
    chain: str | None,
    password: str | None,
    password_env: str | None,
    tls: str,
    timeout: float,
    targets_file: str | None,
    concurrency: int,
    workers: int | None,
    dask: str | None,
    dask_timeout: float,
    as_json: bool,
) -> int:
    """Ask a live server whether it wants a client certificate (in the handshake, or only
    after a request: renegotiation, TLS 1.3 post-handshake), which CA names it sends, what it
    does without one, and whether a given certificate would be offered and accepted.

    Exit codes: 0 probed (whatever the verdict, unreachable targets included), 1 a client
    certificate given was refused on some version or path, 2 bad input or usage.

    \b
    Examples:
      certgate probe intranet.example.com
      certgate probe iis.example.com --path / --path /secure --pfx alice.pfx
      certgate probe 10.0.0.5:8443 --sni app.example.com --tls 1.2 --json
      certgate probe -f targets.txt --concurrency 20 > results.jsonl
      certgate probe -f targets.txt --workers 4 --concurrency 50 > results.jsonl
    """
    if (target is None) == (targets_file is None):
        raise UsageError("give one HOST[:PORT], or -f TARGETS_FILE")
    if (workers or dask) and targets_file is None:
        raise UsageError("--workers and --dask spread a target list: use them with -f")
    credentials = load_credentials(
        cert=cert,
        key=key,
        pfx=pfx,
        chain=chain,
        password=read_password(password, password_env),
        prompt=password_prompt,
    )
    options = ProbeOptions(_VERSIONS[tls], timeout, credentials)
    if targets_file is not None:
        targets = parse_targets(_read_targets(targets_file), targets_file, sni, paths)
        if workers or dask:
            return _spread(targets, options, concurrency, workers, dask, dask_timeout)
        return _many(targets, options, concurrency)
    assert target is not None
    result = probe(ProbeTarget.parse(target, sni=sni, paths=paths), options)
    if as_json:
        click.echo(dumps(probe_document(result, describe=knowledge_base().describe)))
    else:
        print_probe(out_console(), result, describe=knowledge_base().describe)
    return ExitCode.of(result.certificate_refused)


def parse_targets(
    text: str, source: str, sni: str | None = None, paths: tuple[str, ...] = ()
) -> list[ProbeTarget]:
    """One target a line: ``HOST[:PORT] [/path ...] [sni=NAME]``; ``#`` starts a comment.

    A line's own paths and SNI replace ``--path`` and ``--sni``.
    """
    targets: list[ProbeTarget] = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        own_paths = [w for w in words[1:] if w.startswith("/")]
        names = [w[4:] for w in words[1:] if w.startswith("sni=")]
        unknown = [w for w in words[1:] if not w.startswith(("/", "sni="))]
        try:
            if unknown:
                raise UsageError(f"unexpected {unknown[0]!r} (want /path or sni=NAME)")
            chosen = tuple(own_paths) or paths
            targets.append(
                ProbeTarget.parse(words[0], sni=names[-1] if names else sni, paths=chosen)
            )
        except UsageError as exc:
            raise InputError(source, str(exc), f"line {number}") from exc
    if not targets:
        raise InputError(source, "no targets in it")
    return targets


def _read_targets(path: str) -> str:
    target = Path(path)
    try:
        if target.stat().st_size > _MAX_TARGETS_FILE:
            raise InputError(path, "file is over 64 MiB")
        return target.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, "not UTF-8 text", f"byte {exc.start}") from exc
    except OSError as exc:
        raise InputError(path, (exc.strerror or str(exc)).lower()) from exc


def _many(targets: list[ProbeTarget], options: ProbeOptions, concurrency: int) -> int:
    counts = dict.fromkeys(Requirement, 0)
    refused = unreachable = 0
    describe = knowledge_base().describe
    with _progress(len(targets)) as advance:
        for result in probe_many(targets, options, concurrency=concurrency, on_done=advance):
            click.echo(dumps(probe_document(result, describe=describe), indent=None))
            counts[result.requirement] += 1
            refused += bool(result.certificate_refused)
            unreachable += result.error is not None
    summary = ", ".join(f"{n} {r.value}" for r, n in counts.items() if n)
    err_console().print(
        f"probed {len(targets)} target(s): {summary}; {unreachable} unreachable"
        + (f"; certificate refused by {refused}" if options.credentials else ""),
        markup=False,
    )
    return ExitCode.of(refused)


def _spread(
    targets: list[ProbeTarget],
    options: ProbeOptions,
    concurrency: int,
    workers: int | None,
    dask: str | None,
    dask_timeout: float,
) -> int:
    """The target list in batches on the fleet executor (a local pool or Dask), each batch
    probed with ``concurrency`` threads on its worker; lines come as batches finish."""
    from certgate.cli.fleet import progress_bar
    from certgate.fleet import make_executor
    from certgate.fleet._probe import batches, check_dask_credentials, probe_batch

    if dask:
        check_dask_credentials(dask, options.credentials is not None)
    counts: dict[str, int] = {}
    refused = unreachable = 0
    executor = make_executor(workers, dask, dask_timeout)
    try:
        with progress_bar("probing", len(targets), executor.where) as advance:
            for outcome in executor.run(probe_batch, batches(targets, options, concurrency)):
                if outcome.result is None:  # the worker died: say which targets were lost
                    lost = ", ".join(f"{t.host}:{t.port}" for t in outcome.item.targets)
                    err_console().print(
                        f"warning: not probed ({outcome.error}): {lost}", markup=False
                    )
                    unreachable += len(outcome.item.targets)
                    continue
                for line in outcome.result:
                    click.echo(dumps(line.document, indent=None))
                    counts[line.requirement] = counts.get(line.requirement, 0) + 1
                    refused += line.refused
                    unreachable += line.unreachable
                    advance(line.requirement)
    finally:
        executor.close()
    summary = ", ".join(f"{n} {r}" for r, n in counts.items())
    err_console().print(
        f"probed {len(targets)} target(s) on {executor.where}: {summary}; "
        f"{unreachable} unreachable"
        + (f"; certificate refused by {refused}" if options.credentials else ""),
        markup=False,
    )
    return ExitCode.of(refused)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[ProbeResult], None]]:
    console = err_console()
    if not console.is_terminal:
        yield lambda result: None
        return
    columns = (TextColumn("probing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("probe", total=total)
        yield lambda result: bar.advance(task)
