"""``certgate verify``: would Windows, OpenSSL and RFC 5280 accept this client certificate?"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import click

from certgate.cli._common import (
    at_option,
    json_option,
    os_version_setting,
    password_prompt,
    print_warnings,
    read_password,
)
from certgate.core.changes import Change, SetSendIssuerList, SetTrustMode
from certgate.core.checks import Purpose
from certgate.core.engines import ENGINES, Verdict, VerifyRequest, verify
from certgate.core.stores import CA, DISALLOWED, ROOT, Machine
from certgate.core.whatif import parse_what_if
from certgate.errors import UsageError
from certgate.exitcode import ExitCode
from certgate.formats import LoadWarning
from certgate.inputs import ClientFiles, Request, StoreFiles, load, setting_origins
from certgate.report.console import out_console
from certgate.report.jsonout import dumps, iso, origins_json
from certgate.report.verify import WhatIfResult, print_verify, verify_document

__all__ = ["command"]


class WhatIfParam(click.ParamType[Change, object]):
    name = "KEY=VALUE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Change:
        if isinstance(value, Change):
            return value
        try:
            return parse_what_if(str(value))
        except ValueError as exc:
            self.fail(str(exc))


@click.command("verify")
@click.argument("cert", type=click.Path())
@click.option(
    "--chain",
    "chain_files",
    multiple=True,
    type=click.Path(),
    help="Certificates the client sends with its own (PEM, DER, PKCS#7...). Repeatable.",
)
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(),
    help="Trusted Root store file(s). Repeatable.",
)
@click.option(
    "--ca",
    "cas",
    multiple=True,
    type=click.Path(),
    help="Intermediate (CA) store file(s). Repeatable.",
)
@click.option(
    "--ctl", "ctl", type=click.Path(), help="The binding's CTL store (sslctlstorename) as a file."
)
@click.option(
    "--disallowed", "disallowed", multiple=True, type=click.Path(), help="Disallowed store file(s)."
)
@click.option(
    "--machine",
    "machine_dir",
    type=click.Path(),
    help="A machine bundle folder (Root.sst, CA.p7b, ..., settings.toml).",
)
@click.option(
    "--trust-mode",
    type=click.Choice(["0", "1", "2"]),
    help="ClientAuthTrustMode (default: the bundle's, else 0).",
)
@click.option(
    "--send-issuer-list", is_flag=True, help="SendTrustedIssuerList=1 (default off on 2012+)."
)
@click.option(
    "--os-version",
    metavar="VERSION",
    help="The server's Windows version (2012, 2012r2, 2016, 2019, 2022, 2025, win10, or a build "
    "such as 10.0.17763); default: the bundle's, else unknown.",
)
@click.option(
    "--engine",
    "engine",
    type=click.Choice([*ENGINES, "all"]),
    default="all",
    show_default=True,
    help="Which engine(s) to run.",
)
@click.option(
    "--purpose",
    type=click.Choice([p.value for p in Purpose]),
    default="client",
    show_default=True,
    help="EKU the leaf must allow.",
)
@click.option(
    "--crl",
    "crl_files",
    multiple=True,
    type=click.Path(),
    help="CRL file(s) (PEM, DER, PKCS#7, .sst). Repeatable.",
)
@click.option(
    "--online",
    is_flag=True,
    help="Fetch CRLs from the certificates' distribution points (HTTP, 5 s timeout).",
)
@click.option(
    "--require-revocation",
    is_flag=True,
    help="rfc5280/openssl: no usable CRL for a certificate is a rejection.",
)
@click.option(
    "--partial-chain", is_flag=True, help="openssl: trust non-self-signed certificates in Root too."
)
@at_option
@click.option(
    "--what-if",
    "what_ifs",
    multiple=True,
    type=WhatIfParam(),
    help="Rerun the windows engine with a change: trust-mode=2, send-issuer-list=1, "
    "move=<sha1>:Root:CA, remove=<sha1>:Root, ctl-store=NAME, cert-check-mode=N. Repeatable.",
)
@json_option
@click.option("--password", help="Password for PKCS#12 files (else asked on the terminal).")
@click.option("--password-env", metavar="VAR", help="Read the PKCS#12 password from $VAR.")
def command(
    cert: str,
    chain_files: tuple[str, ...],
    roots: tuple[str, ...],
    cas: tuple[str, ...],
    ctl: str | None,
    disallowed: tuple[str, ...],
    machine_dir: str | None,
    trust_mode: str | None,
    send_issuer_list: bool,
    os_version: str | None,
    engine: str,
    purpose: str,
    crl_files: tuple[str, ...],
    online: bool,
    require_revocation: bool,
    partial_chain: bool,
    at: datetime,
    what_ifs: tuple[Change, ...],
    as_json: bool,
    password: str | None,
    password_env: str | None,
) -> int:
    """Judge a client certificate chain as Windows (Schannel/IIS), OpenSSL and RFC 5280 would,
    show every candidate path and failed check, and what a proposed fix would change.

    \b
    Examples:
      certgate verify client.pem --chain chain.pem --machine bundle/
      certgate verify client.pem --chain chain.pem --machine bundle/ --what-if trust-mode=2
      certgate verify client.cer --root Root.sst --ca CA.p7b --crl issuing.crl --json
    """
    engines, skipped = _engines(engine, Purpose(purpose), bool(what_ifs))
    loaded = load(
        Request(
            machine_dir,
            stores=(
                StoreFiles(ROOT, roots),
                StoreFiles(CA, cas),
                StoreFiles(DISALLOWED, disallowed),
            ),
            ctl=ctl,
            clients=(ClientFiles(cert, chain_files),),
            crls=crl_files,
            online_crls=online,
            os_version=os_version_setting(os_version),
            changes=_flags(trust_mode, send_issuer_list),
            password=read_password(password, password_env),
            prompt=password_prompt,
        )
    )
    (client,) = loaded.clients
    leaf, machine = client.leaf, loaded.machine
    request = VerifyRequest(
        leaf,
        client.chain,
        machine,
        Purpose(purpose),
        at,
        loaded.crls,
        partial_chain=partial_chain,
        require_revocation=require_revocation,
    )
    verdicts = verify(request, engines)
    results = _what_if(request, what_ifs)
    notes, warnings = (*machine.notes, *skipped), [*loaded.warnings, *_untrusting(machine)]
    if as_json:
        texts = [str(w) for w in warnings]
        settings = origins_json(setting_origins(loaded))
        document = verify_document(leaf, verdicts, results, texts, iso(at), notes, settings)
        click.echo(dumps(document))
    else:
        print_warnings(warnings)
        print_verify(out_console(), leaf, verdicts, results, notes, purpose=request.purpose)
    return ExitCode.of(not all(v.accepted for v in verdicts.values()))


def _engines(engine: str, purpose: Purpose, what_if: bool) -> tuple[list[str], tuple[str, ...]]:
    """The engines to run, and a note when the windows engine is left out."""
    engines = list(ENGINES) if engine == "all" else [engine]
    if purpose is Purpose.CLIENT or "windows" not in engines:
        return engines, ()
    # The windows engine models IIS/HTTP.sys accepting a *client* certificate (trusted-issuer
    # list, IIS substatus); it has nothing to say about a server certificate.
    if engine == "windows" or what_if:
        raise UsageError(
            "the windows engine and --what-if model IIS/Schannel client-certificate "
            f"authentication; use it with --purpose client, not {purpose.value}"
        )
    engines.remove("windows")
    return engines, ("windows engine not run: it models client-certificate authentication",)


def _untrusting(machine: Machine) -> list[LoadWarning]:
    if machine.store(ROOT).certificates:
        return []
    return [LoadWarning("Root", "no Root store given (--root or --machine): nothing is trusted")]


def _flags(trust_mode: str | None, send_issuer_list: bool) -> tuple[Change, ...]:
    changes: list[Change] = []
    if trust_mode is not None:
        changes.append(SetTrustMode(int(trust_mode), origin="--trust-mode"))
    if send_issuer_list:
        changes.append(SetSendIssuerList(True, origin="--send-issuer-list"))
    return tuple(changes)


def _what_if(request: VerifyRequest, changes: tuple[Change, ...]) -> list[WhatIfResult]:
    if not changes:
        return []
    before = verify(request, ["windows"])["windows"]
    steps: list[tuple[str, tuple[Change, ...]]] = [(str(c), (c,)) for c in changes]
    if len(changes) > 1:
        steps.append((" + ".join(str(c) for c in changes), changes))
    return [_rerun(request, before, label, group) for label, group in steps]


def _rerun(
    request: VerifyRequest, before: Verdict, label: str, group: tuple[Change, ...]
) -> WhatIfResult:
    machine = request.machine
    try:
        for change in group:
            machine = change.apply(machine)
    except ValueError as exc:
        raise UsageError(f"--what-if {label}: {exc}") from exc
    after = verify(replace(request, machine=machine), ["windows"])["windows"]
    return WhatIfResult(label, before, after)
