"""The ``windows`` engine: Schannel / HTTP.sys client-certificate validation, Server 2012+.

Model (windows-facts §1-§3; each rule's confidence travels with the verdict as a caveat):

1. The trusted-issuer list (``core.issuers``): CTL store, else ClientAuthIssuer, else Root,
   reduced to the non-self-signed certificates when Root mixes both (KB 2802568).
2. SendTrustedIssuerList=1 sends that list (capped at 16 KB); the client can only offer a
   certificate chaining to a CA in it, else it sends none and IIS answers 403.7.
3. The chain is built by CryptoAPI to a self-signed root in Root (mode 0), to a root in the
   caller-specified store (mode 1) or to any CA or root in it (mode 2).
4. Modes 0 and 1 also need the validated chain to contain a certificate from the list.
5. The first failure, in CryptoAPI's policy order, gives the HRESULT that HTTP.sys puts in
   ``CertFlags``; IIS turns it into 403.13/403.16/403.17 and WCF prints its low word.
"""

from __future__ import annotations

from certgate.core.checks import KNOWN_EXTENSIONS, Check, CheckKind, CheckStatus, Profile
from certgate.core.codes import CERT_TRUST_ERRORS as ERR
from certgate.core.codes import CERT_TRUST_INFO as INFO
from certgate.core.codes import HRESULTS, CheckCode, iis_status_for
from certgate.core.engines._base import (
    Caveat,
    Confidence,
    JudgedPath,
    Verdict,
    VerifyRequest,
    WindowsDetail,
)
from certgate.core.engines._judge import judge_all
from certgate.core.engines._schannel import (
    LIST_RULE,
    client_can_select,
    effective_list,
    exclusive_store,
    with_list_rule,
)
from certgate.core.issuers import IssuerList, trusted_issuer_list
from certgate.core.model import Certificate, SelfSigned
from certgate.core.paths import PathEnd
from certgate.core.revocation import RevocationPolicy
from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, DISALLOWED, ROOT, Machine

__all__ = ["EMITTED", "NAME", "accepts", "hresult_name_for", "judge"]

NAME = "windows"

# CheckCode -> (HRESULT name, CERT_TRUST_* error bits), in the order the policy reports them:
# signature before untrusted root before chaining follows Wine's CertVerifyCertificateChainPolicy
# [secondary]; the rest of the order is [inferred].
_MAPPING: dict[CheckCode, tuple[str, int]] = {
    CheckCode.DISALLOWED: ("TRUST_E_EXPLICIT_DISTRUST", ERR["CERT_TRUST_IS_EXPLICIT_DISTRUST"]),
    CheckCode.MALFORMED: ("CERT_E_MALFORMED", ERR["CERT_TRUST_INVALID_EXTENSION"]),
    CheckCode.SIGNATURE_INVALID: (
        "TRUST_E_CERT_SIGNATURE",
        ERR["CERT_TRUST_IS_NOT_SIGNATURE_VALID"],
    ),
    CheckCode.UNTRUSTED_ROOT: ("CERT_E_UNTRUSTEDROOT", ERR["CERT_TRUST_IS_UNTRUSTED_ROOT"]),
    CheckCode.NOT_IN_ISSUER_LIST: ("CERT_E_UNTRUSTEDROOT", ERR["CERT_TRUST_IS_UNTRUSTED_ROOT"]),
    CheckCode.MISSING_ISSUER: ("CERT_E_CHAINING", ERR["CERT_TRUST_IS_PARTIAL_CHAIN"]),
    CheckCode.PATH_BUDGET_EXCEEDED: ("CERT_E_CHAINING", ERR["CERT_TRUST_IS_PARTIAL_CHAIN"]),
    CheckCode.EXPIRED: ("CERT_E_EXPIRED", ERR["CERT_TRUST_IS_NOT_TIME_VALID"]),
    CheckCode.NOT_YET_VALID: ("CERT_E_EXPIRED", ERR["CERT_TRUST_IS_NOT_TIME_VALID"]),
    CheckCode.REVOKED: ("CRYPT_E_REVOKED", ERR["CERT_TRUST_IS_REVOKED"]),
    CheckCode.NOT_A_CA: (
        "TRUST_E_BASIC_CONSTRAINTS",
        ERR["CERT_TRUST_INVALID_BASIC_CONSTRAINTS"],
    ),
    CheckCode.PATH_LENGTH_EXCEEDED: (
        "TRUST_E_BASIC_CONSTRAINTS",
        ERR["CERT_TRUST_INVALID_BASIC_CONSTRAINTS"],
    ),
    CheckCode.NAME_CONSTRAINTS: (
        "CERT_E_INVALID_NAME",
        ERR["CERT_TRUST_INVALID_NAME_CONSTRAINTS"]
        | ERR["CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT"],
    ),
    CheckCode.UNKNOWN_CRITICAL_EXTENSION: (
        "CERT_E_CRITICAL",
        ERR["CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT"] | ERR["CERT_TRUST_INVALID_EXTENSION"],
    ),
    CheckCode.REVOCATION_UNKNOWN: (
        "CRYPT_E_REVOCATION_OFFLINE",
        ERR["CERT_TRUST_REVOCATION_STATUS_UNKNOWN"] | ERR["CERT_TRUST_IS_OFFLINE_REVOCATION"],
    ),
    CheckCode.WRONG_EKU: ("CERT_E_WRONG_USAGE", ERR["CERT_TRUST_IS_NOT_VALID_FOR_USAGE"]),
    CheckCode.KEY_USAGE: ("CERT_E_WRONG_USAGE", ERR["CERT_TRUST_IS_NOT_VALID_FOR_USAGE"]),
    CheckCode.INTERNAL_ERROR: ("TRUST_E_FAIL", 0),
}
_UNMAPPED = ("TRUST_E_FAIL", 0)  # fail closed: a failure without a known HRESULT still rejects
_PRECEDENCE = {code: rank for rank, code in enumerate(_MAPPING)}
NOT_SELECTABLE = "E_ACCESSDENIED"  # the 403.7 detail page's HRESULT (KB 942067) [confirmed]
EMITTED = frozenset({name for name, _ in _MAPPING.values()} | {NOT_SELECTABLE, "S_OK"})

# Microsoft extensions CryptoAPI understands (certificate templates, application policies, CA
# version): critical ones must not count as unknown on Windows.
WINDOWS_EXTENSIONS = KNOWN_EXTENSIONS | {
    "1.3.6.1.4.1.311.20.2",
    "1.3.6.1.4.1.311.21.1",
    "1.3.6.1.4.1.311.21.2",
    "1.3.6.1.4.1.311.21.7",
    "1.3.6.1.4.1.311.21.10",
}

_MODE_RULE = {
    0: "Machine Trust (mode 0): the chain must be trusted by Root and contain a certificate "
    "from the trusted-issuer list",
    1: "Exclusive Root Trust (mode 1): the chain must end at a root in the caller-specified "
    "store and contain a certificate from the trusted-issuer list",
    2: "Exclusive CA Trust (mode 2): the chain must end at a CA or root in the caller-specified "
    "store",
}


def hresult_name_for(code: CheckCode) -> str:
    """The HRESULT CryptoAPI's policy reports for a failed check (unknown: TRUST_E_FAIL)."""
    return "S_OK" if code is CheckCode.OK else _MAPPING.get(code, _UNMAPPED)[0]


def judge(request: VerifyRequest) -> Verdict:
    machine = request.machine
    mode = machine.schannel.client_auth_trust_mode.value
    issuers = trusted_issuer_list(machine)
    effective, caveats = effective_list(issuers)
    caveats.append(Caveat(Confidence.CONFIRMED, _MODE_RULE.get(mode, _MODE_RULE[0])))
    if machine.schannel.send_trusted_issuer_list.value and not client_can_select(
        request, effective
    ):
        return _not_selectable(request, issuers, effective, caveats)
    anchors, store_caveat = _anchors(machine, mode)
    if store_caveat is not None:
        caveats.append(store_caveat)
    pool = _pool(request, machine)
    disallowed = frozenset(machine.store(DISALLOWED).certificates)
    paths, exhausted = judge_all(request, pool, anchors, _profile(request), disallowed)
    if mode in (0, 1):
        paths = [with_list_rule(p, effective) for p in paths]
        paths.sort(key=lambda p: (not p.valid, p.end is not PathEnd.ANCHORED, len(p.failures)))
        caveats.append(LIST_RULE)
    return _verdict(request, paths, exhausted, issuers, caveats)


def accepts(request: VerifyRequest) -> bool:
    """The verdict alone (the Windows model needs the issuer-list rule on the whole path)."""
    return judge(request).accepted


def _profile(request: VerifyRequest) -> Profile:
    binding = request.machine.binding
    return Profile(
        purpose=request.purpose,
        weak_signature_fatal=False,
        leaf_any_eku_ok=True,
        missing_basic_constraints_fatal=False,
        leaf_ca_fatal=False,
        check_usage=binding.checks_usage,
        known_extensions=WINDOWS_EXTENSIONS,
        strict_profile=False,
        revocation=(
            RevocationPolicy.IF_AVAILABLE if binding.checks_revocation else RevocationPolicy.OFF
        ),
    )


def _not_selectable(
    request: VerifyRequest,
    issuers: IssuerList,
    sent: tuple[Certificate, ...],
    caveats: list[Caveat],
) -> Verdict:
    names = "; ".join(str(c.subject) for c in sent[:3]) + ("; ..." if len(sent) > 3 else "")
    message = (
        f"SendTrustedIssuerList=1 sends {len(sent)} CA name(s) ({names}); none is in the "
        "client's chain, so the client cannot select this certificate and sends none: 403.7"
    )
    caveats.append(
        Caveat(
            Confidence.SECONDARY,
            "clients offer only certificates chaining to a CA in the sent list (KB 2802568 "
            "scenario 2; Windows/IE client behaviour)",
        )
    )
    check = Check(
        CheckKind.ISSUER_LIST,
        CheckStatus.FAIL,
        CheckCode.NO_CERTIFICATE,
        0,
        request.leaf.sha1,
        message,
    )
    detail = WindowsDetail(
        HRESULTS[NOT_SELECTABLE],
        "403.7",
        trust_mode=request.machine.schannel.client_auth_trust_mode.value,
        issuer_list_source=issuers.source,
        issuer_list_sent=True,
    )
    return Verdict(
        NAME,
        False,
        NOT_SELECTABLE,
        message,
        (request.leaf,),
        (check,),
        (),
        tuple(caveats),
        windows=detail,
    )


def _anchors(machine: Machine, mode: int) -> tuple[list[Certificate], Caveat | None]:
    if mode == 0:
        root = machine.store(ROOT)
        return [c for c in root if c.self_signed is SelfSigned.YES], None
    store, caveat = exclusive_store(machine)
    if mode == 1:
        return [c for c in store if c.self_signed is SelfSigned.YES], caveat
    return [c for c in store if c.is_ca or c.self_signed is SelfSigned.YES], caveat


def _pool(request: VerifyRequest, machine: Machine) -> list[Certificate]:
    stores = (CA, ROOT, CLIENT_AUTH_ISSUER)
    ctl = machine.binding.ctl_store_name.value
    extra = machine.store(ctl).certificates if ctl else ()
    return [*request.chain, *(c for s in stores for c in machine.store(s)), *extra]


def _verdict(
    request: VerifyRequest,
    paths: list[JudgedPath],
    exhausted: bool,
    issuers: IssuerList,
    caveats: list[Caveat],
) -> Verdict:
    machine = request.machine
    best = paths[0] if paths else JudgedPath((request.leaf,), PathEnd.TOO_LONG, ())
    code, message = _first_problem(best)
    name = "S_OK" if code is CheckCode.OK else _MAPPING.get(code, _UNMAPPED)[0]
    hresult = HRESULTS.get(name, 0)
    unknown = any(c.kind is CheckKind.REVOCATION for c in best.warnings)
    if machine.binding.checks_revocation and (unknown or not request.crls):
        caveats.append(_REVOCATION_ASSUMED)
    detail = WindowsDetail(
        hresult,
        iis_status_for(hresult),
        _error_bits(best),
        _info_bits(best, machine.schannel.client_auth_trust_mode.value),
        machine.schannel.client_auth_trust_mode.value,
        issuers.source,
        machine.schannel.send_trusted_issuer_list.value,
    )
    return Verdict(
        NAME,
        hresult == 0,
        name,
        message,
        best.certificates,
        best.failures + best.warnings,
        tuple(paths),
        tuple(caveats),
        exhausted,
        windows=detail,
    )


_REVOCATION_ASSUMED = Caveat(
    Confidence.INFERRED,
    "DefaultCertCheckMode checks revocation, but no usable CRL was given (use --crl or "
    "--online): revocation is assumed to pass; an unreachable CRL would give "
    "CRYPT_E_REVOCATION_OFFLINE (0x80092013)",
)
_END_CODE = {
    PathEnd.UNTRUSTED_ROOT: CheckCode.UNTRUSTED_ROOT,
    PathEnd.MISSING_ISSUER: CheckCode.MISSING_ISSUER,
    PathEnd.TOO_LONG: CheckCode.PATH_BUDGET_EXCEEDED,
}


def _first_problem(path: JudgedPath) -> tuple[CheckCode, str]:
    problems: list[tuple[CheckCode, str]] = [(c.code, c.message) for c in path.failures]
    if path.end is not PathEnd.ANCHORED:
        top = path.certificates[-1]
        problems.append((_END_CODE[path.end], _end_text(path.end, top)))
    if not problems:
        return (
            CheckCode.OK,
            f"accepted: chain of {len(path.certificates)} to {path.certificates[-1].label}",
        )
    return min(problems, key=lambda item: _PRECEDENCE.get(item[0], len(_PRECEDENCE)))


def _end_text(end: PathEnd, top: Certificate) -> str:
    if end is PathEnd.UNTRUSTED_ROOT:
        return f"the chain ends at {top.label}, a root that is not trusted here"
    if end is PathEnd.MISSING_ISSUER:
        return f"no issuer found for {top.label}: the chain could not be built to a trusted root"
    return "the chain could not be built within the path budget"


def _error_bits(path: JudgedPath) -> int:
    bits = 0
    for check in path.checks:
        if check.status is CheckStatus.FAIL:
            bits |= _MAPPING.get(check.code, _UNMAPPED)[1]
        elif check.code is CheckCode.WEAK_SIGNATURE:
            bits |= ERR["CERT_TRUST_HAS_WEAK_SIGNATURE"]
    if path.end is not PathEnd.ANCHORED:
        bits |= _MAPPING[_END_CODE[path.end]][1]
    return bits


def _info_bits(path: JudgedPath, mode: int) -> int:
    bits = 0
    top = path.certificates[-1]
    if top.self_signed is SelfSigned.YES:
        bits |= INFO["CERT_TRUST_IS_SELF_SIGNED"]
    if path.end is PathEnd.ANCHORED and mode in (1, 2):
        # [inferred]: modes 1/2 map onto CryptoAPI's exclusive trust (windows-facts §1.1)
        bits |= INFO["CERT_TRUST_IS_FROM_EXCLUSIVE_TRUST_STORE"]
        if top.self_signed is not SelfSigned.YES:
            bits |= INFO["CERT_TRUST_IS_CA_TRUSTED"]
    return bits
