"""``certgate audit``: what in these certificate stores breaks client authentication?"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial

import click

from certgate.cli._common import (
    STORE_NAME,
    StoreAssignment,
    at_option,
    file_progress,
    json_option,
    password_prompt,
    print_warnings,
    read_password,
)
from certgate.core.audit import AuditReport, AuditScan
from certgate.core.model import Certificate
from certgate.core.rules import Severity
from certgate.core.stores import ROOT, Machine, canonical_store_name
from certgate.errors import InputError
from certgate.exitcode import ExitCode
from certgate.formats import Loaded, LoadWarning
from certgate.formats.stream import Restart, StreamInputs
from certgate.inputs import StoreFiles
from certgate.report.audit import RowSpool, print_audit, verdict, write_audit_json

__all__ = ["command"]

FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


@contextmanager
def few_collections() -> Iterator[None]:
    """No cyclic garbage collection while a store is loaded, audited and reported.

    A large store is hundreds of thousands of small, long-lived, acyclic objects; every
    collection walks all of them again, which makes an audit grow faster than the store (the
    collector was a third of a 100,000-certificate audit). Reference counting still frees
    everything as usual; cycles made meanwhile are collected when this ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@click.command("audit")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--store",
    "store",
    type=STORE_NAME,
    default=ROOT,
    show_default=True,
    help="Store the PATHs belong to (Root, CA, ClientAuthIssuer, Disallowed, My, or a CTL "
    "store name).",
)
@click.option(
    "--add",
    "extra",
    type=StoreAssignment(),
    multiple=True,
    help="Also load PATH into STORE, e.g. --add Disallowed=disallowed.sst. Repeatable.",
)
@click.option("--system", is_flag=True, help="Audit this machine's own trust store(s) too.")
@click.option(
    "--machine",
    "bundle",
    type=click.Path(),
    help="A machine bundle (folder or zip, see README) or one exported file; PATHs and --add "
    "are added to its stores.",
)
@click.option(
    "--send-issuer-list",
    is_flag=True,
    help="Assume SendTrustedIssuerList=1 (the issuer list is sent; 0 is the 2012+ default).",
)
@at_option
@json_option
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option(
    "--all",
    "every_row",
    is_flag=True,
    help="List every finding in the table (default: the first 10 of each rule, the rest "
    "counted; --json always has every finding).",
)
@click.option("--password", help="Password for PKCS#12 files (else asked on the terminal).")
@click.option("--password-env", metavar="VAR", help="Read the PKCS#12 password from $VAR.")
@few_collections()
def command(
    paths: tuple[str, ...],
    store: str,
    extra: tuple[tuple[str, str], ...],
    system: bool,
    bundle: str | None,
    send_issuer_list: bool,
    at: datetime,
    as_json: bool,
    fail_on: str,
    every_row: bool,
    password: str | None,
    password_env: str | None,
) -> int:
    """Audit certificate stores (PEM, DER, PKCS#7, PFX, .sst, folders) for what breaks
    client-certificate authentication, such as an intermediate CA in Trusted Root (KB 2802568).

    \b
    Examples:
      certgate audit root.sst
      certgate audit exported-roots/ --add CA=intermediate.p7b --json
      certgate audit --system --fail-on warning
      certgate audit --machine bundle.zip
    """
    if not paths and not system and not extra and not bundle:
        raise click.UsageError("give at least one PATH, --add STORE=PATH, --machine or --system")
    secret = read_password(password, password_env)
    warnings: tuple[LoadWarning, ...] = ()
    settings = Machine()  # the bundle's stores and settings; PATHs and --add are streamed
    if bundle or send_issuer_list:
        from certgate.core.changes import SetSendIssuerList  # only then, as the next line
        from certgate.inputs import Request, load  # only then: reading a bundle costs imports

        changes = (
            (SetSendIssuerList(True, origin="--send-issuer-list"),) if send_issuer_list else ()
        )
        request = Request(bundle, changes=changes, password=secret, prompt=password_prompt)
        read = load(request)
        settings, warnings = read.machine, read.warnings
    inputs = [StoreFiles(store, paths)] + [StoreFiles(name, (path,)) for name, path in extra]
    threshold = FAIL_ON.get(fail_on)
    streamer = StreamInputs(password=secret, prompt=password_prompt)
    with file_progress("Reading") as on_file, RowSpool() as rows:
        streamer.on_file = on_file
        while True:  # once, unless a file turns out bad half-way (see formats.stream)
            try:
                report, loaded = _scan(settings, at, inputs, system, streamer, rows, as_json)
                break
            except Restart:
                rows.close()
        warnings += loaded
        if as_json:
            lines = rows.lines(s.name for s in report.stores)
            with _buffered() as write:
                write_audit_json(write, report, threshold, warnings, lines)
    if not as_json:
        from certgate.report.console import out_console  # rich: only for the console report

        print_warnings(warnings)
        print_audit(out_console(), report, threshold, every_row=every_row)
    failed, _ = verdict(report, threshold)
    return ExitCode.of(failed)


@contextmanager
def _buffered(size: int = 1 << 16) -> Iterator[Callable[[str], None]]:
    """A writer to stdout that hands ``click.echo`` pieces of ~``size`` characters, not the
    100,000 rows of a large audit one by one."""
    pieces: list[str] = []
    held = 0

    def write(text: str) -> None:
        nonlocal held
        pieces.append(text)
        held += len(text)
        if held >= size:
            click.echo("".join(pieces), nl=False)
            pieces.clear()
            held = 0

    yield write
    if pieces:
        click.echo("".join(pieces), nl=False)


def _scan(
    settings: Machine,
    at: datetime,
    inputs: list[StoreFiles],
    system: bool,
    streamer: StreamInputs,
    rows: RowSpool,
    with_rows: bool,
) -> tuple[AuditReport, tuple[LoadWarning, ...]]:
    """Judge every certificate as it is read: the bundle's stores, then the PATHs and --add
    files in order, then the system stores; each store ends up where ``inputs.load`` would
    put it. Returns the report and the loading warnings."""
    scan = AuditScan(settings, at)
    warnings: list[LoadWarning] = []

    def feed(name: str, certs: Iterable[Certificate]) -> None:
        for cert in certs:
            scan.add(name, cert)
            if with_rows:
                rows.add(name, cert)

    def feed_one(name: str, cert: Certificate) -> None:
        scan.add(name, cert)
        if with_rows:
            rows.add(name, cert)

    for store in settings.stores:
        scan.touch(store.name)
        feed(store.name, store.certificates)
    for item in inputs:
        if not item.paths:
            continue
        name = canonical_store_name(item.store)
        result = streamer.paths(item.paths, partial(feed_one, name))
        if result.crls and not result.certificates:  # as inputs.load refuses it
            raise InputError(
                ", ".join(item.paths),
                f"{result.crls} CRL(s) and no certificate: a CRL is not a certificate store "
                f"(verify takes CRLs with --crl), so {name} would be empty",
            )
        scan.touch(name)
        warnings += result.warnings
    if system:
        from certgate.formats.system import load_system_stores  # imports ssl: only then

        system_stores: dict[str, Loaded] = load_system_stores()
        for name, part in system_stores.items():
            feed(canonical_store_name(name), part.certificates)
            scan.touch(name)
            warnings += part.warnings
    return scan.finish(), tuple(warnings)
