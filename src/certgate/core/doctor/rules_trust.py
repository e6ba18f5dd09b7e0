"""Causes in the machine's trust configuration: stores, the issuer list, Schannel values."""

from __future__ import annotations

from collections.abc import Iterator

from certgate.core.checks import CheckStatus
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    CertRef,
    Claim,
    ClientCert,
    Evidence,
    EvidenceKind,
    Fix,
    ImportCertificates,
    Manual,
    MoveCertificates,
    SetSchannelValue,
    Strength,
    UpdateBinding,
)
from certgate.core.doctor._registry import (
    CHAINING,
    DIAGNOSIS_RULES,
    NOT_SELECTABLE,
    UNTRUSTED,
    setting_evidence,
)
from certgate.core.engines import Confidence, Verdict
from certgate.core.issuers import ISSUER_LIST_LIMIT
from certgate.core.listing import normalize_dn
from certgate.core.model import Certificate
from certgate.core.paths import PathEnd
from certgate.core.rules import Finding, Hit, Severity
from certgate.core.settings import intended_value_name
from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, ROOT, Machine

__all__: list[str] = []

rule = DIAGNOSIS_RULES.rule
REBOOT = "Schannel reads this value at start-up: reboot the server for it to take effect."


# -- non-self-signed certificates in Root (KB 2802568) ---------------------------------------


@rule(
    "cause::root-not-self-signed",
    severity=Severity.ERROR,
    title="Non-self-signed certificates in LocalMachine\\Root (KB 2802568)",
    references=("KB 2802568", "KB 942061", "windows-facts §1.4"),
)
def root_not_self_signed(ctx: DoctorContext) -> Iterator[Hit]:
    """A Root store that mixes self-signed roots with certificates another CA issued shrinks
    Schannel's trusted-issuer list to those non-self-signed certificates (when the list comes
    from Root: no CTL store bound, ClientAuthIssuer empty). Under ClientAuthTrustMode 0 or 1 a
    client chain must contain a certificate from that list, so every normally chained client
    certificate is rejected: IIS 403.16 / 2148204809 (0x800B0109), WCF native error 0x109; with
    SendTrustedIssuerList=1 the client cannot even select a certificate (403.7). Built on the
    audit's root::not-self-signed and root::self-signature-invalid findings.
    """
    machine = ctx.machine
    mode = machine.schannel.client_auth_trust_mode.value
    found = ctx.findings("root::not-self-signed", "root::self-signature-invalid")
    if mode == 2 or not found or ctx.audit.issuer_list.source != ROOT:
        return
    refs = tuple(_ref(f) for f in found)
    sent = machine.schannel.send_trusted_issuer_list.value
    names = ", ".join(_short(r.subject) for r in refs)
    summary = (
        f"{len(refs)} non-self-signed certificate(s) in LocalMachine\\Root ({names}); with "
        f"ClientAuthTrustMode={mode}"
        + (" (default)" if machine.schannel.client_auth_trust_mode.is_default else "")
        + " Schannel rejects every client certificate (KB 2802568)"
        + (
            "; SendTrustedIssuerList=1 sends only these CAs, so clients cannot select a "
            "certificate (403.7)"
            if sent
            else ""
        )
    )
    evidence = (
        *(_cert_evidence(f) for f in found),
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
            "windows-facts §1.4",
            Confidence.INFERRED,
        ),
    )
    fixes = (
        Fix(
            "move-to-intermediate",
            "Move them to the Intermediate Certification Authorities (CA) store (script)",
            (MoveCertificates(refs, ROOT, CA),),
            preferred=True,
            notes=(
                "The script backs up Root (Export-Certificate -Type SST) before moving; "
                "no reboot is needed.",
            ),
        ),
        Fix(
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
        ),
    )
    yield _hit(
        Claim(
            "Non-self-signed certificates in LocalMachine\\Root (KB 2802568)",
            summary,
            evidence,
            UNTRUSTED | (NOT_SELECTABLE if sent else frozenset()),
            fixes,
            verdict_codes=frozenset({"certgate:not-in-issuer-list", "certgate:no-certificate"}),
        )
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


def _cert_evidence(finding: Finding) -> Evidence:
    ref = _ref(finding)
    if finding.certificate is not None:
        cert = finding.certificate
        return Evidence(
            EvidenceKind.CERTIFICATE,
            f"'{cert.subject}' in Root is issued by '{cert.issuer}' [{cert.sha1}]",
            cert.source or "Root",
            sha1=cert.sha1,
        )
    listed = finding.listed
    assert listed is not None
    return Evidence(
        EvidenceKind.CERTIFICATE,
        f"'{ref.subject}' in Root is issued by '{listed.issuer}' [{ref.sha1}], decided by names "
        "only (known from a listing, signature not checked)",
        listed.source,
        Confidence.INFERRED,
        sha1=ref.sha1,
    )


def _hit(claim: Claim) -> Hit:
    return Hit(claim.summary, detail=claim)


# -- a missing root or intermediate for the clients' issuers ---------------------------------


@rule(
    "cause::missing-issuer",
    severity=Severity.ERROR,
    title="The client certificates' issuing CA or root is missing",
    references=("KB 942061", "windows-facts §1.4"),
)
def missing_issuer(ctx: DoctorContext) -> Iterator[Hit]:
    """The chain of a client certificate cannot be built to a trusted root on this machine:
    its root is not in LocalMachine\\Root, or an intermediate is neither sent by the client nor
    in the Intermediate (CA) store. Decided from the windows engine's path for each sample
    client certificate, and, for issuers named in logs, by looking the name up in the stores
    (a name comparison, [inferred]).
    """
    for client, verdict in ctx.verdicts:
        claim = _missing_for_client(ctx, client, verdict)
        if claim is not None:
            yield _hit(claim)
    if ctx.machine.knows(ROOT):
        yield from _missing_for_logged(ctx)


def _missing_for_client(ctx: DoctorContext, client: ClientCert, verdict: Verdict) -> Claim | None:
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
        "The client certificates' issuing CA or root is missing",
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


def _missing_for_logged(ctx: DoctorContext) -> Iterator[Hit]:
    known = _known_names(ctx.machine)
    missing: dict[tuple[str, ...], list[str]] = {}
    for seen in ctx.observed:
        if not seen.issuer or _dn(seen.issuer) in known:
            continue
        missing.setdefault(_dn(seen.issuer), []).append(seen.location)
    for issuer_dn, locations in missing.items():
        issuer = next(s.issuer for s in ctx.observed if s.issuer and _dn(s.issuer) == issuer_dn)
        assert issuer is not None
        yield _hit(
            Claim(
                "The client certificates' issuing CA or root is missing",
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
                        f"no certificate named '{issuer}' in the exported stores (compared by "
                        "name)",
                        "Root, CA, ClientAuthIssuer",
                        Confidence.INFERRED,
                    ),
                ),
                CHAINING,
                (_import_missing(issuer, None),),
                Strength.LIKELY,
                key=issuer,
            )
        )


def _dn(text: str) -> tuple[str, ...]:
    """Order-insensitive: logs print names in Windows (reversed) or RFC 4514 order."""
    return tuple(sorted(normalize_dn(text)))


def _known_names(machine: Machine) -> set[tuple[str, ...]]:
    names = {_dn(str(c.subject)) for s in machine.stores for c in s}
    names |= {_dn(c.subject) for c in machine.listed if c.subject}
    return names


# -- the issuer list over 16 KB ----------------------------------------------------------------


@rule(
    "cause::issuer-list-too-large",
    severity=Severity.ERROR,
    title="Trusted-issuer list over Schannel's 16 KB limit",
    references=("KB 933430", "KB 2880390", "Schannel event 36885", "windows-facts §1.5"),
)
def issuer_list_too_large(ctx: DoctorContext) -> Iterator[Hit]:
    """Schannel caps the trusted-issuer list at 16 KB: when it is sent (SendTrustedIssuerList=1)
    it is truncated (event 36885) and clients whose CA was cut cannot select a certificate
    (403.7); on Windows Server 2012 an oversized list breaks client authentication even when it
    is not sent (KB 2880390). Built on the audit's issuer-list::too-large finding.
    """
    if not ctx.findings("issuer-list::too-large"):
        return
    machine = ctx.machine
    issuers = ctx.audit.issuer_list
    sent = machine.schannel.send_trusted_issuer_list.value
    evidence = (
        Evidence(
            EvidenceKind.CERTIFICATE,
            f"the trusted-issuer list from {issuers.source} has {len(issuers.certificates)} CAs, "
            f"{issuers.size:,} bytes, over the {ISSUER_LIST_LIMIT:,}-byte limit",
            issuers.source,
        ),
        Evidence(
            EvidenceKind.CERTIFICATE,
            "the byte count (2 + DER subject per CA) is certgate's reading of the cap",
            "windows-facts §1.5",
            Confidence.UNCONFIRMED,
        ),
        setting_evidence(machine, "SendTrustedIssuerList"),
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
    yield _hit(
        Claim(
            "Trusted-issuer list over Schannel's 16 KB limit",
            f"the trusted-issuer list is {issuers.size:,} bytes, over Schannel's 16 KB: "
            + (
                "it is sent truncated, so clients of the cut CAs cannot select a certificate"
                if sent
                else "on Windows Server 2012 that breaks client authentication (KB 2880390)"
            ),
            evidence,
            NOT_SELECTABLE | UNTRUSTED | {"schannel:36885"},
            tuple(fixes),
            Strength.PROVEN if sent else Strength.LIKELY,
            verdict_codes=frozenset({"certgate:not-in-issuer-list", "certgate:no-certificate"}),
        )
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
                    "builds the list from it instead of Root (windows-facts §1.3)."
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
            "instead of Root (windows-facts §1.3).",
        ),
    )


# -- the CTL store a binding names is empty or missing --------------------------------------


@rule(
    "cause::ctl-store-empty",
    severity=Severity.ERROR,
    title="The binding's CTL store is empty or missing",
    references=("windows-facts §1.3", "windows-facts §4.1"),
)
def ctl_store_empty(ctx: DoctorContext) -> Iterator[Hit]:
    """The HTTP.sys binding names a CTL store (sslctlstorename): Schannel builds the trusted-
    issuer list from that store alone. When the store is empty or does not exist, no client
    certificate can satisfy the issuer-list rule (modes 0 and 1) or chain to it (mode 2).
    """
    machine = ctx.machine
    binding = machine.binding
    name = binding.ctl_store_name.value
    if not name or len(machine.store(name)) or machine.listed_in(name):
        return
    known = machine.knows(name)
    where = binding.ctl_store_name.source or binding.source or "binding"
    evidence = (
        Evidence(
            EvidenceKind.BINDING,
            f"binding {binding.endpoint} names the CTL store {name} (Ctl Store Name)",
            where,
        ),
        Evidence(
            EvidenceKind.CERTIFICATE if known else EvidenceKind.UNKNOWN,
            f"LocalMachine\\{name} is empty"
            if known
            else f"LocalMachine\\{name} is not in the bundle: it does not exist or was not "
            "exported",
            name if known else "not exported",
            Confidence.CONFIRMED if known else Confidence.UNCONFIRMED,
        ),
    )
    yield _hit(
        Claim(
            "The binding's CTL store is empty or missing",
            f"binding {binding.endpoint} takes its trusted issuers from LocalMachine\\{name}, "
            + ("which is empty" if known else "which the bundle does not have")
            + ": no client certificate can be trusted",
            evidence,
            UNTRUSTED | NOT_SELECTABLE,
            (_fill_ctl(ctx, name), _unbind_ctl(ctx)),
            Strength.PROVEN if known else Strength.POSSIBLE,
            key=name,
            verdict_codes=frozenset({"certgate:not-in-issuer-list", "certgate:untrusted-root"}),
        )
    )


def _fill_ctl(ctx: DoctorContext, name: str) -> Fix:
    roots = tuple(dict.fromkeys(v.path[-1] for _, v in ctx.verdicts if len(v.path) > 1))
    if roots:
        return Fix(
            "fill-ctl-store",
            f"Import the sample clients' roots into LocalMachine\\{name}",
            (ImportCertificates(name, roots),),
            preferred=True,
        )
    return Fix(
        "fill-ctl-store",
        f"Import the CAs that issue your client certificates into LocalMachine\\{name}",
        (
            Manual(
                f"Import-Certificate -FilePath <ca>.cer -CertStoreLocation "
                f"Cert:\\LocalMachine\\{name}, for each CA whose clients must be accepted."
            ),
        ),
        preferred=True,
    )


def _unbind_ctl(ctx: DoctorContext) -> Fix:
    return Fix(
        "remove-ctl-store",
        "Re-create the binding without a CTL store (the issuer list then comes from "
        "ClientAuthIssuer or Root)",
        (UpdateBinding(ctx.machine.binding, (("sslctlstorename", ""),)),),
    )


# -- a misspelled SendTrustedIssuerList ------------------------------------------------------


@rule(
    "cause::send-issuer-list-misspelled",
    severity=Severity.ERROR,
    title="SendTrustedIssuerList is misspelled, so Windows ignores it",
    references=("windows-facts §1.2",),
)
def send_issuer_list_misspelled(ctx: DoctorContext) -> Iterator[Hit]:
    """A value under the SCHANNEL key whose name is a near miss of SendTrustedIssuerList (the
    SendTrustedIssuers seen in the wild [secondary]): Windows ignores it, so the issuer list is
    sent or not according to the real value or its default, whatever the admin meant.
    """
    machine = ctx.machine
    wrong = [
        m
        for m in machine.schannel.misspelled
        if intended_value_name(m.value) == "SendTrustedIssuerList"
    ]
    if not wrong:
        return
    sent = machine.schannel.send_trusted_issuer_list.value
    symptoms = ctx.seen(NOT_SELECTABLE)
    evidence = (
        *(
            Evidence(
                EvidenceKind.SETTING,
                f"'{m.value}' is not a Schannel value (SendTrustedIssuerList is): ignored",
                m.source,
            )
            for m in wrong
        ),
        setting_evidence(machine, "SendTrustedIssuerList"),
    )
    yield _hit(
        Claim(
            "SendTrustedIssuerList is misspelled, so Windows ignores it",
            f"the registry has '{wrong[0].value}', which Windows ignores; SendTrustedIssuerList "
            f"is in effect {int(sent)}",
            evidence,
            NOT_SELECTABLE if sent else frozenset(),
            (
                Fix(
                    "spell-send-issuer-list",
                    "Delete the misspelled value and set SendTrustedIssuerList=0, then reboot",
                    (
                        SetSchannelValue(
                            "SendTrustedIssuerList", 0, remove=tuple(m.value for m in wrong)
                        ),
                    ),
                    preferred=True,
                    reboot=True,
                    notes=(
                        REBOOT,
                        "Set 1 instead only if clients need the list to choose a "
                        "certificate, and keep it under 16 KB.",
                    ),
                ),
            ),
            Strength.LIKELY if sent and symptoms else Strength.POSSIBLE,
            key=wrong[0].value,
        )
    )
