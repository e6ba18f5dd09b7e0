"""Causes in the machine's trust configuration: stores, the issuer list, Schannel values."""

from __future__ import annotations

from collections.abc import Iterator

from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    Action,
    CertRef,
    ChangeGroupPolicy,
    Claim,
    Evidence,
    EvidenceKind,
    Fix,
    ImportCertificates,
    Manual,
    MoveCertificates,
    SetSchannelValue,
    Strength,
)
from certgate.core.doctor._registry import (
    DIAGNOSIS_RULES,
    NOT_SELECTABLE,
    REBOOT,
    UNTRUSTED,
    setting_evidence,
)
from certgate.core.engines import Confidence
from certgate.core.issuers import ISSUER_LIST_LIMIT
from certgate.core.physical import GPO_PATHS
from certgate.core.rules import Finding
from certgate.core.rules.audit import (
    SELF_SIGNATURE_FIX,
    SELF_SIGNATURE_KNOWN,
    SELF_SIGNATURE_UNKNOWN,
)
from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, ROOT, Machine

__all__: list[str] = []

rule = DIAGNOSIS_RULES.rule


# -- non-self-signed certificates in Root (KB 2802568) ---------------------------------------


@rule(
    "cause::root-not-self-signed",
    title="Non-self-signed certificates in LocalMachine\\Root (KB 2802568)",
    references=("KB 2802568", "KB 942061", "docs/windows-model.md#mixed-root"),
)
def root_not_self_signed(ctx: DoctorContext) -> Iterator[Claim]:
    """A Root store that mixes self-signed roots with certificates another CA issued shrinks
    Schannel's trusted-issuer list to those non-self-signed certificates (when the list comes
    from Root: no CTL store with certificates, ClientAuthIssuer empty). Under ClientAuthTrustMode
    0 or 1 a client chain must contain a certificate from that list, so every client certificate
    whose chain does not run through one of them is rejected: IIS 403.16 / 2148204809
    (0x800B0109), WCF native error 0x109; with SendTrustedIssuerList=1 the client cannot even
    select a certificate (403.7). Built on the audit's root::not-self-signed findings (Issued
    To != Issued By, as the KB defines it).
    """
    machine = ctx.machine
    mode = machine.schannel.client_auth_trust_mode.value
    found = ctx.findings("root::not-self-signed")  # a bad self-signature: its own cause
    if mode == 2 or not found or ctx.audit.issuer_list.source != ROOT:
        return
    refs = tuple(_ref(f) for f in found)
    sent = machine.schannel.send_trusted_issuer_list.value
    names = ", ".join(_short(r.subject) for r in refs)
    summary = (
        f"{len(refs)} non-self-signed certificate(s) in LocalMachine\\Root ({names}); with "
        f"ClientAuthTrustMode={mode}"
        + (" (default)" if machine.schannel.client_auth_trust_mode.is_default else "")
        + " and Root as the trusted-issuer list's source, Schannel rejects every client "
        "certificate whose chain does not run through one of them (KB 2802568)"
        + (
            "; SendTrustedIssuerList=1 sends only these CAs, so clients cannot select a "
            "certificate (403.7)"
            if sent
            else ""
        )
    )
    evidence = (
        *(_cert_evidence(f, machine) for f in found),
        setting_evidence(machine, "ClientAuthTrustMode"),
        setting_evidence(machine, "SendTrustedIssuerList"),
        Evidence(
            EvidenceKind.CERTIFICATE,
            f"the trusted-issuer list (from Root) is reduced to these {len(refs)} "
            "non-self-signed certificate(s)",
            "Root",
        ),
        Evidence(
            EvidenceKind.VERDICT,
            "a client chain must contain a certificate from that list; a normal chain (leaf, "
            "issuing CA, self-signed root) contains none, so Schannel reports "
            "CERT_E_UNTRUSTEDROOT (0x800B0109)",
            "docs/windows-model.md#mixed-root",
            Confidence.INFERRED,
        ),
    )
    fixes = (*_origin_fixes(machine, refs), _trust_mode_2(sent))
    yield Claim(
        summary,
        evidence,
        UNTRUSTED | (NOT_SELECTABLE if sent else frozenset()),
        fixes,
        verdict_codes=frozenset({"certgate:not-in-issuer-list", "certgate:no-certificate"}),
    )


def _origin_fixes(machine: Machine, refs: tuple[CertRef, ...]) -> list[Fix]:
    """A local move for what is local; for what Group Policy or Active Directory delivers, the
    change at its source (a local move there is undone at the next refresh)."""
    origins = {r.sha1: machine.origin(ROOT, r.sha1) for r in refs}
    gpo = tuple(r for r in refs if origins[r.sha1].from_group_policy)
    enterprise = tuple(r for r in refs if origins[r.sha1].from_enterprise and r not in gpo)
    local = tuple(r for r in refs if r not in gpo and r not in enterprise)
    fixes = []
    if gpo:
        also_local = tuple(r for r in gpo if origins[r.sha1].local)
        fixes.append(_gpo_fix(gpo, also_local))
    if enterprise:
        fixes.append(_enterprise_fix(enterprise))
    if local:
        fixes.append(
            Fix(
                "move-to-intermediate",
                "Move them to the Intermediate Certification Authorities (CA) store (script)",
                (MoveCertificates(local, ROOT, CA),),
                preferred=not (gpo or enterprise),
                notes=(
                    "The script backs up Root (Export-Certificate -Type SST) before moving; "
                    "no reboot is needed.",
                    *(_UNKNOWN_ORIGIN if not origins[local[0].sha1].known else ()),
                ),
            )
        )
    return fixes


_UNKNOWN_ORIGIN = (
    "The bundle does not record physical stores (origin unknown): if Group Policy delivers a "
    "certificate, the move is undone at the next policy refresh. The script checks "
    "HKLM\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\Root and refuses to move such a "
    "certificate.",
)


def _gpo_fix(gpo: tuple[CertRef, ...], also_local: tuple[CertRef, ...]) -> Fix:
    actions: tuple[Action, ...] = (ChangeGroupPolicy(gpo, ROOT, CA),)
    if also_local:
        actions += (MoveCertificates(also_local, ROOT, CA),)
    return Fix(
        "gpo-move-to-intermediate",
        "In the GPO that delivers them, move them from Trusted Root Certification Authorities "
        "to Intermediate Certification Authorities",
        actions,
        preferred=True,
        notes=(
            f"Group Policy delivers {len(gpo)} of them (physical store group-policy): moving "
            "them on the server is undone at the next policy refresh, so the local move "
            "script is not the fix for them.",
            f"GPO path: {GPO_PATHS[ROOT]} (delete) and {GPO_PATHS[CA]} (import).",
        ),
    )


def _enterprise_fix(refs: tuple[CertRef, ...]) -> Fix:
    thumbprints = ", ".join(r.sha1 for r in refs)
    return Fix(
        "enterprise-move-to-intermediate",
        "In Active Directory, publish them as intermediate CAs instead of roots",
        (
            Manual(
                "They come from the enterprise store (published in Active Directory, "
                "CN=Certification Authorities,CN=Public Key Services,CN=Services in the "
                f"configuration partition): thumbprint(s) {thumbprints}. On a machine with "
                "the AD CS tools, as an Enterprise Admin: open pkiview.msc > Manage AD "
                "Containers > Certification Authorities and remove them; publish each as an "
                "intermediate with `certutil -dspublish -f <file>.cer SubCA`; then run "
                "`certutil -pulse` (or wait for autoenrollment) on the servers and check "
                "`certutil -store -enterprise Root`."
            ),
        ),
        preferred=True,
        notes=(
            "A local move is undone when the enterprise store is next downloaded from "
            "Active Directory.",
        ),
    )


def _trust_mode_2(sent: bool) -> Fix:
    return Fix(
        "trust-mode-2",
        "Set ClientAuthTrustMode=2 (Exclusive CA Trust)"
        + (" and SendTrustedIssuerList=0" if sent else "")
        + ", then reboot",
        (
            SetSchannelValue("ClientAuthTrustMode", 2),
            *((SetSchannelValue("SendTrustedIssuerList", 0),) if sent else ()),
        ),
        reboot=True,
        notes=(
            REBOOT,
            "[secondary] Microsoft prefers mode 0 with a clean Root; with mode 2 and no CTL "
            "store on the binding, Root serves as the trusted issuer store.",
        ),
    )


def _short(subject: str) -> str:
    """``CN=Contoso Issuing CA 01, O=...`` -> ``Contoso Issuing CA 01``."""
    for part in subject.split(","):
        name, _, value = part.strip().partition("=")
        if name.upper() == "CN" and value:
            return value
    return subject


def _ref(finding: Finding) -> CertRef:
    if finding.certificate is not None:
        cert = finding.certificate
        return CertRef(cert.sha1, str(cert.subject), cert)
    listed = finding.listed
    assert listed is not None
    return CertRef(listed.thumbprint or "", listed.subject or "(no subject shown)")


def _cert_evidence(finding: Finding, machine: Machine) -> Evidence:
    ref = _ref(finding)
    origin = machine.origin(ROOT, ref.sha1).label()
    if finding.certificate is not None:
        cert = finding.certificate
        return Evidence(
            EvidenceKind.CERTIFICATE,
            f"'{cert.subject}' in Root is issued by '{cert.issuer}' [{cert.sha1}]; physical "
            f"store: {origin}",
            cert.source or "Root",
            sha1=cert.sha1,
        )
    listed = finding.listed
    assert listed is not None
    return Evidence(
        EvidenceKind.CERTIFICATE,
        f"'{ref.subject}' in Root is issued by '{listed.issuer}' [{ref.sha1}], decided by names "
        f"only (known from a listing, signature not checked); physical store: {origin}",
        listed.source,
        Confidence.INFERRED,
        sha1=ref.sha1,
    )


# -- a root whose self-signature does not verify -----------------------------------------------


@rule(
    "cause::root-self-signature-invalid",
    title="Self-signature does not verify: a root in LocalMachine\\Root that names itself",
    references=("KB 2802568", "docs/windows-model.md#mixed-root", "docs/confidence.md"),
)
def root_self_signature_invalid(ctx: DoctorContext) -> Iterator[Claim]:
    """A certificate in Root whose subject equals its issuer but whose signature its own key
    does not verify (the audit's root::self-signature-invalid). Windows cannot chain through
    it; whether Schannel counts it as non-self-signed for the trusted-issuer list is unknown,
    so it is claimed only as a possible cause, and only when untrusted-root failures are seen.
    The fix is the audit's, word for word.
    """
    found = ctx.findings("root::self-signature-invalid")
    logged = ctx.symptoms_with(UNTRUSTED)
    if not found or not (logged or ctx.rejected({"CERT_E_UNTRUSTEDROOT"})):
        return
    refs = tuple(_ref(f) for f in found)
    names = ", ".join(_short(r.subject) for r in refs)
    evidence = (
        *(
            Evidence(
                EvidenceKind.CERTIFICATE,
                f"'{r.subject}' in Root names itself as issuer; its signature does not verify "
                f"with its own key [{r.sha1}]",
                "Root",
                sha1=r.sha1,
            )
            for r in refs
        ),
        Evidence(EvidenceKind.VERDICT, f"known: {SELF_SIGNATURE_KNOWN}", "Windows chain engine"),
        Evidence(
            EvidenceKind.VERDICT,
            f"not known: {SELF_SIGNATURE_UNKNOWN}",
            "KB 2802568",
            Confidence.UNCONFIRMED,
        ),
    )
    fix = Fix(
        "replace-bad-root",
        "Replace the root whose self-signature does not verify with the genuine one",
        (Manual(SELF_SIGNATURE_FIX),),
        preferred=True,
    )
    summary = (
        f"{len(refs)} root(s) in LocalMachine\\Root whose self-signature does not verify "
        f"({names}); if Schannel counts them as non-self-signed, the trusted-issuer list shrinks "
        "as in KB 2802568 [unconfirmed]"
    )
    yield Claim(
        summary,
        evidence,
        UNTRUSTED,
        (fix,),
        Strength.POSSIBLE,
        rule_confidence=Confidence.UNCONFIRMED,
    )


# -- the issuer list over 16 KB ----------------------------------------------------------------


@rule(
    "cause::issuer-list-too-large",
    title="Trusted-issuer list over Schannel's 16 KB limit",
    references=(
        "KB 933430",
        "KB 2880390",
        "Schannel event 36885",
        "docs/windows-model.md#issuer-list-size",
    ),
)
def issuer_list_too_large(ctx: DoctorContext) -> Iterator[Claim]:
    """Schannel caps the trusted-issuer list at 16 KB: when it is sent (SendTrustedIssuerList=1)
    it is truncated (event 36885) and clients whose CA was cut cannot select a certificate
    (403.7); on Windows Server 2012 / Windows 8 an oversized list breaks client authentication
    even when it is not sent (KB 2880390, documented for that version only). With no list sent
    on a later version nothing breaks: no cause. Built on the audit's issuer-list::too-large
    finding; the machine's Windows version decides (docs/windows-model.md#os-version).
    """
    if not ctx.findings("issuer-list::too-large"):
        return
    machine = ctx.machine
    issuers = ctx.audit.issuer_list
    sent = machine.schannel.send_trusted_issuer_list.value
    version = machine.os_version.value
    if not sent and version is not None and not version.has_kb2880390:
        return
    evidence = (
        Evidence(
            EvidenceKind.CERTIFICATE,
            f"the trusted-issuer list from {issuers.source} has {issuers.count} CAs, "
            f"{issuers.size:,} bytes, over the {ISSUER_LIST_LIMIT:,}-byte limit",
            issuers.source,
        ),
        Evidence(
            EvidenceKind.CERTIFICATE,
            "the byte count (2 + DER subject per CA) is certgate's reading of the cap",
            "docs/windows-model.md#issuer-list-size",
            Confidence.UNCONFIRMED,
        ),
        setting_evidence(machine, "SendTrustedIssuerList"),
        Evidence(
            EvidenceKind.SETTING,
            f"Windows version: {version.label}"
            if version is not None
            else "Windows version: unknown (KB 2880390 applies to Server 2012 / Windows 8 only)",
            machine.os_version.source or "not in the bundle",
            Confidence.CONFIRMED if version is not None else Confidence.UNCONFIRMED,
        ),
    )
    fixes = []
    if sent:
        fixes.append(
            Fix(
                "stop-sending-list",
                "Set SendTrustedIssuerList=0 (send no list), then reboot",
                (SetSchannelValue("SendTrustedIssuerList", 0),),
                preferred=True,
                reboot=True,
                notes=(REBOOT,),
            )
        )
    fixes.append(_own_issuer_store(ctx, preferred=not sent))
    yield Claim(
        f"the trusted-issuer list is {issuers.size:,} bytes, over Schannel's 16 KB: "
        + (
            "it is sent truncated, so clients of the cut CAs cannot select a certificate"
            if sent
            else "on this Windows Server 2012 / Windows 8 machine that breaks client "
            "authentication whatever SendTrustedIssuerList says (KB 2880390)"
            if version is not None
            else "on Windows Server 2012 / Windows 8 that breaks client authentication "
            "whatever SendTrustedIssuerList says (KB 2880390); later versions are unaffected "
            "when no list is sent, and this machine's version is unknown"
        ),
        evidence,
        NOT_SELECTABLE | UNTRUSTED | {"schannel:36885"},
        tuple(fixes),
        Strength.PROVEN if sent else Strength.LIKELY,
        verdict_codes=frozenset({"certgate:not-in-issuer-list", "certgate:no-certificate"}),
    )


def _own_issuer_store(ctx: DoctorContext, preferred: bool) -> Fix:
    roots = tuple(dict.fromkeys(v.path[-1] for _, v in ctx.verdicts if v.path and len(v.path) > 1))
    if not roots:
        return Fix(
            "client-auth-issuer-store",
            "Put only the CAs that issue client certificates into ClientAuthIssuer",
            (
                Manual(
                    "Import the roots of your client certificates into "
                    "Cert:\\LocalMachine\\ClientAuthIssuer: when it holds certificates, Schannel "
                    "builds the list from it instead of Root (docs/windows-model.md#issuer-list)."
                ),
            ),
            preferred=preferred,
        )
    return Fix(
        "client-auth-issuer-store",
        "Put only the sample clients' roots into ClientAuthIssuer",
        (ImportCertificates(CLIENT_AUTH_ISSUER, roots),),
        preferred=preferred,
        notes=(
            "When ClientAuthIssuer holds certificates, Schannel builds the list from it "
            "instead of Root (docs/windows-model.md#issuer-list).",
        ),
    )
