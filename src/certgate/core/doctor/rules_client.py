"""Causes in the client certificates themselves, and in revocation checking."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from certgate.core.changes import BindingSwitch, SetBindingParameters
from certgate.core.checks import CheckStatus
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    Claim,
    Evidence,
    EvidenceKind,
    Fix,
    Manual,
    Strength,
    UpdateBinding,
)
from certgate.core.doctor._registry import DIAGNOSIS_RULES

__all__: list[str] = []

rule = DIAGNOSIS_RULES.rule
_TRACES = frozenset({"wcf:HttpsClientCertificateInvalid", "capi2:11", "capi2:30"})


@dataclass(frozen=True)
class _Problem:
    title: str
    check: str  # certgate check code on the sample's verdict
    logged: frozenset[str]  # codes that only this problem leaves in logs
    also: frozenset[str]  # codes it shares with other failures
    what: str
    fix: str


_EXPIRED = _Problem(
    "Client certificates are expired or not yet valid",
    "expired",
    frozenset(
        {
            "iis:403.17",
            "hresult:CERT_E_EXPIRED",
            "hresult:SEC_E_CERT_EXPIRED",
            "cert-trust:CERT_TRUST_IS_NOT_TIME_VALID",
            "certgate:expired",
            "tls-alert:45",
        }
    ),
    _TRACES,
    "outside their validity period",
    "Issue new client certificates (or fix the client's clock for not-yet-valid ones); no "
    "server change fixes this.",
)
_REVOKED = _Problem(
    "Client certificates are revoked",
    "revoked",
    frozenset(
        {
            "iis:403.13",
            "hresult:CRYPT_E_REVOKED",
            "hresult:CERT_E_REVOKED",  # which one HTTP.sys reports is undocumented: both
            "cert-trust:CERT_TRUST_IS_REVOKED",
            "certgate:revoked",
            "tls-alert:44",
        }
    ),
    _TRACES,
    "revoked by their CA",
    "Find out why the CA revoked them and issue new certificates; no server change fixes this.",
)
_WRONG_EKU = _Problem(
    "Client certificates are not valid for client authentication (EKU)",
    "wrong-eku",
    frozenset(
        {
            "hresult:CERT_E_WRONG_USAGE",
            "hresult:SEC_E_CERT_WRONG_USAGE",
            "cert-trust:CERT_TRUST_IS_NOT_VALID_FOR_USAGE",
            "certgate:wrong-eku",
            "tls-alert:43",
        }
    ),
    _TRACES | {"iis:403.16"},
    "lacking the Client Authentication EKU (1.3.6.1.5.5.7.3.2)",
    "Issue client certificates with the Client Authentication EKU; public TLS server "
    "certificates are losing clientAuth from 2026 [secondary]. Turning off the binding's usage "
    "check (usagecheck=disable) would accept them, and weaken every check.",
)


def _client_problem(ctx: DoctorContext, problem: _Problem) -> Iterator[Claim]:
    # a symptom counts only when this problem explains every code of it: a 403.13 logged with
    # CRYPT_E_REVOCATION_OFFLINE is an unreachable CRL, not a revoked client certificate
    logged = [
        s
        for s in ctx.symptoms_with(problem.logged)
        if set(s.codes) <= problem.logged | problem.also
    ]
    clients = [
        (c, v)
        for c, v in ctx.verdicts
        if any(r.code.value == problem.check and r.status is CheckStatus.FAIL for r in v.reasons)
    ]
    if not logged and not clients:
        return
    evidence = [
        Evidence(
            EvidenceKind.VERDICT,
            f"'{c.leaf.subject}' [{c.leaf.sha1[:8]}]: {v.message}",
            c.source or "sample client certificate",
            sha1=c.leaf.sha1,
        )
        for c, v in clients
    ]
    evidence += [
        Evidence(
            EvidenceKind.LOG,
            f"client certificate '{seen.subject or seen.thumbprint}' seen {seen.count} time(s)",
            seen.location,
        )
        for seen in ctx.observed[:3]
        if logged
    ]
    count = sum(s.count for s in logged)
    summary = f"client certificates are {problem.what}" + (
        f": {count:,} logged rejection(s) say so" if count else ""
    )
    fix = Fix(
        f"client-{problem.check}",
        "Give the clients valid certificates",
        (Manual(problem.fix),),
        preferred=True,
    )
    yield Claim(
        summary,
        tuple(evidence),
        problem.logged | problem.also,
        (fix,),
        # a sample client certificate proves it; logged rejections alone only make it likely
        Strength.PROVEN if clients else Strength.LIKELY,
        verdict_codes=frozenset({f"certgate:{problem.check}"}),
    )


@rule(
    "cause::client-expired",
    title=_EXPIRED.title,
    references=("RFC 5280 §4.1.2.5", "KB 943891", "docs/windows-model.md#iis-substatus"),
)
def client_expired(ctx: DoctorContext) -> Iterator[Claim]:
    """Client certificates outside their validity period: IIS 403.17, CERT_E_EXPIRED
    (0x800B0101), seen in logs or in a sample client certificate's verdict.
    """
    return _client_problem(ctx, _EXPIRED)


@rule(
    "cause::client-revoked",
    title=_REVOKED.title,
    references=("RFC 5280 §6.3", "KB 943891", "docs/windows-model.md#iis-substatus"),
)
def client_revoked(ctx: DoctorContext) -> Iterator[Claim]:
    """Client certificates their CA revoked: IIS 403.13, CRYPT_E_REVOKED (0x80092010), seen in
    logs or in a sample client certificate's verdict (given a CRL).
    """
    return _client_problem(ctx, _REVOKED)


@rule(
    "cause::client-wrong-eku",
    title=_WRONG_EKU.title,
    references=("RFC 5280 §4.2.1.12", "KB 943891", "docs/windows-model.md#iis-substatus"),
)
def client_wrong_eku(ctx: DoctorContext) -> Iterator[Claim]:
    """Client certificates whose Extended Key Usage lacks Client Authentication, while the
    binding checks usage (the default): CERT_E_WRONG_USAGE (0x800B0110), IIS 403.16.
    """
    return _client_problem(ctx, _WRONG_EKU)


# -- revocation checking with an unreachable CRL / OCSP responder ---------------------------

# Only what says "offline": CRYPT_E_NO_REVOCATION_CHECK (the certificate has no revocation
# information, or the check was not possible) and REVOCATION_STATUS_UNKNOWN alone are not.
_OFFLINE = frozenset(
    {
        "hresult:CRYPT_E_REVOCATION_OFFLINE",
        "cert-trust:CERT_TRUST_IS_OFFLINE_REVOCATION",
        "certgate:revocation-unknown",
    }
)
_UNKNOWN_REVOCATION = frozenset(
    {"hresult:CRYPT_E_NO_REVOCATION_CHECK", "cert-trust:CERT_TRUST_REVOCATION_STATUS_UNKNOWN"}
)


@rule(
    "cause::revocation-unreachable",
    title="Revocation is checked, but the CRL or OCSP responder cannot be reached",
    references=(
        "https://learn.microsoft.com/en-us/windows/win32/api/http/ns-http-http_service_config_ssl_param",
        "docs/windows-model.md#netsh-show-sslcert",
        "KB 884115",
    ),
)
def revocation_unreachable(ctx: DoctorContext) -> Iterator[Claim]:
    """The binding checks client-certificate revocation (HTTP.sys default) and the server
    cannot fetch the CRL or reach the OCSP responder: CRYPT_E_REVOCATION_OFFLINE (0x80092013)
    or CRYPT_E_NO_REVOCATION_CHECK, IIS 403.16 (403.13 on old IIS [secondary]).
    """
    binding = ctx.machine.binding
    logged = ctx.symptoms_with(_OFFLINE)
    clients = [
        (c, v)
        for c, v in ctx.verdicts
        if any(r.code.value == "revocation-unknown" and r.failed for r in v.reasons)
    ]
    if not binding.checks_revocation or not (logged or clients):
        return
    row = binding.cert_check_mode.source or (
        "HTTP.sys default: bindings not exported"
        if ctx.machine.bindings_source is None
        else binding.source
    )
    evidence = (
        Evidence(
            EvidenceKind.BINDING,
            f"binding {binding.endpoint}: Verify Client Certificate Revocation is enabled "
            f"(DefaultCertCheckMode={binding.cert_check_mode.value})",
            row,
        ),
        *(
            Evidence(EvidenceKind.VERDICT, f"'{c.leaf.subject}': {v.message}", c.source)
            for c, v in clients
        ),
    )
    count = sum(s.count for s in logged)
    summary = (
        f"binding {binding.endpoint} checks client-certificate revocation and the server cannot "
        "reach the CRL or OCSP responder"
        + (f" ({count:,} logged revocation-offline failure(s))" if count else "")
    )
    fixes = (
        Fix(
            "reach-crl",
            "Make the CRL / OCSP URLs reachable from the server",
            (
                Manual(
                    "From the server, as SYSTEM (psexec -s), run certutil -verify -urlfetch "
                    "client.cer and open the CDP/AIA URLs it names in the firewall or proxy."
                ),
            ),
            preferred=True,
        ),
        Fix(
            "revocation-off",
            "Turn off client revocation checking on the binding (weakens security)",
            (
                UpdateBinding(
                    binding,
                    SetBindingParameters(
                        binding.endpoint, disable=(BindingSwitch.VERIFY_REVOCATION,)
                    ),
                ),
            ),
            notes=(
                "Revoked client certificates are then accepted: use only until the CRL is "
                "reachable again.",
            ),
        ),
    )
    yield Claim(
        summary,
        evidence,
        _OFFLINE | _UNKNOWN_REVOCATION | _TRACES | {"iis:403.16", "iis:403.13"},
        fixes,
        # the binding checks revocation: a fact; that the CRL is unreachable from the server is
        # what the symptoms say, never what the exported configuration proves
        Strength.LIKELY if logged else Strength.POSSIBLE,
        verdict_codes=frozenset({"certgate:revocation-unknown"}),
    )
