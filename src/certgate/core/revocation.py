"""Revocation from CRLs the caller already has (files the user gave, or fetched by an adapter).

A CRL counts for a certificate when its issuer name is the certificate's issuer, the issuer's
key verifies it, the issuer may sign CRLs (keyUsage cRLSign when keyUsage is present), it is
current at the judged time, it carries no critical extension we do not understand, and its
issuingDistributionPoint scope (when present) covers the certificate. Indirect and delta CRLs
are not used: certgate says "unknown" rather than guess.
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

__all__ = ["RevocationPolicy", "RevocationResult", "RevocationStatus", "check_revocation"]


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
) -> RevocationResult:
    """``other_signers``: further certificates of the issuing CA (same name, another key) that
    are validated on the same path, e.g. around a self-issued key rollover; a CRL signed by
    any of them counts (RFC 5280 §6.3.3 f, restricted to the path being judged)."""
    named = [c for c in crls if Name.from_cryptography(c.issuer) == cert.issuer]
    if not named:
        return RevocationResult(RevocationStatus.UNKNOWN, f"no CRL from {cert.issuer} was given")
    refusals: list[str] = []
    usable: list[x509.CertificateRevocationList] = []
    for crl in named:
        refusal = None
        for signer in (issuer, *other_signers):
            refusal = _unusable(crl, cert, signer, at)
            if refusal is None:
                usable.append(crl)
                break
        if refusal:
            refusals.append(refusal)
    for crl in usable:
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial)
        if entry is not None and _counts(entry):
            when = entry.revocation_date_utc
            return RevocationResult(
                RevocationStatus.REVOKED, f"revoked on {when:%Y-%m-%d} (CRL from {cert.issuer})"
            )
    if usable:
        return RevocationResult(RevocationStatus.GOOD, f"not on the current CRL from {cert.issuer}")
    return RevocationResult(RevocationStatus.UNKNOWN, "no usable CRL: " + "; ".join(refusals))


def _unusable(
    crl: x509.CertificateRevocationList, cert: Certificate, issuer: Certificate, at: datetime
) -> str | None:
    usage = issuer.key_usage
    if usage is not None and "crl_sign" not in usage:
        return f"{issuer.label} may not sign CRLs (keyUsage lacks cRLSign)"
    key = issuer.public_key()
    try:
        signed = key is not None and crl.is_signature_valid(key)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        signed = False
    if not signed:
        return f"CRL signature does not verify with {issuer.label}'s key"
    if crl.last_update_utc > at:
        return f"CRL not yet valid (thisUpdate {crl.last_update_utc:%Y-%m-%d})"
    if crl.next_update_utc is not None and crl.next_update_utc < at:
        return f"CRL expired (nextUpdate {crl.next_update_utc:%Y-%m-%d})"
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
