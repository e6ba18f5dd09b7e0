"""The ``windows`` engine: Schannel / HTTP.sys client-certificate validation, Server 2012+.

Model (docs/windows-model.md, part 1; each rule's confidence travels with the verdict as a caveat):

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

from dataclasses import dataclass, replace

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
from certgate.core.engines._registry import Engine, register
from certgate.core.engines._schannel import (
    LIST_RULE,
    client_can_select,
    effective_list,
    exclusive_store,
    list_keys,
    with_list_rule,
)
from certgate.core.iis import AccessSslFlags
from certgate.core.issuers import IssuerList, trusted_issuer_list
from certgate.core.model import Certificate, SelfSigned
from certgate.core.names import Name
from certgate.core.paths import CertIndex, PathEnd, PoolPart
from certgate.core.revocation import RevocationPolicy
from certgate.core.settings import CERT_CHECK_NO_AIA
from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, DISALLOWED, ROOT, Machine

__all__ = ["EMITTED", "ENGINE", "NAME", "accepts", "hresult_name_for", "judge"]

NAME = "windows"

# CheckCode -> (HRESULT name, CERT_TRUST_* error bits), in the order the policy reports them:
# signature before untrusted root before chaining follows Wine's CertVerifyCertificateChainPolicy
# [secondary]; the rest of the order is [inferred].
_MAPPING: dict[CheckCode, tuple[str, int]] = {
    CheckCode.DISALLOWED: ("TRUST_E_EXPLICIT_DISTRUST", ERR["CERT_TRUST_IS_EXPLICIT_DISTRUST"]),
    CheckCode.MALFORMED: ("CERT_E_MALFORMED", ERR["CERT_TRUST_INVALID_EXTENSION"]),
    CheckCode.DUPLICATE_EXTENSION: ("CERT_E_MALFORMED", ERR["CERT_TRUST_INVALID_EXTENSION"]),
    CheckCode.MALFORMED_EXTENSION: ("CERT_E_MALFORMED", ERR["CERT_TRUST_INVALID_EXTENSION"]),
    CheckCode.BAD_SERIAL: ("CERT_E_MALFORMED", ERR["CERT_TRUST_INVALID_EXTENSION"]),
    CheckCode.OVERSIZE: ("CERT_E_MALFORMED", ERR["CERT_TRUST_INVALID_EXTENSION"]),
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
    CheckCode.NAME_CONSTRAINT_BUDGET_EXCEEDED: (
        "CERT_E_INVALID_NAME",
        ERR["CERT_TRUST_INVALID_NAME_CONSTRAINTS"],
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
NOT_SELECTABLE_HRESULT = "E_ACCESSDENIED"  # the 403.7 detail page's HRESULT (KB 942067) [confirmed]
EMITTED = frozenset({name for name, _ in _MAPPING.values()} | {NOT_SELECTABLE_HRESULT, "S_OK"})

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


@dataclass(frozen=True)
class _Prepared:
    """Everything the engine derives from a machine alone, built once per machine."""

    issuers: IssuerList
    effective: tuple[Certificate, ...]  # the list as sent (cut at 16 KB)
    list_caveats: tuple[Caveat, ...]
    effective_names: frozenset[Name]
    effective_keys: frozenset[tuple[Name, bytes]]  # the list the mode-0/1 check uses
    trusted: tuple[Certificate, ...]
    if_2012: tuple[tuple[Certificate, ...], frozenset[tuple[Name, bytes]]] | None
    anchors: CertIndex
    store_caveat: Caveat | None
    pool: CertIndex
    disallowed: frozenset[Certificate]


def _prepare(machine: Machine) -> _Prepared:
    mode = machine.schannel.client_auth_trust_mode.value
    issuers = trusted_issuer_list(machine)
    use = effective_list(issuers, machine.os_version.value)
    effective = use.sent
    anchors, store_caveat = _anchors(machine, mode)
    return _Prepared(
        issuers,
        effective,
        use.caveats,
        frozenset(c.subject for c in effective),
        list_keys(use.trusted),
        use.trusted,
        (use.if_2012, list_keys(use.if_2012)) if use.if_2012 is not None else None,
        CertIndex(anchors),
        store_caveat,
        CertIndex(_stores_pool(machine)),
        frozenset(machine.store(DISALLOWED).certificates),
    )


def judge(request: VerifyRequest) -> Verdict:
    machine = request.machine
    mode = machine.schannel.client_auth_trust_mode.value
    prepared = machine.derived(_prepare, _prepare)
    issuers, effective = prepared.issuers, prepared.effective
    caveats = list(prepared.list_caveats)
    # The mode names are Microsoft's; how certgate checks each one is its own reading.
    caveats.append(Caveat(Confidence.INFERRED, _MODE_RULE.get(mode, _MODE_RULE[0])))
    selectable = not machine.schannel.send_trusted_issuer_list.value or client_can_select(
        request, effective, prepared.effective_names
    )
    if prepared.store_caveat is not None:
        caveats.append(prepared.store_caveat)
    pool: list[PoolPart] = [*request.chain, prepared.pool]
    paths, exhausted = judge_all(
        request, pool, prepared.anchors, _profile(request), prepared.disallowed
    )
    judged = paths
    if mode in (0, 1):
        judged = _list_rule(paths, prepared.trusted, prepared.effective_keys)
        caveats.append(LIST_RULE)
    verdict = _verdict(request, judged, exhausted, issuers, caveats)
    if mode in (0, 1) and prepared.if_2012 is not None:
        verdict = _on_2012(request, verdict, paths, exhausted, issuers, prepared.if_2012)
    verdict = _undocumented(request, verdict, judged, mode)
    if not selectable:
        kept = list(prepared.list_caveats)
        kept.append(Caveat(Confidence.INFERRED, _MODE_RULE.get(mode, _MODE_RULE[0])))
        return _not_selectable(request, issuers, effective, kept, verdict)
    return verdict


def _list_rule(
    paths: list[JudgedPath],
    listed: tuple[Certificate, ...],
    keys: frozenset[tuple[Name, bytes]],
) -> list[JudgedPath]:
    judged = [with_list_rule(p, listed, keys) for p in paths]
    judged.sort(key=lambda p: (not p.valid, p.end is not PathEnd.ANCHORED, len(p.failures)))
    return judged


def _on_2012(
    request: VerifyRequest,
    verdict: Verdict,
    paths: list[JudgedPath],
    exhausted: bool,
    issuers: IssuerList,
    if_2012: tuple[tuple[Certificate, ...], frozenset[tuple[Name, bytes]]],
) -> Verdict:
    """The version is unknown and the list is over 16 KB: say what Server 2012 would do."""
    other = _verdict(request, _list_rule(paths, *if_2012), exhausted, issuers, [])
    if other.accepted == verdict.accepted and other.code == verdict.code:
        return verdict
    text = (
        f"depends on the Windows version: on Windows Server 2012 / Windows 8 (KB 2880390) "
        f"this would be {other.code} ({other.windows.iis_status if other.windows else ''}), "
        f"on later versions {verdict.code}"
    )
    return replace(
        verdict,
        message=f"{verdict.message} [{text}]",
        caveats=(*verdict.caveats, Caveat(Confidence.UNCONFIRMED, text)),
    )


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
        revocation=_revocation_policy(request),
        stale_crl_proves_revocation=False,
        unusable_crl_fatal=True,
    )


def _revocation_policy(request: VerifyRequest) -> RevocationPolicy:
    """The binding decides (DefaultCertCheckMode); ``require_revocation`` says that no CRL
    beyond those given can be fetched, so a certificate without one is revocation offline.
    Requiring revocation on a binding that does not check it is refused by the gate's policy
    reader; here the binding wins."""
    if not request.machine.binding.checks_revocation:
        return RevocationPolicy.OFF
    if request.require_revocation:
        return RevocationPolicy.REQUIRED
    return RevocationPolicy.IF_AVAILABLE


def _not_selectable(
    request: VerifyRequest,
    issuers: IssuerList,
    sent: tuple[Certificate, ...],
    caveats: list[Caveat],
    sent_anyway: Verdict,
) -> Verdict:
    """403.7: a Windows client offers no certificate
    (docs/windows-model.md#send-trusted-issuer-list). ``sent_anyway`` is the verdict for a
    client that ignores the list and sends it."""
    names = "; ".join(str(c.subject) for c in sent[:3]) + ("; ..." if len(sent) > 3 else "")
    message = (
        f"SendTrustedIssuerList=1 sends {len(sent)} CA name(s) ({names}); none is in the "
        "client's chain, so a Windows client (browser, .NET) cannot select this certificate "
        "and sends none: 403.7 where the path requires a certificate"
    )
    caveats.append(
        Caveat(
            Confidence.SECONDARY,
            "clients that pick certificates by the sent list (browsers on Windows, .NET, "
            "PowerShell) offer only certificates chaining to a CA in it (KB 2802568 scenario 2)",
        )
    )
    caveats.append(_requirement_caveat(request.machine))
    anyway = sent_anyway.windows.iis_status if sent_anyway.windows else ""
    caveats.append(
        Caveat(
            Confidence.INFERRED,
            "clients that ignore the issuer list (curl, OpenSSL, Java with an explicit key) "
            f"send the certificate anyway: then {sent_anyway.code} ({anyway}): "
            f"{sent_anyway.message}",
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
        HRESULTS[NOT_SELECTABLE_HRESULT],
        "403.7",
        trust_mode=request.machine.schannel.client_auth_trust_mode.value,
        issuer_list_source=issuers.source,
        issuer_list_sent=True,
    )
    return Verdict(
        NAME,
        False,
        NOT_SELECTABLE_HRESULT,
        message,
        (request.leaf,),
        (check,),
        (),
        tuple(caveats),
        windows=detail,
    )


_REVOKED_EITHER = Caveat(
    Confidence.UNCONFIRMED,
    "which HRESULT HTTP.sys reports for a revoked client certificate is undocumented: "
    "CRYPT_E_REVOKED (0x80092010, the chain policy's; logged 2148081680) or CERT_E_REVOKED "
    "(0x800B010C, listed for CertFlags; logged 2148204812); both mean 403.13 and certgate "
    "reads both (docs/windows-model.md#revocation)",
)


def _undocumented(
    request: VerifyRequest, verdict: Verdict, paths: list[JudgedPath], mode: int
) -> Verdict:
    """What the verdict must add where Microsoft does not document the outcome."""
    extra: list[Caveat] = []
    if verdict.code == "CRYPT_E_REVOKED":
        extra.append(_REVOKED_EITHER)
    best = paths[0] if paths else None
    if (
        verdict.code == "CERT_E_CHAINING"
        and best is not None
        and best.end is PathEnd.MISSING_ISSUER
    ):
        extra.append(_aia(request, best, mode))
    if not extra:
        return verdict
    return replace(verdict, caveats=(*verdict.caveats, *extra))


def _aia(request: VerifyRequest, path: JudgedPath, mode: int) -> Caveat:
    """A missing issuer: would Windows fetch it (AIA caIssuers), and what then
    (docs/windows-model.md#aia)."""
    top = path.certificates[-1]
    urls = top.ca_issuers_urls
    no_aia = bool(request.machine.binding.cert_check_mode.value & CERT_CHECK_NO_AIA)
    if not urls:
        return Caveat(
            Confidence.SECONDARY,
            f"{top.label} has no AIA caIssuers URL, so Windows cannot fetch its issuer "
            f"'{top.issuer}': the chain stays partial unless the client sends it or it is "
            "installed in the Intermediate (CA) store",
        )
    if no_aia:
        return Caveat(
            Confidence.SECONDARY,
            f"{top.label} names its issuer at {urls[0]} (AIA caIssuers), but the binding's "
            "DefaultSslCertCheckMode has CERT_CHECK_NO_AIA (0x10), so Windows does not fetch it",
        )
    others = [c for c in path.failures if c.code is not CheckCode.MISSING_ISSUER]
    if others:
        then = (
            f"the verdict would still be {hresult_name_for(others[0].code)} ({others[0].message})"
        )
    else:
        then = (
            "the remaining checks pass, so the verdict would be S_OK (200) if the fetched CA "
            "chains to a root trusted here"
            + (" and the chain then contains a trusted-issuer-list certificate" if mode < 2 else "")
        )
    return Caveat(
        Confidence.SECONDARY,
        f"Windows would try to fetch the missing issuer '{top.issuer}' from {urls[0]} (AIA "
        "caIssuers; the binding does not set CERT_CHECK_NO_AIA 0x10); certgate works offline and "
        f"judged without it. If the fetch succeeds, {then}",
    )


def _requirement_caveat(machine: Machine) -> Caveat:
    """403.7 needs SslRequireCert; SslNegotiateCert alone lets the request go on anonymously."""
    base = (
        "403.7 needs SslRequireCert; with SslNegotiateCert alone a request without a "
        "certificate goes on anonymously (IIS <access sslFlags>)"
    )
    if machine.iis is None:
        return Caveat(Confidence.CONFIRMED, f"{base}; the IIS configuration was not given")
    flags = [loc.access_ssl_flags.value for loc in machine.iis.locations if loc.access_ssl_flags]
    if any(f & AccessSslFlags.SSL_REQUIRE_CERT for f in flags):
        return Caveat(Confidence.CONFIRMED, f"{base}; this IIS configuration requires one")
    return Caveat(
        Confidence.CONFIRMED,
        f"{base}; this IIS configuration requires no certificate anywhere, so the request goes "
        "on anonymously instead of 403.7 (the certificate is simply not used)",
    )


def _anchors(machine: Machine, mode: int) -> tuple[list[Certificate], Caveat | None]:
    if mode == 0:
        root = machine.store(ROOT)
        return [c for c in root if c.self_signed is SelfSigned.YES], None
    store, caveat = exclusive_store(machine)
    if mode == 1:
        return [c for c in store if c.self_signed is SelfSigned.YES], caveat
    return [c for c in store if c.is_ca or c.self_signed is SelfSigned.YES], caveat


def _stores_pool(machine: Machine) -> list[Certificate]:
    """Where CryptoAPI looks for issuers after the client's chain."""
    stores = (CA, ROOT, CLIENT_AUTH_ISSUER)
    ctl = machine.binding.ctl_store_name.value
    extra = machine.store(ctl).certificates if ctl else ()
    return [*(c for s in stores for c in machine.store(s)), *extra]


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
    offline = any(c.code is CheckCode.REVOCATION_UNKNOWN for c in best.failures)
    if offline:
        caveats.append(_REVOCATION_OFFLINE)
    elif machine.binding.checks_revocation and (unknown or not request.crls):
        caveats.append(
            _REVOCATION_REQUIRED_ASSUMED if request.require_revocation else _REVOCATION_ASSUMED
        )
    if any(c.code in _NOT_WINDOWS for c in best.failures):
        caveats.append(_CERTGATE_LIMITS)
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
_REVOCATION_REQUIRED_ASSUMED = Caveat(
    Confidence.INFERRED,
    "revocation is required: a certificate without a usable CRL among those given is judged "
    "as Windows judges an unreachable one, CRYPT_E_REVOCATION_OFFLINE (0x80092013)",
)
_REVOCATION_OFFLINE = Caveat(
    Confidence.SECONDARY,
    "CryptoAPI does not use a CRL past its nextUpdate or one whose signature fails; the "
    "revocation status is then 'offline or stale' (CERT_TRUST_IS_OFFLINE_REVOCATION, "
    "learn.microsoft.com CERT_TRUST_STATUS), the chain policy returns "
    "CRYPT_E_REVOCATION_OFFLINE (0x80092013) and HTTP.sys refuses the client (IIS 403.16) "
    "while the binding checks revocation; a certificate listed only on a stale CRL is "
    "refused this way, not as revoked (403.13)",
)
_NOT_WINDOWS = frozenset(
    {
        CheckCode.DUPLICATE_EXTENSION,
        CheckCode.MALFORMED_EXTENSION,
        CheckCode.BAD_SERIAL,
        CheckCode.OVERSIZE,
        CheckCode.NAME_CONSTRAINT_BUDGET_EXCEEDED,
        CheckCode.PATH_BUDGET_EXCEEDED,
    }
)
_CERTGATE_LIMITS = Caveat(
    Confidence.INFERRED,
    "certgate refuses malformed certificates (duplicated or unparseable extensions, bad "
    "serials, oversize fields) and work beyond its budgets in every engine; CryptoAPI's own "
    "handling of such input is not documented: CERT_E_MALFORMED / CERT_E_INVALID_NAME / "
    "CERT_E_CHAINING are certgate's reading",
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
        # [inferred]: modes 1/2 map onto CryptoAPI's exclusive trust
        # (docs/windows-model.md#trust-modes)
        bits |= INFO["CERT_TRUST_IS_FROM_EXCLUSIVE_TRUST_STORE"]
        if top.self_signed is not SelfSigned.YES:
            bits |= INFO["CERT_TRUST_IS_CA_TRUSTED"]
    return bits


ENGINE = register(Engine(NAME, judge, accepts, "TRUST_E_FAIL", EMITTED, order=0))
