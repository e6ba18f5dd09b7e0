"""Audit rules: what in a machine's certificate stores breaks (or weakens) client authentication."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from certgate.core.issuers import (
    ISSUER_LIST_LIMIT,
    MIXED_ROOT,
    IssuerListSummary,
    issuer_list_source,
)
from certgate.core.model import Certificate, SelfSigned
from certgate.core.rules._registry import CertSummary, Hit, Registry, Severity
from certgate.core.rules._tally import StoreTally
from certgate.core.stores import CA, DISALLOWED, ROOT, Machine, canonical_store_name

__all__ = ["AUDIT_RULES", "AuditContext"]


class AuditContext:
    """What the audit rules look at: the machine's settings and listings, and its stores as
    they stream past.

    Rules registered with ``each=True`` run once per certificate, as it is read: ``cert`` is
    that certificate and ``store`` its store. The others run once at the end over the
    per-store ``StoreTally`` aggregates (``tally``, ``store_names``) and ``issuer_list``. The
    certificates of ``machine.stores`` are not looked at directly: whoever runs the audit feeds
    them (``certgate.core.audit``), so that an audit of a file of 100,000 certificates never
    holds them all.
    """

    def __init__(self, machine: Machine, at: datetime) -> None:
        self.machine = machine
        self.at = at
        self.cert: Certificate | None = None
        self.store = ""
        self.tallies: dict[str, StoreTally] = {}
        self.order: list[str] = []  # store names in the machine's order (see core.audit)
        self._issuer_list: IssuerListSummary | None = None
        self.listed_disallowed = frozenset(
            c.thumbprint for c in machine.listed_in(DISALLOWED) if c.thumbprint
        )

    @property
    def current(self) -> Certificate:
        """The certificate a per-certificate check judges."""
        if self.cert is None:
            raise RuntimeError("no certificate is being judged (a per-certificate rule ran late)")
        return self.cert

    def tally(self, name: str) -> StoreTally:
        """Store ``name``'s aggregates (empty if nothing was fed into it)."""
        found = self.tallies.get(name)
        if found is None:
            canonical = canonical_store_name(name)
            found = self.tallies.get(canonical) or StoreTally(canonical)
        return found

    def store_names(self) -> list[str]:
        return list(self.order)

    def knows(self, name: str) -> bool:
        return canonical_store_name(name) in self.tallies or self.machine.knows(name)

    @property
    def issuer_list(self) -> IssuerListSummary:
        """The trusted-issuer list, from the tallies: known once every store was read."""
        if self._issuer_list is None:
            self._issuer_list = self._issuers()
        return self._issuer_list

    def _issuers(self) -> IssuerListSummary:
        source, reason = issuer_list_source(
            self.machine, lambda name: self.tally(name).count, self.knows
        )
        tally = self.tally(source)
        count, size = len(tally.first), tally.issuer_bytes
        if source == ROOT and 0 < tally.self_signed < count:
            others = count - tally.self_signed
            return IssuerListSummary(
                ROOT, reason + MIXED_ROOT, others, size - tally.self_signed_bytes, True
            )
        return IssuerListSummary(source, reason, count, size)


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
    found = ctx.tally(ROOT).not_self_signed
    if not found:
        return
    effect, severity = misplaced_effect(ctx)
    for cert, held in found:
        yield Hit(
            f"'{cert.subject}' is issued by '{cert.issuer}', so it is not self-signed; " + effect,
            held,
            ROOT,
            severity=severity,
            summary=cert,
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
    each=True,
)
def root_self_signature_invalid(ctx: AuditContext) -> tuple[Hit, ...]:
    """A certificate whose subject equals its issuer but whose own key does not verify its
    signature (Windows Update root lists have carried one such root). Known: Windows cannot
    build a trusted chain through it. Not known: whether Schannel treats it as a
    non-self-signed certificate in Root for the trusted-issuer list (KB 2802568 decides by
    names, which are equal here), so certgate does not report it as root::not-self-signed.
    """
    cert = ctx.current
    if ctx.store != ROOT or cert.self_signed is not SelfSigned.NAMES_ONLY:
        return ()
    return (
        Hit(
            f"'{cert.subject}' names itself as issuer, but its own key does not verify its "
            f"signature. Known: {SELF_SIGNATURE_KNOWN}. Not known [unconfirmed]: "
            f"{SELF_SIGNATURE_UNKNOWN}",
            cert,
            ROOT,
        ),
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
    each=True,
)
def root_self_signature_unchecked(ctx: AuditContext) -> tuple[Hit, ...]:
    """A certificate in Root that names itself as issuer, signed with an algorithm or key
    certgate cannot verify. Whether Windows treats it as self-signed is unknown.
    """
    cert = ctx.current
    if ctx.store != ROOT or cert.self_signed is not SelfSigned.UNKNOWN:
        return ()
    check = cert.signed_by(cert)
    return (
        Hit(
            f"'{cert.subject}' names itself as issuer, but its signature could not be "
            f"checked ({check.reason})",
            cert,
            ROOT,
        ),
    )


@rule(
    "root::end-entity",
    severity=Severity.WARNING,
    title="End-entity (CA:FALSE) certificate in Trusted Root",
    references=("RFC 5280 §4.2.1.9", KB942061),
    fix="Remove it from Root; trust a leaf by pinning it, not by making it a root.",
    each=True,
)
def root_end_entity(ctx: AuditContext) -> tuple[Hit, ...]:
    """A certificate whose basicConstraints says it is not a CA sits in Root. It cannot issue
    client certificates; it only lengthens the issuer list, and if it is not self-signed it
    also triggers the KB 2802568 failure.
    """
    cert = ctx.current
    if ctx.store != ROOT:
        return ()
    constraints = cert.basic_constraints
    if constraints is None or constraints.ca:
        return ()
    return (Hit(f"'{cert.subject}' is an end-entity certificate (CA:FALSE)", cert, ROOT),)


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
    in_root = ctx.tally(ROOT).first
    for digest, cert, held in ctx.tally(CA).self_signed_roots:
        if digest not in in_root:
            yield Hit(
                f"'{cert.subject}' is a self-signed root stored as an intermediate and is not "
                "in Root",
                held,
                CA,
                summary=cert,
            )


@rule(
    "root::expired",
    severity=Severity.WARNING,
    title="Expired root",
    references=("RFC 5280 §6.1.3",),
    fix="Remove the expired root once no client chains to it; import its successor.",
    each=True,
)
def root_expired(ctx: AuditContext) -> tuple[Hit, ...]:
    """A root past its notAfter date. Client certificates that chain to it fail time checks
    (403.17 on IIS, CERT_E_EXPIRED), and it still takes room in the issuer list.
    """
    cert = ctx.current
    if ctx.store != ROOT or cert.not_after >= ctx.at:
        return ()
    return (Hit(f"'{cert.subject}' expired on {cert.not_after:%Y-%m-%d}", cert, ROOT),)


@rule(
    "root::not-yet-valid",
    severity=Severity.WARNING,
    title="Root not valid yet",
    references=("RFC 5280 §6.1.3",),
    fix="Check the machine clock and the certificate's notBefore date.",
    each=True,
)
def root_not_yet_valid(ctx: AuditContext) -> tuple[Hit, ...]:
    """A root whose notBefore date is still in the future at the audit time."""
    cert = ctx.current
    if ctx.store != ROOT or cert.not_before <= ctx.at:
        return ()
    return (
        Hit(
            f"'{cert.subject}' is not valid before {cert.not_before:%Y-%m-%d %H:%M} UTC",
            cert,
            ROOT,
        ),
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
    for name in ctx.store_names():
        for count, cert, held in ctx.tally(name).duplicated():
            yield Hit(f"'{cert.subject}' appears {count} times", held, name, summary=cert)


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
    for name in ctx.store_names():
        tally = ctx.tally(name)
        for group in tally.groups():
            if len(group.keys) > 1:
                digests = list(group.keys.values())
                thumbprints = [digest.hex().upper() for digest in digests]
                held = tally.certificate(digests[0])
                first = CertSummary.of(held) if held is not None else group.summary()
                yield Hit(
                    f"'{first.subject}' exists with {len(thumbprints)} different keys "
                    f"({', '.join(thumbprints)})",
                    held,
                    name,
                    evidence=tuple(thumbprints),
                    summary=first,
                )


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
    disallowed = ctx.tally(DISALLOWED).summaries
    if not disallowed:
        return
    for name in ctx.store_names():
        if name == DISALLOWED:
            continue
        tally = ctx.tally(name)
        for digest in tally.first:
            cert = disallowed.get(digest)
            if cert is not None:
                yield Hit(
                    f"'{cert.subject}' is in {name} and in Disallowed: every chain "
                    "through it is rejected (0x800B0111)",
                    tally.certificate(digest),
                    name,
                    summary=cert,
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
        f"the trusted-issuer list from {issuers.source} has {issuers.count} CAs, "
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
    each=True,
)
def weak_signature(ctx: AuditContext) -> tuple[Hit, ...]:
    """A certificate signed with MD5 or SHA-1. For a self-signed root this is informational:
    nobody verifies a root's self-signature for trust. For any other certificate the signature
    is what chains it, and SHA-1 chains are refused by modern verifiers.
    """
    cert = ctx.current
    if ctx.store == DISALLOWED:
        return ()
    alg = cert.signature_algorithm
    if not alg.weak:
        return ()
    is_root = cert.self_signed is SelfSigned.YES
    return (
        Hit(
            f"'{cert.subject}' is signed with {alg.name}"
            + (" (a root's self-signature: informational)" if is_root else ""),
            cert,
            ctx.store,
            severity=Severity.INFO if is_root else Severity.WARNING,
        ),
    )


_MIN_BITS = {"RSA": 2048, "DSA": 2048, "EC": 256}


@rule(
    "cert::weak-key",
    severity=Severity.WARNING,
    title="Weak public key",
    references=("NIST SP 800-131A",),
    fix="Retire the CA key; re-issue under a 2048-bit RSA or P-256 key or stronger.",
    each=True,
)
def weak_key(ctx: AuditContext) -> tuple[Hit, ...]:
    """An RSA or DSA key under 2048 bits, or an EC key under 256 bits. A CA key that weak can
    be forged, so certificates it signs prove little.
    """
    cert = ctx.current
    if ctx.store == DISALLOWED:
        return ()
    info = cert.key_info
    minimum = _MIN_BITS.get(info.algorithm)
    if not minimum or info.size >= minimum:
        return ()
    return (Hit(f"'{cert.subject}' has a {info} key", cert, ctx.store),)


@rule(
    "cert::parse-issue",
    severity=Severity.WARNING,
    title="Certificate is malformed",
    references=("RFC 5280 §4.1",),
    fix="Replace it with a well-formed certificate from its CA.",
    each=True,
)
def parse_issue(ctx: AuditContext) -> tuple[Hit, ...]:
    """A certificate that cryptography refused or warned about (a negative serial number, an
    over-long name, bad encoding). It was still loaded and audited; stricter stacks may reject
    it outright.
    """
    cert = ctx.current
    return tuple(Hit(f"'{cert.subject}': {issue}", cert, ctx.store) for issue in cert.parse_issues)
