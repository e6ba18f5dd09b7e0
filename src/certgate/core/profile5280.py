"""The RFC 5280 certificate profile a strict verifier holds every certificate on a path to.

Each rule is a MUST of RFC 5280 (or RFC 5480 for EC keys) that a relying party can check on
the certificate alone: extension criticality, required identifiers, non-empty names and
sequences, EC curve encoding (serial size and duplicated or unreadable extensions are
``wellformed``'s, for every engine); x509-limbo's ``rfc5280::*`` cases expect a refusal for each.
Tolerated: a non-critical nameConstraints (CA/Browser Forum rules allow it, as cryptography's
verifier does) and a non-critical basicConstraints in a CA (NIST PKITS 4.6.4 expects
acceptance: §6.1.4 k checks only that cA is set).
Only the ``rfc5280`` engine applies them (``Profile.strict_profile``); Windows and OpenSSL
tolerate most of them (docs/conformance.md lists which).
"""

from __future__ import annotations

from cryptography.x509.oid import ExtensionOID, PublicKeyAlgorithmOID

from certgate.core._cache import remembered
from certgate.core.der import der_header
from certgate.core.model import Certificate

__all__ = ["profile_violations"]

_AKI = ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string
_SKI = ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string
_AIA = ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string
_EKU = ExtensionOID.EXTENDED_KEY_USAGE.dotted_string
_SAN = ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string
_NAME_CONSTRAINTS = ExtensionOID.NAME_CONSTRAINTS.dotted_string
_SEQUENCE, _VERSION = 0x30, 0xA0
_POLICY_CONSTRAINTS = ExtensionOID.POLICY_CONSTRAINTS.dotted_string
_INHIBIT_ANY = ExtensionOID.INHIBIT_ANY_POLICY.dotted_string


def profile_violations(cert: Certificate, *, leaf: bool, anchor: bool = False) -> list[str]:
    """Each RFC 5280 profile rule ``cert`` breaks, as text (empty: it conforms).

    ``leaf``: the certificate is the end entity of the path (otherwise it issues certificates);
    ``anchor``: it is the path's trust anchor, whose issuer is not on the path, so its
    authorityKeyIdentifier is not needed (RFC 5280 §6.1.1 d takes the anchor as input).
    Worked out once per certificate and role.
    """
    key = ("profile5280", leaf, anchor)
    return list(remembered(cert, key, lambda: tuple(_violations(cert, leaf, anchor))))


def _violations(cert: Certificate, leaf: bool, anchor: bool) -> list[str]:
    if cert.x509 is None:
        return []  # judged as malformed by the parse check
    critical = dict(cert.extensions)
    found = _identifiers(cert, critical, leaf, anchor)
    found += _criticality(critical, leaf)
    found += _names(cert, critical, leaf)
    if _EKU in critical and not cert.extended_key_usage:
        found.append("extendedKeyUsage lists no purpose or is unreadable (§4.2.1.12: 1..MAX)")
    if _explicit_curve(cert):
        found.append("EC key with explicit curve parameters (RFC 5480 §2.1.1: namedCurve only)")
    return found


def _identifiers(
    cert: Certificate, critical: dict[str, bool], leaf: bool, anchor: bool
) -> list[str]:
    found = []
    if _AKI in critical:
        if cert.authority_key_identifier is None:
            found.append("authorityKeyIdentifier lacks keyIdentifier (§4.2.1.1)")
    elif not cert.self_issued and not anchor:
        found.append("no authorityKeyIdentifier, and not self-issued (§4.2.1.1)")
    if not leaf and _SKI not in critical:
        found.append("no subjectKeyIdentifier in a CA certificate (§4.2.1.2)")
    return found


def _criticality(critical: dict[str, bool], leaf: bool) -> list[str]:
    found = [
        f"{name} is marked critical ({section}: MUST NOT)"
        for oid, name, section in (
            (_AKI, "authorityKeyIdentifier", "§4.2.1.1"),
            (_SKI, "subjectKeyIdentifier", "§4.2.1.2"),
            (_AIA, "authorityInfoAccess", "§4.2.2.1"),
        )
        if critical.get(oid)
    ]
    found += [
        f"{name} is not marked critical ({section}: MUST be critical)"
        for oid, name, section in (
            (_POLICY_CONSTRAINTS, "policyConstraints", "§4.2.1.11"),
            (_INHIBIT_ANY, "inhibitAnyPolicy", "§4.2.1.14"),
        )
        if critical.get(oid) is False
    ]
    if leaf and _NAME_CONSTRAINTS in critical:
        found.append("nameConstraints in an end-entity certificate (§4.2.1.10: CAs only)")
    return found


def _names(cert: Certificate, critical: dict[str, bool], leaf: bool) -> list[str]:
    if not cert.subject.is_empty:
        return []
    found = [] if leaf else ["a CA certificate with an empty subject (§4.1.2.6)"]
    if _SAN not in critical:
        found.append("empty subject and no subjectAltName (§4.1.2.6)")
    elif not critical[_SAN]:
        found.append("empty subject, non-critical subjectAltName (§4.2.1.6: MUST be critical)")
    return found


def _explicit_curve(cert: Certificate) -> bool:
    """The certificate's own SPKI bytes (cryptography re-encodes a known curve by name)."""
    assert cert.x509 is not None
    if cert.x509.public_key_algorithm_oid != PublicKeyAlgorithmOID.EC_PUBLIC_KEY:
        return False
    return _spki_parameters_tag(cert.tbs_der) == _SEQUENCE  # ECParameters, not a curve OID


def _spki_parameters_tag(tbs: bytes) -> int | None:
    """The DER tag of the SPKI AlgorithmIdentifier's parameters in a TBSCertificate."""
    outer = der_header(tbs)
    if outer is None or outer.tag != _SEQUENCE:
        return None
    position = outer.header_length
    if position < len(tbs) and tbs[position] == _VERSION:
        position = _after(tbs, position)
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        position = _after(tbs, position)
    for _ in range(2):  # into subjectPublicKeyInfo, then into its algorithm
        header = der_header(tbs, position)
        if header is None or header.tag != _SEQUENCE:
            return None
        position += header.header_length
    position = _after(tbs, position)  # the algorithm OID
    header = der_header(tbs, position)
    return None if header is None else header.tag


def _after(data: bytes, position: int) -> int:
    header = der_header(data, position)
    return len(data) if header is None else position + header.total
