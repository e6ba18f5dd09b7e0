"""Audit rules: what in a machine's certificate stores breaks (or weakens) client authentication."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from certgate.core._cache import cached
from certgate.core.issuers import ISSUER_LIST_LIMIT, IssuerList, trusted_issuer_list
from certgate.core.model import Certificate, SelfSigned
from certgate.core.rules._registry import Hit, Registry, Severity
from certgate.core.stores import CA, DISALLOWED, ROOT, Machine, Store

__all__ = ["AUDIT_RULES", "AuditContext"]


@dataclass(frozen=True)
class AuditContext:
    machine: Machine
    at: datetime

    @cached
    def issuer_list(self) -> IssuerList:
        return trusted_issuer_list(self.machine)

    def stores(self) -> Iterator[Store]:
        return iter(self.machine.stores)


AUDIT_RULES: Registry[AuditContext] = Registry("audit")
rule = AUDIT_RULES.rule

KB2802568 = "KB 2802568"
KB942061 = "KB 942061"
MOVE_TO_CA = """\
Back up the Root store, then move the certificate to the Intermediate Certification
Authorities (CA) store:
  $roots = Get-ChildItem Cert:\\LocalMachine\\Root
  Export-Certificate -Cert $roots -Type SST -FilePath root-backup.sst
  $root = 'Cert:\\LocalMachine\\Root'; $ca = 'Cert:\\LocalMachine\\CA'
  Move-Item "$root\\{sha1}" $ca
Alternative when the certificate must stay: set ClientAuthTrustMode=2 (Exclusive CA Trust) under
HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL, then reboot."""


@rule(
    "root::not-self-signed",
    severity=Severity.ERROR,
    title="Non-self-signed certificate in Trusted Root",
    references=(KB2802568, KB942061, "docs/windows-model.md#mixed-root"),
    fix=MOVE_TO_CA,
)
def root_not_self_signed(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate in LocalMachine\\Root that another CA issued (typically an intermediate).

    On Windows Server 2012 and later, a Root store that mixes self-signed and non-self-signed
    certificates shrinks the trusted-issuer list to the non-self-signed ones when Root is the
    list's source (no CTL store with certificates, ClientAuthIssuer empty). Under
    ClientAuthTrustMode 0 or 1 Schannel then rejects every client certificate whose chain does
    not run through one of them: IIS 403.16 with sc-win32-status 2148204809 (0x800B0109,
    CERT_E_UNTRUSTEDROOT), WCF "native error code 0x109". Otherwise (the list comes from
    another store, or mode 2) it rejects nothing today: a warning that says what it affects.
    Decided cryptographically: the certificate's subject differs from its issuer.
    """
    root = ctx.machine.store(ROOT)
    effect, severity = misplaced_effect(ctx)
    for cert in root:
        if cert.self_signed is SelfSigned.NO:
            yield Hit(
                f"'{cert.subject}' is issued by '{cert.issuer}', so it is not self-signed; "
                + effect,
                cert,
                ROOT,
                severity=severity,
            )


def misplaced_effect(ctx: AuditContext) -> tuple[str, Severity]:
    """What a non-self-signed certificate in Root does on this machine, and how bad it is
    (docs/windows-model.md#mixed-root)."""
    setting = ctx.machine.schannel.client_auth_trust_mode
    mode = setting.value
    shown = f"ClientAuthTrustMode={mode}" + (" (the default)" if setting.is_default else "")
    source = ctx.issuer_list.source
    if mode in (0, 1) and source == ROOT:
        return (
            f"with {shown} and Root as the trusted-issuer list's source (no CTL store with "
            "certificates, ClientAuthIssuer empty), the list shrinks to the non-self-signed "
            "certificates and every client certificate whose chain does not run through one "
            "of them is rejected (403.16, 0x800B0109)",
            Severity.ERROR,
        )
    if mode in (0, 1):
        return (
            f"with {shown} the trusted-issuer list comes from {source}, so it rejects no client "
            "certificate today; it would (403.16, 0x800B0109) if that store were emptied or "
            "unbound, and it stays in Root where Microsoft says it does not belong (KB 942061)",
            Severity.WARNING,
        )
    return (
        f"with {shown} (Exclusive CA Trust) the issuer-list check does not apply, so it rejects "
        "no client certificate; where Root serves as the trusted store, chains may end at this "
        "CA; it would reject every other client certificate (403.16, 0x800B0109) if the mode "
        "went back to 0",
        Severity.WARNING,
    )


SELF_SIGNATURE_FIX = (
    "Replace it with the genuine root certificate from its CA (compare thumbprints with the CA's "
    "published root), and delete this copy from LocalMachine\\Root; back up Root first."
)
SELF_SIGNATURE_KNOWN = (
    "Windows cannot build a trusted chain through it (its signature does not verify: "
    "CERT_TRUST_IS_NOT_SIGNATURE_VALID), so certificates issued under it fail"
)
SELF_SIGNATURE_UNKNOWN = (
    "whether Schannel counts it as a non-self-signed certificate when it builds the "
    "trusted-issuer list from Root is not known: KB 2802568 decides by Issued To != Issued By, "
    "and this certificate's names are equal"
)


@rule(
    "root::self-signature-invalid",
    severity=Severity.WARNING,
    title="Self-signature does not verify: a root that names itself as issuer",
    references=(KB2802568, "docs/windows-model.md#mixed-root", "docs/confidence.md"),
    fix=SELF_SIGNATURE_FIX,
)
def root_self_signature_invalid(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate whose subject equals its issuer but whose own key does not verify its
    signature (Windows Update root lists have carried one such root). Known: Windows cannot
    build a trusted chain through it. Not known: whether Schannel treats it as a
    non-self-signed certificate in Root for the trusted-issuer list (KB 2802568 decides by
    names, which are equal here), so certgate does not report it as root::not-self-signed.
    """
    for cert in ctx.machine.store(ROOT):
        if cert.self_signed is SelfSigned.NAMES_ONLY:
            yield Hit(
                f"'{cert.subject}' names itself as issuer, but its own key does not verify its "
                f"signature. Known: {SELF_SIGNATURE_KNOWN}. Not known [unconfirmed]: "
                f"{SELF_SIGNATURE_UNKNOWN}",
                cert,
                ROOT,
            )


@rule(
    "root::self-signature-unchecked",
    severity=Severity.WARNING,
    title="Root's self-signature could not be checked",
    references=(
        "KB 2802568",
        "docs/windows-model.md#mixed-root",
    ),
    fix="Check the certificate on Windows (certutil -verify) or replace it.",
)
def root_self_signature_unchecked(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate in Root that names itself as issuer, signed with an algorithm or key
    certgate cannot verify. Whether Windows treats it as self-signed is unknown.
    """
    for cert in ctx.machine.store(ROOT):
        if cert.self_signed is SelfSigned.UNKNOWN:
            check = cert.signed_by(cert)
            yield Hit(
                f"'{cert.subject}' names itself as issuer, but its signature could not be "
                f"checked ({check.reason})",
                cert,
                ROOT,
            )


@rule(
    "root::end-entity",
    severity=Severity.WARNING,
    title="End-entity (CA:FALSE) certificate in Trusted Root",
    references=("RFC 5280 §4.2.1.9", KB942061),
    fix="Remove it from Root; trust a leaf by pinning it, not by making it a root.",
)
def root_end_entity(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate whose basicConstraints says it is not a CA sits in Root. It cannot issue
    client certificates; it only lengthens the issuer list, and if it is not self-signed it
    also triggers the KB 2802568 failure.
    """
    for cert in ctx.machine.store(ROOT):
        constraints = cert.basic_constraints
        if constraints is not None and not constraints.ca:
            yield Hit(f"'{cert.subject}' is an end-entity certificate (CA:FALSE)", cert, ROOT)


@rule(
    "ca::self-signed-root",
    severity=Severity.WARNING,
    title="Self-signed root in the Intermediate (CA) store",
    references=(
        "https://learn.microsoft.com/en-us/windows-server/security/tls/what-s-new-in-tls-ssl-schannel-ssp-overview",
        "docs/windows-model.md#issuer-list",
    ),
    fix="If clients chain to it, import it into Root too; otherwise remove it from CA.",
)
def ca_self_signed_root(ctx: AuditContext) -> Iterator[Hit]:
    """A self-signed certificate in the Intermediate store is not trusted from there: a client
    chain that ends at it fails unless the same certificate is also in Root.
    """
    root = ctx.machine.store(ROOT)
    for cert in ctx.machine.store(CA):
        if cert.self_signed is SelfSigned.YES and cert not in root:
            yield Hit(
                f"'{cert.subject}' is a self-signed root stored as an intermediate and is not "
                "in Root",
                cert,
                CA,
            )


@rule(
    "root::expired",
    severity=Severity.WARNING,
    title="Expired root",
    references=("RFC 5280 §6.1.3",),
    fix="Remove the expired root once no client chains to it; import its successor.",
)
def root_expired(ctx: AuditContext) -> Iterator[Hit]:
    """A root past its notAfter date. Client certificates that chain to it fail time checks
    (403.17 on IIS, CERT_E_EXPIRED), and it still takes room in the issuer list.
    """
    for cert in ctx.machine.store(ROOT):
        if cert.not_after < ctx.at:
            yield Hit(f"'{cert.subject}' expired on {cert.not_after:%Y-%m-%d}", cert, ROOT)


@rule(
    "root::not-yet-valid",
    severity=Severity.WARNING,
    title="Root not valid yet",
    references=("RFC 5280 §6.1.3",),
    fix="Check the machine clock and the certificate's notBefore date.",
)
def root_not_yet_valid(ctx: AuditContext) -> Iterator[Hit]:
    """A root whose notBefore date is still in the future at the audit time."""
    for cert in ctx.machine.store(ROOT):
        if cert.not_before > ctx.at:
            yield Hit(
                f"'{cert.subject}' is not valid before {cert.not_before:%Y-%m-%d %H:%M} UTC",
                cert,
                ROOT,
            )


@rule(
    "store::duplicate",
    severity=Severity.INFO,
    title="Same certificate stored twice",
    fix="Keep one copy.",
)
def store_duplicate(ctx: AuditContext) -> Iterator[Hit]:
    """The same certificate (identical bytes) appears more than once in one store, usually
    from importing the same bundle twice. Harmless, but it inflates the issuer list if sent.
    """
    for store in ctx.stores():
        counts: dict[Certificate, int] = defaultdict(int)
        for cert in store:
            counts[cert] += 1
        for cert, count in counts.items():
            if count > 1:
                yield Hit(f"'{cert.subject}' appears {count} times", cert, store.name)


@rule(
    "store::subject-several-keys",
    severity=Severity.WARNING,
    title="One subject, several keys",
    references=("RFC 5280 §4.2.1.1",),
    fix="Keep the key clients chain to; remove retired ones, or make sure every certificate "
    "carries an Authority Key Identifier.",
)
def store_subject_several_keys(ctx: AuditContext) -> Iterator[Hit]:
    """Certificates with the same subject name but different public keys in one store (a
    renewed CA, or an impostor). Path building then picks an issuer by key identifier or by
    trying signatures; a client chain without an Authority Key Identifier may be judged against
    the wrong one.
    """
    for store in ctx.stores():
        by_subject: dict[object, dict[bytes, Certificate]] = defaultdict(dict)
        for group in _same_subject_groups(store):
            for cert in group:
                by_subject[cert.subject].setdefault(cert.spki_der, cert)
        for keys in by_subject.values():
            if len(keys) > 1:
                certs = list(keys.values())
                thumbprints = ", ".join(c.sha1 for c in certs)
                yield Hit(
                    f"'{certs[0].subject}' exists with {len(certs)} different keys ({thumbprints})",
                    certs[0],
                    store.name,
                    evidence=tuple(c.sha1 for c in certs),
                )


def _same_subject_groups(store: Store) -> Iterator[list[Certificate]]:
    """Candidate groups of certificates that may share a subject name.

    Bucketing by the common name's bytes first (a necessary condition for equal names)
    avoids decoding every name of a large store just to find the few that repeat.
    """
    buckets: dict[str, list[Certificate]] = defaultdict(list)
    for cert in store:
        buckets[cert.subject.bucket].append(cert)
    return (group for group in buckets.values() if len(group) > 1)


@rule(
    "store::also-disallowed",
    severity=Severity.ERROR,
    title="Certificate is also in Disallowed",
    references=("TRUST_E_EXPLICIT_DISTRUST 0x800B0111",),
    fix="Decide: remove it from {store}, or remove it from Disallowed if the distrust is obsolete.",
)
def store_also_disallowed(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate present both in a trust store and in Disallowed is explicitly
    distrusted: every chain through it fails with TRUST_E_EXPLICIT_DISTRUST (0x800B0111).
    """
    disallowed = ctx.machine.store(DISALLOWED)
    if not len(disallowed):
        return
    for store in ctx.stores():
        if store.name == DISALLOWED:
            continue
        for cert in dict.fromkeys(store):
            if cert in disallowed:
                yield Hit(
                    f"'{cert.subject}' is in {store.name} and in Disallowed: every chain "
                    "through it is rejected (0x800B0111)",
                    cert,
                    store.name,
                )


@rule(
    "issuer-list::too-large",
    severity=Severity.WARNING,
    title="Trusted-issuer list over Schannel's 16 KB limit",
    references=(
        "KB 933430",
        "KB 2880390",
        "Schannel event 36885",
        "docs/windows-model.md#issuer-list-size",
    ),
    fix="Remove roots not needed for client authentication, or name a small store for "
    "client-auth issuers (ClientAuthIssuer, or a CTL store on the binding); keep "
    "SendTrustedIssuerList=0.",
)
def issuer_list_too_large(ctx: AuditContext) -> Iterator[Hit]:
    """Schannel caps the trusted-issuer list at 16 KB. When it is sent
    (SendTrustedIssuerList=1) it is truncated (warning event 36885) and clients whose CA was
    cut cannot select a certificate (403.7). On Windows Server 2012 an oversized Root store
    breaks client authentication even when the list is not sent (KB 2880390). The byte count
    (2 + DER subject per CA) is [inferred].
    """
    issuers = ctx.issuer_list
    if not issuers.over_limit:
        return
    sent = ctx.machine.schannel.send_trusted_issuer_list.value
    yield Hit(
        f"the trusted-issuer list from {issuers.source} has {len(issuers.certificates)} CAs, "
        f"{issuers.size:,} bytes, over the {ISSUER_LIST_LIMIT:,}-byte limit"
        + ("; it is sent and will be truncated (event 36885)" if sent else ""),
        store=issuers.source,
        severity=Severity.ERROR if sent else Severity.WARNING,
    )


@rule(
    "cert::weak-signature",
    severity=Severity.WARNING,
    title="Weak signature algorithm",
    references=("RFC 6194", "Microsoft SHA-1 deprecation policy"),
    fix="Ask the CA for a certificate signed with SHA-256 or better.",
)
def weak_signature(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate signed with MD5 or SHA-1. For a self-signed root this is informational:
    nobody verifies a root's self-signature for trust. For any other certificate the signature
    is what chains it, and SHA-1 chains are refused by modern verifiers.
    """
    for store in ctx.stores():
        if store.name == DISALLOWED:
            continue
        for cert in store:
            alg = cert.signature_algorithm
            if not alg.weak:
                continue
            is_root = cert.self_signed is SelfSigned.YES
            yield Hit(
                f"'{cert.subject}' is signed with {alg.name}"
                + (" (a root's self-signature: informational)" if is_root else ""),
                cert,
                store.name,
                severity=Severity.INFO if is_root else Severity.WARNING,
            )


_MIN_BITS = {"RSA": 2048, "DSA": 2048, "EC": 256}


@rule(
    "cert::weak-key",
    severity=Severity.WARNING,
    title="Weak public key",
    references=("NIST SP 800-131A",),
    fix="Retire the CA key; re-issue under a 2048-bit RSA or P-256 key or stronger.",
)
def weak_key(ctx: AuditContext) -> Iterator[Hit]:
    """An RSA or DSA key under 2048 bits, or an EC key under 256 bits. A CA key that weak can
    be forged, so certificates it signs prove little.
    """
    for store in ctx.stores():
        if store.name == DISALLOWED:
            continue
        for cert in store:
            info = cert.key_info
            minimum = _MIN_BITS.get(info.algorithm)
            if minimum and info.size < minimum:
                yield Hit(f"'{cert.subject}' has a {info} key", cert, store.name)


@rule(
    "cert::parse-issue",
    severity=Severity.WARNING,
    title="Certificate is malformed",
    references=("RFC 5280 §4.1",),
    fix="Replace it with a well-formed certificate from its CA.",
)
def parse_issue(ctx: AuditContext) -> Iterator[Hit]:
    """A certificate that cryptography refused or warned about (a negative serial number, an
    over-long name, bad encoding). It was still loaded and audited; stricter stacks may reject
    it outright.
    """
    for store in ctx.stores():
        for cert in store:
            for issue in cert.parse_issues:
                yield Hit(f"'{cert.subject}': {issue}", cert, store.name)
