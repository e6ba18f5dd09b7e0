"""Causes in building the client chain: a root or intermediate the machine lacks."""

from __future__ import annotations

from collections.abc import Iterator

from certgate.core.checks import CheckStatus
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    Claim,
    Evidence,
    EvidenceKind,
    Fix,
    ImportCertificates,
    Manual,
    SampleClient,
    Strength,
)
from certgate.core.doctor._registry import (
    CHAINING,
    DIAGNOSIS_RULES,
)
from certgate.core.engines import Confidence, Verdict
from certgate.core.listing import normalize_dn
from certgate.core.model import Certificate
from certgate.core.paths import PathEnd
from certgate.core.stores import CA, ROOT, Machine

__all__: list[str] = []

rule = DIAGNOSIS_RULES.rule


# -- a missing root or intermediate for the clients' issuers ---------------------------------


@rule(
    "cause::missing-issuer",
    title="The client certificates' issuing CA or root is missing",
    references=("KB 942061", "KB 2802568", "docs/windows-model.md#mixed-root"),
)
def missing_issuer(ctx: DoctorContext) -> Iterator[Claim]:
    """The chain of a client certificate cannot be built to a trusted root on this machine:
    its root is not in LocalMachine\\Root, or an intermediate is neither sent by the client nor
    in the Intermediate (CA) store. Decided from the windows engine's path for each sample
    client certificate, and, for issuers named in logs, by looking the name up in the stores
    (a name comparison, [inferred]).
    """
    for client, verdict in ctx.verdicts:
        claim = _missing_for_client(ctx, client, verdict)
        if claim is not None:
            yield claim
    if ctx.machine.knows(ROOT):
        yield from _missing_for_logged(ctx)


def _missing_for_client(ctx: DoctorContext, client: SampleClient, verdict: Verdict) -> Claim | None:
    if verdict.accepted or not verdict.paths:
        return None
    best = verdict.paths[0]
    failed = {c.code.value for c in verdict.reasons if c.status is CheckStatus.FAIL}
    if failed & {"not-in-issuer-list", "no-certificate"} or best.end not in (
        PathEnd.MISSING_ISSUER,
        PathEnd.UNTRUSTED_ROOT,
    ):
        return None
    top = best.certificates[-1]
    leaf = client.leaf
    witness = Evidence(
        EvidenceKind.VERDICT,
        f"the chain of '{leaf.subject}' [{leaf.sha1[:8]}] stops at '{top.subject}': "
        f"{verdict.message} ({verdict.code})",
        client.source or "sample client certificate",
        sha1=leaf.sha1,
    )
    if best.end is PathEnd.UNTRUSTED_ROOT:
        fix = Fix(
            "import-root",
            f"Import the root '{top.subject}' into LocalMachine\\Root",
            (ImportCertificates(ROOT, (top,)),),
            preferred=True,
        )
        what = f"the root '{top.subject}' is not in LocalMachine\\Root"
    else:
        fix = _import_missing(str(top.issuer), top)
        what = f"no certificate for the issuer '{top.issuer}' in Root, CA or the client's chain"
    return Claim(
        f"{what}, so '{leaf.subject}' cannot be chained to a trusted root",
        (witness, *_store_evidence(ctx.machine)),
        CHAINING,
        (fix,),
        key=str(top.issuer if best.end is PathEnd.MISSING_ISSUER else top.subject),
        verdict_codes=frozenset({"certgate:missing-issuer", "certgate:untrusted-root"}),
    )


def _import_missing(issuer: str, top: Certificate | None) -> Fix:
    return Fix(
        "import-issuer",
        f"Import the CA certificate '{issuer}' (a root into Root, an intermediate into CA)",
        (
            Manual(
                f"Get the certificate of '{issuer}' from the PKI that issues the client "
                "certificates, then: Import-Certificate -FilePath <ca>.cer -CertStoreLocation "
                "Cert:\\LocalMachine\\Root (a self-signed root) or Cert:\\LocalMachine\\CA (an "
                "intermediate); or have the clients send their intermediate."
            ),
        ),
        preferred=True,
    )


def _store_evidence(machine: Machine) -> tuple[Evidence, ...]:
    return tuple(
        Evidence(
            EvidenceKind.CERTIFICATE,
            f"{name} holds {len(machine.store(name))} certificate(s)",
            name if machine.knows(name) else "not exported",
            Confidence.CONFIRMED if machine.knows(name) else Confidence.UNCONFIRMED,
        )
        for name in (ROOT, CA)
    )


def _missing_for_logged(ctx: DoctorContext) -> Iterator[Claim]:
    known = _known_names(ctx.machine)
    missing: dict[tuple[str, ...], list[str]] = {}
    for seen in ctx.observed:
        if not seen.issuer or _dn(seen.issuer) in known:
            continue
        missing.setdefault(_dn(seen.issuer), []).append(seen.location)
    for issuer_dn, locations in missing.items():
        issuer = next(s.issuer for s in ctx.observed if s.issuer and _dn(s.issuer) == issuer_dn)
        assert issuer is not None
        yield Claim(
            f"clients present certificates issued by '{issuer}', and no certificate of that "
            "name is in Root, CA or ClientAuthIssuer",
            (
                Evidence(
                    EvidenceKind.LOG,
                    f"client certificates issued by '{issuer}' in the logs",
                    locations[0],
                    lines=tuple(locations[:2]),
                ),
                Evidence(
                    EvidenceKind.CERTIFICATE,
                    f"no certificate named '{issuer}' in the exported stores (compared by name)",
                    "Root, CA, ClientAuthIssuer",
                    Confidence.INFERRED,
                ),
            ),
            CHAINING,
            (_import_missing(issuer, None),),
            Strength.LIKELY,
            key=issuer,
        )


def _dn(text: str) -> tuple[str, ...]:
    """Order-insensitive: logs print names in Windows (reversed) or RFC 4514 order."""
    return tuple(sorted(normalize_dn(text)))


def _known_names(machine: Machine) -> set[tuple[str, ...]]:
    names = {_dn(str(c.subject)) for s in machine.stores for c in s}
    names |= {_dn(c.subject) for c in machine.listed if c.subject}
    return names
