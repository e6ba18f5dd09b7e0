"""Audit rules for certificates known only from a listing (Format-List, Format-Table, certutil).

Where the meaning is the same as for an exported certificate, the finding keeps the same rule id
(``Registry.also``) and its evidence says how it was decided: by names only, from local times.
What a listing cannot tell (signatures, keys, extensions) is reported by ``listed::unverified``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from certgate.core.listing import ListedCertificate
from certgate.core.rules._registry import Hit, Severity
from certgate.core.rules.audit import AUDIT_RULES, AuditContext, misplaced_effect
from certgate.core.stores import DISALLOWED, ROOT

__all__: list[str] = []

BY_NAMES = "by names only (the certificate was not exported; signature not checked)"
LOCAL_TIME = (
    "validity read from the listing, in the exporting machine's local time (zone unknown, "
    "so only decided when true in every zone)"
)
EXPORT_HINT = (
    "Export the store for a full audit: Get-ChildItem Cert:\\LocalMachine\\{store} | "
    "Export-Certificate -Type SST -FilePath {store}.sst"
)


def _listed_only(ctx: AuditContext, store: str) -> Iterator[ListedCertificate]:
    """Listed certificates of ``store`` that were not also exported (those are judged whole)."""
    exported = ctx.tally(store)
    for listed in ctx.machine.listed_in(store):
        if listed.thumbprint is None or not exported.holds(listed.thumbprint):
            yield listed


def _where(listed: ListedCertificate) -> str:
    return f"listed at {listed.source} ({listed.listing})"


@AUDIT_RULES.also("root::not-self-signed")
def listed_root_not_self_signed(ctx: AuditContext) -> Iterator[Hit]:
    """For a certificate known only from a listing, the decision is by names: its Subject
    differs from its Issuer. That is the KB 942061 test; it cannot see a certificate that names
    itself but was signed by another key, which only an export can show.
    """
    effect, severity = misplaced_effect(ctx)
    for listed in _listed_only(ctx, ROOT):
        if listed.names_self_issued is not False:
            continue
        certutil = tuple(f"certutil: {s}" for s in listed.certutil_says if "root" in s.lower())
        yield Hit(
            f"'{listed.subject}' is issued by '{listed.issuer}', so it is not self-signed; "
            + effect,
            store=ROOT,
            listed=listed,
            severity=severity,
            evidence=(BY_NAMES, _where(listed), *certutil),
        )


@AUDIT_RULES.also("root::expired")
def listed_root_expired(ctx: AuditContext) -> Iterator[Hit]:
    """For a listed root, expiry is decided from the listing's NotAfter, in the exporting
    machine's local time: only when it holds whatever that time zone was.
    """
    for listed in _listed_only(ctx, ROOT):
        if listed.expired_at(ctx.at) and listed.not_after is not None:
            yield Hit(
                f"'{listed.subject}' expired on {listed.not_after:%Y-%m-%d} (local time)",
                store=ROOT,
                listed=listed,
                evidence=(LOCAL_TIME, _where(listed)),
            )


@AUDIT_RULES.also("root::not-yet-valid")
def listed_root_not_yet_valid(ctx: AuditContext) -> Iterator[Hit]:
    """For a listed root, from the listing's NotBefore in the exporter's local time."""
    for listed in _listed_only(ctx, ROOT):
        if listed.not_yet_valid_at(ctx.at) and listed.not_before is not None:
            yield Hit(
                f"'{listed.subject}' is not valid before {listed.not_before:%Y-%m-%d %H:%M} "
                "(local time)",
                store=ROOT,
                listed=listed,
                evidence=(LOCAL_TIME, _where(listed)),
            )


@AUDIT_RULES.also("store::duplicate")
def listed_duplicate(ctx: AuditContext) -> Iterator[Hit]:
    """In a listing, the same thumbprint appears more than once in one store."""
    for store in ctx.machine.listed_store_names():
        counts = Counter(c.thumbprint for c in _listed_only(ctx, store) if c.thumbprint)
        for listed in _listed_only(ctx, store):
            count = counts.pop(listed.thumbprint, 0) if listed.thumbprint else 0
            if count > 1:
                yield Hit(
                    f"'{listed.subject}' appears {count} times",
                    store=store,
                    listed=listed,
                    evidence=(f"same thumbprint {listed.thumbprint}", _where(listed)),
                )


@AUDIT_RULES.also("store::also-disallowed")
def listed_also_disallowed(ctx: AuditContext) -> Iterator[Hit]:
    """A listed certificate whose thumbprint is in Disallowed (exported or listed), or an
    exported certificate whose thumbprint a Disallowed listing shows. Thumbprints are SHA-1 of
    the whole certificate, so a match is the same certificate.
    """
    machine = ctx.machine
    exported = ctx.tally(DISALLOWED)
    for store in machine.listed_store_names():
        if store == DISALLOWED:
            continue
        for listed in _listed_only(ctx, store):
            thumbprint = listed.thumbprint
            if thumbprint and (thumbprint in ctx.listed_disallowed or exported.holds(thumbprint)):
                yield Hit(
                    f"'{listed.subject}' is in {store} and in Disallowed: explicitly distrusted "
                    "wins (TRUST_E_EXPLICIT_DISTRUST)",
                    store=store,
                    listed=listed,
                    evidence=(f"thumbprint {listed.thumbprint}", _where(listed)),
                )


@AUDIT_RULES.also("store::also-disallowed", each=True)
def exported_listed_disallowed(ctx: AuditContext) -> tuple[Hit, ...]:
    """Checked for each exported certificate as it is read: its thumbprint is in a
    Disallowed listing."""
    if not ctx.listed_disallowed or ctx.store == DISALLOWED:
        return ()
    cert = ctx.current
    if cert.sha1 not in ctx.listed_disallowed:
        return ()
    return (
        Hit(
            f"'{cert.subject}' is in {ctx.store} and listed in Disallowed: "
            "explicitly distrusted wins (TRUST_E_EXPLICIT_DISTRUST)",
            cert,
            ctx.store,
            evidence=(f"thumbprint {cert.sha1} in the Disallowed listing",),
        ),
    )


@AUDIT_RULES.rule(
    "listed::unverified",
    severity=Severity.INFO,
    title="Certificates known only from a listing",
    references=(
        "KB 2802568",
        "docs/windows-model.md#mixed-root",
    ),
    fix=EXPORT_HINT,
)
def listed_unverified(ctx: AuditContext) -> Iterator[Hit]:
    """A listing shows names, a thumbprint and dates, not the certificate. These could not be
    checked for the listed certificates: self-signatures (root::self-signature-invalid,
    -unchecked), basic constraints (root::end-entity), key and signature strength
    (cert::weak-key, cert::weak-signature), malformed encodings, and the exact DER names that
    the trusted-issuer list and its 16 KB size are made of.
    """
    for store in ctx.machine.listed_store_names():
        only = list(_listed_only(ctx, store))
        if not only:
            continue
        unnamed = sum(1 for c in only if c.names_self_issued is None)
        detail = f"; {unnamed} without a full Subject and Issuer" if unnamed else ""
        yield Hit(
            f"{len(only)} certificate(s) in {store} are known only from a listing{detail}: "
            "signatures, keys and extensions were not checked",
            store=store,
            evidence=tuple(sorted({c.source.rsplit(":", 1)[0] for c in only})),
            fix=EXPORT_HINT.replace("{store}", store),
        )


@AUDIT_RULES.rule(
    "listed::not-exported",
    severity=Severity.WARNING,
    title="Listing and export of a store disagree",
    fix="Export the store and list it again at the same time, then re-run the audit.",
)
def listed_not_exported(ctx: AuditContext) -> Iterator[Hit]:
    """A store was both exported and listed, and the listing shows certificates the export
    lacks: the two were taken at different times, or the export was filtered. The audit judges
    the exported certificates fully and the others by names only.
    """
    for store in ctx.machine.listed_store_names():
        if not ctx.knows(store):
            continue
        for listed in _listed_only(ctx, store):
            if listed.thumbprint is not None:
                yield Hit(
                    f"'{listed.subject}' ({listed.thumbprint}) is listed in {store} but not in "
                    "its export",
                    store=store,
                    listed=listed,
                    evidence=(_where(listed),),
                )
