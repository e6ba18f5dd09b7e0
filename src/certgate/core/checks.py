"""Per-certificate checks on one candidate path, each a result with a stable code.

A path is a tuple of certificates, leaf first; ``anchored`` says whether its last certificate
is a trust anchor of the engine judging it. Engines differ in what they find fatal (SHA-1,
anyExtendedKeyUsage on a leaf, a missing basicConstraints...), which a ``Profile`` states.
Every check reports a pass too, so an explanation can show what held as well as what broke.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from cryptography import x509

from certgate.core._cache import remembered
from certgate.core.codes import CheckCode
from certgate.core.model import Certificate
from certgate.core.nameconstraints import comparisons, name_constraint_violations
from certgate.core.profile5280 import profile_violations
from certgate.core.revocation import RevocationPolicy, RevocationStatus, check_revocation
from certgate.core.signatures import SignatureCheck, SignatureStatus
from certgate.core.wellformed import defects

__all__ = [
    "ANY_EKU",
    "KNOWN_EXTENSIONS",
    "NAME_CHECK_BUDGET",
    "SIGNATURE_BUDGET",
    "Check",
    "CheckKind",
    "CheckStatus",
    "Profile",
    "Purpose",
    "Work",
    "path_checks",
    "path_valid",
]

ANY_EKU = "2.5.29.37.0"
_NAME_CONSTRAINTS = "2.5.29.30"


class Purpose(StrEnum):
    CLIENT = "client"
    SERVER = "server"

    @property
    def eku(self) -> str:
        return "1.3.6.1.5.5.7.3.2" if self is Purpose.CLIENT else "1.3.6.1.5.5.7.3.1"


class CheckKind(StrEnum):
    PARSE = "parse"
    SIGNATURE = "signature"
    VALIDITY = "validity"
    BASIC_CONSTRAINTS = "basic-constraints"
    PATH_LENGTH = "path-length"
    KEY_USAGE = "key-usage"
    EKU = "extended-key-usage"
    NAME_CONSTRAINTS = "name-constraints"
    CRITICAL_EXTENSIONS = "critical-extensions"
    REVOCATION = "revocation"
    DISALLOWED = "disallowed"
    ISSUER_LIST = "trusted-issuer-list"  # Windows only: the Schannel issuer-list rules


class CheckStatus(StrEnum):
    PASS = "pass"
    WARN = "warn"  # noted, not fatal for the engine that ran it
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    kind: CheckKind
    status: CheckStatus
    code: CheckCode
    depth: int  # 0 = the leaf
    sha1: str
    message: str

    @property
    def failed(self) -> bool:
        return self.status is CheckStatus.FAIL


# Extensions RFC 5280 path validation recognises. Policy extensions are recognised but not
# processed (certificate policies are outside certgate's model; see docs/pkits.md).
KNOWN_EXTENSIONS = frozenset(
    {
        "2.5.29.14",  # subjectKeyIdentifier
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.18",  # issuerAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.30",  # nameConstraints
        "2.5.29.31",  # cRLDistributionPoints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.33",  # policyMappings
        "2.5.29.35",  # authorityKeyIdentifier
        "2.5.29.36",  # policyConstraints
        "2.5.29.37",  # extKeyUsage
        "2.5.29.46",  # freshestCRL
        "2.5.29.54",  # inhibitAnyPolicy
        "1.3.6.1.5.5.7.1.1",  # authorityInfoAccess
    }
)


@dataclass(frozen=True)
class Profile:
    """What an engine treats as fatal. The defaults are strict RFC 5280 / WebPKI."""

    purpose: Purpose = Purpose.CLIENT
    weak_signature_fatal: bool = True
    leaf_any_eku_ok: bool = False  # cryptography's verifier refuses a leaf with only anyEKU
    missing_basic_constraints_fatal: bool = True
    leaf_ca_fatal: bool = True
    check_usage: bool = True
    check_anchor: bool = True  # apply CA checks (validity, pathLen, keyCertSign) to the anchor
    known_extensions: frozenset[str] = KNOWN_EXTENSIONS
    revocation: RevocationPolicy = RevocationPolicy.IF_AVAILABLE
    strict_profile: bool = True  # hold every certificate to RFC 5280's profile (profile5280)
    stale_crl_proves_revocation: bool = True  # RFC 5280 / OpenSSL; Windows ignores such a CRL
    unusable_crl_fatal: bool = False  # Windows: a stale or unverifiable CRL is "offline"


# Name comparisons one request may spend on name constraints: names x subtrees, summed over
# the CAs of every path judged. OpenSSL and cryptography's verifier refuse a single check
# over 2**20; certgate's comparisons run in Python, so it stops far earlier, still two orders
# of magnitude above a real constrained PKI (a few hundred subtrees, a few dozen names).
NAME_CHECK_BUDGET = 1 << 16
SIGNATURE_BUDGET = 512  # signature verifications per request (64 paths x 8 links fit)


@dataclass
class Work:
    """Work spent on one request, against its budget; shared by every path judged for it.

    Signature results are kept per (certificate, issuer) pair, so paths sharing links verify
    each link once."""

    max_signatures: int = SIGNATURE_BUDGET
    max_name_checks: int = NAME_CHECK_BUDGET
    signatures: int = 0
    name_checks: int = 0
    verified: dict[tuple[bytes, bytes], SignatureCheck] = field(default_factory=dict)

    def signature(self, cert: Certificate, issuer: Certificate) -> SignatureCheck | None:
        """``cert.signed_by(issuer)``, remembered; None when the budget is spent."""
        key = (cert.der, issuer.der)
        known = self.verified.get(key)
        if known is not None:
            return known
        if self.signatures >= self.max_signatures:
            return None
        self.signatures += 1
        result = self.verified[key] = cert.signed_by(issuer)
        return result


def path_checks(
    path: Sequence[Certificate],
    anchored: bool,
    profile: Profile,
    at: datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    disallowed: frozenset[Certificate] = frozenset(),
    *,
    explain: bool = True,
    work: Work | None = None,
) -> Iterator[Check]:
    """Every check on ``path``, leaf first. ``explain=False`` yields only warnings and failures,
    without composing pass messages: consume until the first FAIL for a fast verdict.

    Order bounds the work: well-formedness first, then every signature on the path, then the
    per-certificate checks; name constraints and revocation (the per-name work) run only on a
    path whose certificates are well-formed and whose signatures all verify."""
    spent = work if work is not None else Work()
    for check in _all_checks(path, anchored, profile, at, crls, disallowed, explain, spent):
        if check is not None:
            yield check


def path_valid(
    path: Sequence[Certificate],
    anchored: bool,
    profile: Profile,
    at: datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
    disallowed: frozenset[Certificate] = frozenset(),
    *,
    work: Work | None = None,
) -> bool:
    """``not any(check.failed for check in path_checks(..., explain=False))``, for the fast
    verdict: the same check functions, with the same work spent up to the first failure
    (well-formedness, then the signatures in path order, then per-certificate checks, then name
    constraints and revocation), without the generators. The checks that depend on nothing but
    the certificate, its role (leaf, anchor) and the profile (basicConstraints, keyUsage, EKU,
    critical extensions, the RFC 5280 profile) are worked out once per certificate; validity,
    pathLen, Disallowed, signatures, name constraints and revocation every time.
    ``tests/test_checks_fast.py`` holds it equal to ``path_checks``."""
    spent = work if work is not None else Work()
    top = len(path) - 1
    for depth, cert in enumerate(path):
        if defects(cert, anchor=anchored and depth == top):
            return False
    for depth in range(top):
        for check in _signature(path[depth], path[depth + 1], depth, profile, False, spent):
            if check is not None and check.status is CheckStatus.FAIL:
                return False
    token = _profile_token(profile)
    for depth, cert in enumerate(path):
        anchor = anchored and depth == top
        if anchor and not profile.check_anchor and depth > 0:
            continue
        if _validity(cert, depth, at, False) is not None:
            return False  # with explain=False a validity check that passes is None
        if _static_fails(cert, depth == 0, anchor, profile, token):
            return False
        if depth > 0 and _failed(_path_length(cert, path, depth, False)):
            return False
        if disallowed and _failed(_disallowed(cert, depth, disallowed, False)):
            return False
    for depth, cert in enumerate(path):
        constrains = depth > 0 and not (anchored and depth == top and not profile.check_anchor)
        if constrains and _failed(_name_constraints(cert, path, depth, False, spent)):
            return False
        issuer = path[depth + 1] if depth < top else None
        if issuer is not None and _checks_revocation(profile.revocation, crls):
            signers = [c for c in path[depth + 2 :] if c.subject == cert.issuer]
            revocation = _revocation(cert, issuer, depth, crls, at, profile, signers, False)
            if _failed(revocation):
                return False
    return True


def _failed(check: Check | None) -> bool:
    return check is not None and check.status is CheckStatus.FAIL


# One token per distinct profile (a handful in practice), so a certificate's remembered static
# verdicts are keyed without hashing the whole profile for each certificate. Bounded: past the
# limit, verdicts for further profiles are computed every time instead of remembered.
_PROFILE_TOKENS: dict[Profile, object] = {}
_MAX_PROFILE_TOKENS = 256


def _profile_token(profile: Profile) -> object | None:
    token = _PROFILE_TOKENS.get(profile)
    if token is None and len(_PROFILE_TOKENS) < _MAX_PROFILE_TOKENS:
        token = _PROFILE_TOKENS.setdefault(profile, object())  # unique: never shared
    return token


def _static_fails(
    cert: Certificate, leaf: bool, anchor: bool, profile: Profile, token: object | None
) -> bool:
    """Whether a check that depends only on ``cert``, its role and ``profile`` fails."""
    if token is None:
        return _static_checks_fail(cert, leaf, anchor, profile)
    key = ("static-checks", token, leaf, anchor)
    return remembered(cert, key, lambda: _static_checks_fail(cert, leaf, anchor, profile))


def _static_checks_fail(cert: Certificate, leaf: bool, anchor: bool, profile: Profile) -> bool:
    depth = 0 if leaf else 1  # the checks below read the depth only as leaf or not
    checks: list[Check | None] = []
    if leaf:
        checks.extend(_leaf_checks(cert, profile, False))
    else:
        checks += [
            _basic_constraints(cert, depth, profile, False),
            _ca_key_usage(cert, depth, False),
        ]
    if profile.check_usage:
        checks.append(_eku(cert, depth, profile, False))
    checks.append(_critical(cert, depth, profile, False))
    if profile.strict_profile:
        checks.append(_conforms(cert, depth, anchor, False))
    return any(_failed(check) for check in checks)


def _all_checks(
    path: Sequence[Certificate],
    anchored: bool,
    profile: Profile,
    at: datetime,
    crls: Sequence[x509.CertificateRevocationList],
    disallowed: frozenset[Certificate],
    explain: bool,
    work: Work,
) -> Iterator[Check | None]:
    top = len(path) - 1
    broken: set[int] = set()
    for depth, cert in enumerate(path):
        for defect in defects(cert, anchor=anchored and depth == top):
            broken.add(depth)
            yield _fail(CheckKind.PARSE, defect.code, depth, cert, defect.message)
    signed = True
    for depth in range(top):
        if depth in broken or depth + 1 in broken:
            signed = False
            continue
        for check in _signature(path[depth], path[depth + 1], depth, profile, explain, work):
            signed = signed and (check is None or not check.failed)
            yield check
    for depth, cert in enumerate(path):
        if depth in broken:
            continue
        if anchored and depth == top and not profile.check_anchor and depth > 0:
            continue
        yield _validity(cert, depth, at, explain)
        if depth > 0:
            yield from _ca_checks(cert, path, depth, profile, explain)
        else:
            yield from _leaf_checks(cert, profile, explain)
        if profile.check_usage:
            yield _eku(cert, depth, profile, explain)
        yield _critical(cert, depth, profile, explain)
        if profile.strict_profile:
            yield _conforms(cert, depth, anchored and depth == top, explain)
        if disallowed:
            yield _disallowed(cert, depth, disallowed, explain)
    if broken or not signed:
        return  # no per-name work on a path that cannot be valid
    for depth, cert in enumerate(path):
        if depth > 0 and not (anchored and depth == top and not profile.check_anchor):
            yield _name_constraints(cert, path, depth, explain, work)
        issuer = path[depth + 1] if depth < top else None
        if issuer is not None and _checks_revocation(profile.revocation, crls):
            signers = [c for c in path[depth + 2 :] if c.subject == cert.issuer]
            yield _revocation(cert, issuer, depth, crls, at, profile, signers, explain)


def _checks_revocation(policy: RevocationPolicy, crls: Sequence[object]) -> bool:
    """With no CRL at all, "if available" has nothing to check: no per-certificate noise."""
    if policy is RevocationPolicy.OFF:
        return False
    return bool(crls) or policy is RevocationPolicy.REQUIRED


def _pass(kind: CheckKind, depth: int, cert: Certificate, message: str) -> Check:
    return Check(kind, CheckStatus.PASS, CheckCode.OK, depth, cert.sha1, message)


def _fail(kind: CheckKind, code: CheckCode, depth: int, cert: Certificate, message: str) -> Check:
    return Check(kind, CheckStatus.FAIL, code, depth, cert.sha1, message)


def _warn(kind: CheckKind, code: CheckCode, depth: int, cert: Certificate, message: str) -> Check:
    return Check(kind, CheckStatus.WARN, code, depth, cert.sha1, message)


def _signature(
    cert: Certificate,
    issuer: Certificate,
    depth: int,
    profile: Profile,
    explain: bool,
    work: Work,
) -> Iterator[Check | None]:
    kind = CheckKind.SIGNATURE
    result = work.signature(cert, issuer)
    if result is None:
        text = f"not checked: the budget of {work.max_signatures} signature checks is spent"
        yield _fail(kind, CheckCode.PATH_BUDGET_EXCEEDED, depth, cert, text)
        return
    algorithm = cert.signature_algorithm
    if result.status is SignatureStatus.VALID:
        if algorithm.weak:
            text = f"signed with {algorithm.name}: a weak hash ({algorithm.hash})"
            if profile.weak_signature_fatal:
                yield _fail(kind, CheckCode.WEAK_SIGNATURE, depth, cert, text + ", refused")
            else:
                yield _warn(kind, CheckCode.WEAK_SIGNATURE, depth, cert, text + ", accepted")
            return
        yield (
            None
            if not explain
            else _pass(kind, depth, cert, f"{algorithm.name} signature verified by {issuer.label}")
        )
        return
    reason = result.reason or result.status.value
    yield _fail(kind, CheckCode.SIGNATURE_INVALID, depth, cert, f"{issuer.label}: {reason}")


def _validity(cert: Certificate, depth: int, at: datetime, explain: bool) -> Check | None:
    at = at.replace(microsecond=0)  # X.509 times have whole seconds: compare at that grain
    if cert.not_before <= at <= cert.not_after:
        return (
            None
            if not explain
            else _pass(CheckKind.VALIDITY, depth, cert, f"valid {_window(cert)}")
        )
    window = _window(cert)
    if at < cert.not_before:
        return _fail(
            CheckKind.VALIDITY, CheckCode.NOT_YET_VALID, depth, cert, f"not valid before {window}"
        )
    return _fail(CheckKind.VALIDITY, CheckCode.EXPIRED, depth, cert, f"expired: valid {window}")


@lru_cache(maxsize=4096)
def _window(cert: Certificate) -> str:
    return f"{cert.not_before:%Y-%m-%d %H:%M} to {cert.not_after:%Y-%m-%d %H:%M} UTC"


def _ca_checks(
    cert: Certificate, path: Sequence[Certificate], depth: int, profile: Profile, explain: bool
) -> Iterator[Check | None]:
    yield _basic_constraints(cert, depth, profile, explain)
    yield _path_length(cert, path, depth, explain)
    yield _ca_key_usage(cert, depth, explain)


def _basic_constraints(
    cert: Certificate, depth: int, profile: Profile, explain: bool
) -> Check | None:
    constraints = cert.basic_constraints
    kind = CheckKind.BASIC_CONSTRAINTS
    if constraints is None:
        text = "issues certificates but has no basicConstraints extension"
        if profile.missing_basic_constraints_fatal:
            return _fail(kind, CheckCode.NOT_A_CA, depth, cert, text)
        return _warn(kind, CheckCode.NOT_A_CA, depth, cert, text + " (tolerated)")
    if not constraints.ca:
        return _fail(kind, CheckCode.NOT_A_CA, depth, cert, "issues certificates but has cA=FALSE")
    return None if not explain else _pass(kind, depth, cert, "cA=TRUE")


def _path_length(
    cert: Certificate, path: Sequence[Certificate], depth: int, explain: bool
) -> Check | None:
    constraints = cert.basic_constraints
    if constraints is None or constraints.path_length is None:
        return None
    below = sum(1 for c in path[1:depth] if not c.self_issued)
    limit = constraints.path_length
    text = f"pathLenConstraint {limit}, {below} intermediate(s) below"
    if below > limit:
        return _fail(CheckKind.PATH_LENGTH, CheckCode.PATH_LENGTH_EXCEEDED, depth, cert, text)
    return None if not explain else _pass(CheckKind.PATH_LENGTH, depth, cert, text)


def _ca_key_usage(cert: Certificate, depth: int, explain: bool) -> Check | None:
    usage = cert.key_usage
    if usage is not None and "key_cert_sign" not in usage:
        return _fail(
            CheckKind.KEY_USAGE, CheckCode.KEY_USAGE, depth, cert, "keyUsage lacks keyCertSign"
        )
    return None if not explain else _pass(CheckKind.KEY_USAGE, depth, cert, "keyCertSign allowed")


def _leaf_checks(cert: Certificate, profile: Profile, explain: bool) -> Iterator[Check | None]:
    if cert.is_ca:
        text = "the end-entity certificate has cA=TRUE"
        if profile.leaf_ca_fatal:
            yield _fail(CheckKind.BASIC_CONSTRAINTS, CheckCode.LEAF_IS_CA, 0, cert, text)
        else:
            yield _warn(CheckKind.BASIC_CONSTRAINTS, CheckCode.LEAF_IS_CA, 0, cert, text)
    usage = cert.key_usage
    if usage is None:
        return
    if "key_cert_sign" in usage and not cert.is_ca:
        text = "an end-entity keyUsage asserts keyCertSign"
        if profile.leaf_ca_fatal:
            yield _fail(CheckKind.KEY_USAGE, CheckCode.KEY_USAGE, 0, cert, text)
            return
        yield _warn(CheckKind.KEY_USAGE, CheckCode.KEY_USAGE, 0, cert, text)
    if "digital_signature" not in usage:
        # RFC 5280 path validation does not judge an end-entity's keyUsage; TLS needs a
        # signature from a client key, so say so without rejecting.
        yield _warn(
            CheckKind.KEY_USAGE, CheckCode.KEY_USAGE, 0, cert, "keyUsage lacks digitalSignature"
        )


def _eku(cert: Certificate, depth: int, profile: Profile, explain: bool) -> Check | None:
    ekus = cert.extended_key_usage
    wanted = profile.purpose.eku
    if ekus is None:
        return (
            None
            if not explain
            else _pass(CheckKind.EKU, depth, cert, "no EKU extension: any purpose")
        )
    if wanted in ekus:
        return (
            None
            if not explain
            else _pass(CheckKind.EKU, depth, cert, f"EKU includes {profile.purpose.value}Auth")
        )
    if ANY_EKU in ekus and (depth > 0 or profile.leaf_any_eku_ok):
        return (
            None
            if not explain
            else _pass(CheckKind.EKU, depth, cert, "EKU includes anyExtendedKeyUsage")
        )
    listed = ", ".join(ekus) or "nothing"
    text = f"EKU lists {listed}, not {profile.purpose.value}Auth ({wanted})"
    return _fail(CheckKind.EKU, CheckCode.WRONG_EKU, depth, cert, text)


def _critical(cert: Certificate, depth: int, profile: Profile, explain: bool) -> Check | None:
    unknown = [
        oid for oid, critical in cert.extensions if critical and oid not in profile.known_extensions
    ]
    if unknown:
        text = f"unrecognised critical extension(s): {', '.join(unknown)}"
        return _fail(
            CheckKind.CRITICAL_EXTENSIONS, CheckCode.UNKNOWN_CRITICAL_EXTENSION, depth, cert, text
        )
    return (
        None
        if not explain
        else _pass(
            CheckKind.CRITICAL_EXTENSIONS, depth, cert, "every critical extension recognised"
        )
    )


def _conforms(cert: Certificate, depth: int, anchor: bool, explain: bool) -> Check | None:
    broken = profile_violations(cert, leaf=depth == 0, anchor=anchor)
    if broken:
        text = "not a conforming RFC 5280 certificate: " + "; ".join(broken)
        return _fail(CheckKind.PARSE, CheckCode.MALFORMED, depth, cert, text)
    return (
        None
        if not explain
        else _pass(CheckKind.PARSE, depth, cert, "conforms to the RFC 5280 certificate profile")
    )


def _name_constraints(
    cert: Certificate, path: Sequence[Certificate], depth: int, explain: bool, work: Work
) -> Check | None:
    assert cert.x509 is not None
    kind = CheckKind.NAME_CONSTRAINTS
    if not any(oid == _NAME_CONSTRAINTS for oid, _ in cert.extensions):
        return None if not explain else _pass(kind, depth, cert, "no name constraints")
    try:
        constraint = cert.x509.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None if not explain else _pass(kind, depth, cert, "no name constraints")
    except Exception as exc:  # wellformed.defects finds these first; fail closed regardless
        text = f"unreadable nameConstraints: {exc}"
        return _fail(kind, CheckCode.MALFORMED_EXTENSION, depth, cert, text)
    constrained = [
        below
        for below_depth, below in enumerate(path[:depth])
        # RFC 5280 §6.1.3(b): self-issued intermediates are not constrained
        if not (below_depth > 0 and below.self_issued)
    ]
    cost = sum(comparisons(constraint, below) for below in constrained)
    if work.name_checks + cost > work.max_name_checks:
        text = (
            f"not checked: {cost:,} name comparisons (names below x subtrees) would exceed the "
            f"budget of {work.max_name_checks:,}; no real PKI needs that many"
        )
        work.name_checks = work.max_name_checks
        return _fail(kind, CheckCode.NAME_CONSTRAINT_BUDGET_EXCEEDED, depth, cert, text)
    work.name_checks += cost
    for below in constrained:
        broken = name_constraint_violations(constraint, below)
        if broken:
            text = f"{below.label} violates this CA's name constraints: {broken[0]}"
            return _fail(kind, CheckCode.NAME_CONSTRAINTS, depth, cert, text)
    return (
        None
        if not explain
        else _pass(kind, depth, cert, "certificates below satisfy its name constraints")
    )


def _disallowed(
    cert: Certificate, depth: int, disallowed: frozenset[Certificate], explain: bool
) -> Check | None:
    if cert in disallowed or any(_same_key_and_name(cert, d) for d in disallowed):
        return _fail(
            CheckKind.DISALLOWED, CheckCode.DISALLOWED, depth, cert, "in the Disallowed store"
        )
    return (
        None
        if not explain
        else _pass(CheckKind.DISALLOWED, depth, cert, "not in the Disallowed store")
    )


def _same_key_and_name(a: Certificate, b: Certificate) -> bool:
    return a.subject == b.subject and a.spki_der == b.spki_der


def _revocation(
    cert: Certificate,
    issuer: Certificate,
    depth: int,
    crls: Sequence[x509.CertificateRevocationList],
    at: datetime,
    profile: Profile,
    signers: Sequence[Certificate],
    explain: bool,
) -> Check | None:
    result = check_revocation(
        cert,
        issuer,
        crls,
        at,
        signers,
        stale_proves=profile.stale_crl_proves_revocation,
        strict=profile.strict_profile,
    )
    kind = CheckKind.REVOCATION
    if result.status is RevocationStatus.REVOKED:
        return _fail(kind, CheckCode.REVOKED, depth, cert, result.message)
    if result.status is RevocationStatus.GOOD:
        return None if not explain else _pass(kind, depth, cert, result.message)
    if profile.revocation is RevocationPolicy.REQUIRED or (
        profile.unusable_crl_fatal and result.offered
    ):
        return _fail(kind, CheckCode.REVOCATION_UNKNOWN, depth, cert, result.message)
    return _warn(kind, CheckCode.REVOCATION_UNKNOWN, depth, cert, result.message)
