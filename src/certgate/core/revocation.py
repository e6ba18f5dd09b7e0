"""Revocation from CRLs the caller already has (files the user gave, or fetched by an adapter).

A CRL counts for a certificate when its issuer name is the certificate's issuer, the issuer's
key verifies it, the issuer may sign CRLs (keyUsage cRLSign when keyUsage is present), it is
current at the judged time, it carries no critical extension we do not understand, and its
issuingDistributionPoint scope (when present) covers the certificate. Indirect and delta CRLs
are not used: certgate says "unknown" rather than guess.

Revocation data is judged as a whole. A current CRL decides. Without one, a CRL past its
nextUpdate that is otherwise usable (signature, scope, extensions) still proves revocation
when it lists the certificate (``stale_proves=True``, RFC 5280 / OpenSSL), but never its
absence: not listed there is "unknown". A CRL that fails its signature is never used, and
every refusal is reported in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID

from certgate.core.model import Certificate
from certgate.core.names import Name

__all__ = [
    "RevocationPolicy",
    "RevocationResult",
    "RevocationStatus",
    "check_revocation",
    "refreshed",
]


class RevocationPolicy(StrEnum):
    OFF = "off"
    IF_AVAILABLE = "if-available"  # check when a CRL is at hand; unknown is a warning
    REQUIRED = "required"  # unknown is a failure


class RevocationStatus(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RevocationResult:
    status: RevocationStatus
    message: str
    offered: bool = False  # CRLs from the issuer were given, but none is current and usable
    stale: bool = False  # the decision rests on (or is unknown because of) a stale CRL


_CRL_EXTENSIONS = frozenset(
    {
        ExtensionOID.CRL_NUMBER.dotted_string,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME.dotted_string,
        ExtensionOID.ISSUING_DISTRIBUTION_POINT.dotted_string,
        ExtensionOID.FRESHEST_CRL.dotted_string,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string,
    }
)
_ENTRY_EXTENSIONS = frozenset(
    {
        CRLEntryExtensionOID.CRL_REASON.dotted_string,
        CRLEntryExtensionOID.INVALIDITY_DATE.dotted_string,
    }
)


def check_revocation(
    cert: Certificate,
    issuer: Certificate,
    crls: Sequence[x509.CertificateRevocationList],
    at: datetime,
    other_signers: Sequence[Certificate] = (),
    *,
    stale_proves: bool = True,
    strict: bool = False,
) -> RevocationResult:
    """``other_signers``: further certificates of the issuing CA (same name, another key) that
    are validated on the same path, e.g. around a self-issued key rollover; a CRL signed by
    any of them counts (RFC 5280 §6.3.3 f, restricted to the path being judged).
    ``stale_proves``: a listing on a CRL past its nextUpdate is a revocation (RFC 5280,
    OpenSSL); False for Windows, which does not use such a CRL at all. ``strict``: a CRL
    must carry a non-critical CRL number (RFC 5280 §5.2.3) to be used."""
    named = [c for c in crls if Name.from_cryptography(c.issuer) == cert.issuer]
    if not named:
        return RevocationResult(RevocationStatus.UNKNOWN, f"no CRL from {cert.issuer} was given")
    refusals: list[str] = []
    current: list[x509.CertificateRevocationList] = []
    stale: list[x509.CertificateRevocationList] = []
    for crl in named:
        refusal = None
        for signer in (issuer, *other_signers):
            refusal = _unusable(crl, cert, signer, strict)
            if refusal is None:
                break
        if refusal is None:
            refusal = _time_refusal(crl, at)
            if refusal is None:
                current.append(crl)
                continue
            if crl.last_update_utc <= at:  # past nextUpdate: stale, still signed and in scope
                stale.append(crl)
        refusals.append(refusal)
    for crl in current:
        entry = _listed(crl, cert)
        if entry is not None:
            return RevocationResult(
                RevocationStatus.REVOKED,
                f"revoked on {entry.revocation_date_utc:%Y-%m-%d} (CRL from {cert.issuer})",
            )
    if current:
        return RevocationResult(RevocationStatus.GOOD, f"not on the current CRL from {cert.issuer}")
    for crl in stale if stale_proves else ():
        entry = _listed(crl, cert)
        if entry is not None:
            return RevocationResult(
                RevocationStatus.REVOKED,
                f"revoked on {entry.revocation_date_utc:%Y-%m-%d}: listed on the CRL from "
                f"{cert.issuer} whose nextUpdate {_next(crl)} has passed; a stale CRL still "
                "proves revocation",
                stale=True,
            )
    return RevocationResult(
        RevocationStatus.UNKNOWN,
        "no usable CRL: " + "; ".join(refusals),
        offered=True,
        stale=bool(stale),
    )


def _listed(
    crl: x509.CertificateRevocationList, cert: Certificate
) -> x509.RevokedCertificate | None:
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial)
    return entry if entry is not None and _counts(entry) else None


def _next(crl: x509.CertificateRevocationList) -> str:
    when = crl.next_update_utc
    return f"{when:%Y-%m-%d %H:%M} UTC" if when is not None else "(none)"


def _time_refusal(crl: x509.CertificateRevocationList, at: datetime) -> str | None:
    if crl.last_update_utc > at:
        return f"CRL not yet valid (thisUpdate {crl.last_update_utc:%Y-%m-%d})"
    if crl.next_update_utc is not None and crl.next_update_utc < at:
        return f"CRL expired (nextUpdate {crl.next_update_utc:%Y-%m-%d})"
    return None


def _unusable(
    crl: x509.CertificateRevocationList, cert: Certificate, issuer: Certificate, strict: bool
) -> str | None:
    """Why ``crl`` cannot speak for ``cert`` whatever the time (None: it can)."""
    usage = issuer.key_usage
    if usage is not None and "crl_sign" not in usage:
        return f"{issuer.label} may not sign CRLs (keyUsage lacks cRLSign)"
    if not _verifies(crl, issuer.public_key()):
        return f"CRL signature does not verify with {issuer.label}'s key: unusable"
    try:
        extensions = list(crl.extensions)
    except ValueError as exc:
        return f"CRL extensions unreadable: {exc}"
    unknown = [
        e.oid.dotted_string
        for e in extensions
        if e.critical and e.oid.dotted_string not in _CRL_EXTENSIONS
    ]
    if unknown:
        return f"CRL has unrecognised critical extension(s) {', '.join(unknown)}"
    if strict:
        number = [e for e in extensions if isinstance(e.value, x509.CRLNumber)]
        if not number or number[0].critical:
            state = "marked critical" if number else "missing"
            return f"CRL number {state} (RFC 5280 §5.2.3: required, non-critical): unusable"
    scope = _scope_refusal(extensions, cert)
    if scope:
        return scope
    return _entry_refusal(crl)


def _scope_refusal(
    extensions: list[x509.Extension[x509.ExtensionType]], cert: Certificate
) -> str | None:
    for ext in extensions:
        value = ext.value
        if not isinstance(value, x509.IssuingDistributionPoint):
            continue
        if value.indirect_crl:
            return "indirect CRLs are not used"
        if value.only_contains_user_certs and cert.is_ca:
            return "CRL covers end-entity certificates only"
        if value.only_contains_ca_certs and not cert.is_ca:
            return "CRL covers CA certificates only"
        if value.only_contains_attribute_certs:
            return "CRL covers attribute certificates only"
        if value.only_some_reasons is not None:
            return "CRL covers only some revocation reasons"
    return None


def _entry_refusal(crl: x509.CertificateRevocationList) -> str | None:
    for entry in crl:
        try:
            extensions = list(entry.extensions)
        except ValueError as exc:
            return f"CRL entry extensions unreadable: {exc}"
        for ext in extensions:
            if ext.critical and ext.oid.dotted_string not in _ENTRY_EXTENSIONS:
                return f"CRL entry has unrecognised critical extension {ext.oid.dotted_string}"
    return None


def _counts(entry: x509.RevokedCertificate) -> bool:
    """removeFromCRL (reason 8) only appears in delta CRLs; it un-revokes."""
    try:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError):
        return True
    return reason is not x509.ReasonFlags.remove_from_crl


def refreshed(
    previous: Sequence[x509.CertificateRevocationList],
    fresh: Sequence[x509.CertificateRevocationList],
    signers: Sequence[Certificate],
) -> tuple[tuple[x509.CertificateRevocationList, ...], list[str]]:
    """The CRLs to use after a refresh, and a warning for each one kept back.

    A fresh CRL replaces the previous one from the same issuer unless it is worse: its
    signature fails with every known key of that issuer (``signers``: the CA certificates at
    hand), its thisUpdate is older, or its CRL number is lower. Then the previous CRL stays,
    so a refresh can never turn a revoked client into an accepted one by swapping in a broken
    or replayed CRL."""
    by_issuer: dict[Name, x509.CertificateRevocationList] = {}
    for crl in previous:
        name = Name.from_cryptography(crl.issuer)
        best = by_issuer.get(name)
        if best is None or crl.last_update_utc > best.last_update_utc:
            by_issuer[name] = crl
    kept: list[x509.CertificateRevocationList] = []
    warnings: list[str] = []
    for crl in fresh:
        name = Name.from_cryptography(crl.issuer)
        old = by_issuer.get(name)
        problem = None if old is None else _worse(crl, old, name, signers)
        if problem is None or old is None:
            kept.append(crl)
            continue
        warnings.append(f"the refreshed CRL from {name} {problem}: keeping the previous one")
        if old not in kept:
            kept.append(old)
    return tuple(kept), warnings


def _worse(
    crl: x509.CertificateRevocationList,
    old: x509.CertificateRevocationList,
    name: Name,
    signers: Sequence[Certificate],
) -> str | None:
    keys = [c.public_key() for c in signers if c.subject == name]
    if keys and not any(_verifies(crl, key) for key in keys):
        return "fails its signature"
    if crl.last_update_utc < old.last_update_utc:
        return (
            f"is older (thisUpdate {crl.last_update_utc:%Y-%m-%d %H:%M} before "
            f"{old.last_update_utc:%Y-%m-%d %H:%M})"
        )
    new_number, old_number = _crl_number(crl), _crl_number(old)
    if new_number is not None and old_number is not None and new_number < old_number:
        return f"has a lower CRL number ({new_number} after {old_number})"
    return None


def _verifies(crl: x509.CertificateRevocationList, key: object) -> bool:
    try:
        return key is not None and crl.is_signature_valid(key)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _crl_number(crl: x509.CertificateRevocationList) -> int | None:
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except (x509.ExtensionNotFound, ValueError):
        return None
