"""The gate's judge: one client chain -> an IIS-style answer, cached per chain.

The hot path runs ``verify_fast`` (accept/reject only); the explained ``verify`` runs once per
rejected chain, for the reason. A judgement is reused for the same chain until the policy
changes (a new ``Judge``), ``ttl`` passes, or time crosses a validity boundary of the chain,
a store certificate or a CRL, so caching never changes an answer. Fail closed: any error
while judging is a 403.16 denial.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta

from certgate.core.changes import SetSendIssuerList
from certgate.core.checks import ANY_EKU, Purpose
from certgate.core.codes import HRESULTS, CheckCode, iis_status_for, kb_id
from certgate.core.engines import Verdict, VerifyRequest, accepts, verify
from certgate.core.engines._base import Confidence
from certgate.core.engines.windows import hresult_name_for
from certgate.core.gate.decision import Decision, GateCode, allow, deny, gate_deny
from certgate.core.gate.mapping import Permission, map_identity
from certgate.core.gate.policy import ClientCertMode, Location, Policy
from certgate.core.model import Certificate
from certgate.core.stores import Machine

__all__ = [
    "Judge",
    "VerdictCache",
    "chain_fingerprint",
    "for_location",
    "internal_error",
    "judge_certificates",
    "judge_once",
]

# OpenSSL verify errors -> the HRESULT CryptoAPI reports for the same fault [inferred]
_OPENSSL_HRESULTS = {
    "X509_V_ERR_CERT_HAS_EXPIRED": "CERT_E_EXPIRED",
    "X509_V_ERR_CERT_NOT_YET_VALID": "CERT_E_EXPIRED",
    "X509_V_ERR_CERT_REVOKED": "CRYPT_E_REVOKED",
    "X509_V_ERR_UNABLE_TO_GET_CRL": "CRYPT_E_REVOCATION_OFFLINE",
    "X509_V_ERR_CERT_SIGNATURE_FAILURE": "TRUST_E_CERT_SIGNATURE",
    "X509_V_ERR_INVALID_PURPOSE": "CERT_E_WRONG_USAGE",
    "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN": "CERT_E_UNTRUSTEDROOT",
    "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT": "CERT_E_UNTRUSTEDROOT",
    "X509_V_ERR_CERT_UNTRUSTED": "CERT_E_UNTRUSTEDROOT",
    "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY": "CERT_E_CHAINING",
    "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT": "CERT_E_CHAINING",
    "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE": "CERT_E_CHAINING",
    "X509_V_ERR_INVALID_CA": "TRUST_E_BASIC_CONSTRAINTS",
    "X509_V_ERR_PATH_LENGTH_EXCEEDED": "TRUST_E_BASIC_CONSTRAINTS",
    "X509_V_ERR_INVALID_EXTENSION": "CERT_E_MALFORMED",
    "X509_V_ERR_CRL_HAS_EXPIRED": "CRYPT_E_REVOCATION_OFFLINE",
    "X509_V_ERR_CRL_NOT_YET_VALID": "CRYPT_E_REVOCATION_OFFLINE",
    "X509_V_ERR_CRL_SIGNATURE_FAILURE": "CRYPT_E_REVOCATION_OFFLINE",
    "X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE": "CRYPT_E_REVOCATION_OFFLINE",
    "X509_V_ERR_PERMITTED_VIOLATION": "CERT_E_INVALID_NAME",
    "X509_V_ERR_EXCLUDED_VIOLATION": "CERT_E_INVALID_NAME",
}
_MAPPING_CAVEAT = (
    "[unconfirmed] a Deny many-to-one mapping is answered 401.1 (logon failed); IIS's exact "
    "substatus for it is not documented"
)


_GENERATIONS = itertools.count(1)


def chain_fingerprint(chain: Sequence[bytes]) -> bytes:
    """SHA-256 over the chain, each certificate length-prefixed (no two chains collide by
    moving a boundary)."""
    digest = hashlib.sha256()
    for der in chain:
        digest.update(len(der).to_bytes(4, "big"))
        digest.update(der)
    return digest.digest()


class VerdictCache:
    """Judgements by (chain fingerprint, policy generation), least recently used first out.

    Thread-safe: the gate's judging pool fills it, the reactor thread reads it. A judgement
    is never served outside the time window it was made for (``Judge`` sets it)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[bytes, int], tuple[Decision, datetime, datetime]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, key: tuple[bytes, int], at: datetime) -> Decision | None:
        found = self.get_until(key, at)
        return None if found is None else found[0]

    def get_until(self, key: tuple[bytes, int], at: datetime) -> tuple[Decision, datetime] | None:
        """The judgement and the time it holds until (exclusive)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry[1] <= at < entry[2]:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return entry[0], entry[2]

    def put(
        self, key: tuple[bytes, int], decision: Decision, at: datetime, until: datetime
    ) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = (decision, at, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class _Parsed:
    """Certificates parsed from DER, shared by every chain that carries them (intermediates
    repeat across clients); least recently used out, thread-safe."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, der: bytes) -> Certificate:
        with self._lock:
            found = self._entries.get(der)
            if found is not None:
                self._entries.move_to_end(der)
                return found
        cert = Certificate.from_der(der)
        with self._lock:
            self._entries[der] = cert
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return cert


class Judge:
    """Judges chains under one policy (one generation of it). Thread-safe: the engines keep
    no per-call state, and the cache locks."""

    def __init__(
        self,
        policy: Policy,
        *,
        cache_size: int = 4096,
        ttl: timedelta = timedelta(minutes=5),
        cache: VerdictCache | None = None,
    ) -> None:
        self.policy = policy
        self.generation = next(_GENERATIONS)
        self.machine = _judged_machine(policy)
        self.ttl = ttl
        self.cache = cache if cache is not None else VerdictCache(cache_size)
        self._parsed = _Parsed()
        self._boundaries = _boundaries(policy)

    @property
    def hits(self) -> int:
        return self.cache.hits

    @property
    def misses(self) -> int:
        return self.cache.misses

    def decide(
        self,
        path: str,
        chain: Sequence[bytes] | None,
        at: datetime,
        *,
        hints: int = 0,
        judged: Decision | None = None,
    ) -> Decision:
        """The answer for a request to ``path`` with the chain the client sent (leaf first;
        None or empty when it sent none). ``hints``: CA names sent in the handshake.
        ``judged``: the chain's judgement when the caller already has it (the gate's refusal
        to judge for an address over its budget)."""
        location = self.policy.location_for(path)
        if location.client_cert is ClientCertMode.IGNORE:
            return allow(None, None)
        if chain and judged is None:
            judged = self.certificate(tuple(chain), at)
        return for_location(location, judged if chain else None, hints)

    def key(self, chain: Sequence[bytes]) -> tuple[bytes, int]:
        return chain_fingerprint(chain), self.generation

    def certificate(self, chain: tuple[bytes, ...], at: datetime) -> Decision:
        """The judgement of one chain, location aside (cached)."""
        return self.judgement(chain, at)[0]

    def judgement(self, chain: tuple[bytes, ...], at: datetime) -> tuple[Decision, datetime]:
        """``certificate``, and the time until which it holds: a caller may keep it that long
        under this judge (the gate keeps it on the connection that sent the chain)."""
        key = self.key(chain)
        found = self.cache.get_until(key, at)
        if found is not None:
            return found
        decision, until = self._judge(chain, at)
        self.cache.put(key, decision, at, until)
        return decision, until

    def _judge(self, chain: tuple[bytes, ...], at: datetime) -> tuple[Decision, datetime]:
        until = at + self.ttl
        try:
            certs = [self._parsed(der) for der in chain]
            until = min(until, self._next_boundary(at, certs))
            return judge_certificates(self.policy, self.machine, certs, at), until
        except Exception as exc:  # fail closed: a crash while judging is a denial
            return internal_error(exc), until

    def _next_boundary(self, at: datetime, certs: list[Certificate]) -> datetime:
        own = [t for c in certs for t in (c.not_before, c.not_after) if t > at]
        index = bisect.bisect_right(self._boundaries, at)
        found = [*own, *self._boundaries[index : index + 1]]
        return min(found) if found else at + self.ttl


def judge_once(policy: Policy, path: str, chain: Sequence[bytes] | None, at: datetime) -> Decision:
    """One decision without a cache (tests, the CLI's what-if)."""
    return Judge(policy, cache_size=0).decide(path, chain, at)


def for_location(location: Location, judged: Decision | None, hints: int = 0) -> Decision:
    if judged is None:
        if location.client_cert is ClientCertMode.REQUIRE:
            return _no_certificate(hints)
        if location.identity_required:
            return _not_mapped(None)
        return allow(None, None)
    if not judged.allowed:
        return judged
    mapping = judged.mapping
    if mapping is not None and mapping.permission is Permission.DENY:
        return gate_deny(
            "401.1",
            GateCode.MAPPING_DENIED,
            f"the certificate matches {mapping.reason}, which denies access",
            "E_ACCESSDENIED",
            caveats=(_MAPPING_CAVEAT,),
            certificate=judged.certificate,
            mapping=mapping,
        )
    if location.identity_required and (mapping is None or not mapping.allowed):
        return _not_mapped(judged)
    return judged


def judge_certificates(
    policy: Policy, machine: Machine, certs: list[Certificate], at: datetime
) -> Decision:
    leaf, chain = certs[0], certs[1:]
    limits = policy.limits
    size = sum(len(c.der) for c in certs)
    if len(certs) > limits.max_chain_certificates or size > limits.max_chain_bytes:
        return gate_deny(
            "403.16",
            GateCode.CHAIN_TOO_LONG,
            f"the client sent {len(certs)} certificate(s), {size} bytes: over the gate's cap of "
            f"{limits.max_chain_certificates} certificates / {limits.max_chain_bytes} bytes",
            "CERT_E_CHAINING",
            certificate=leaf,
        )
    request = VerifyRequest(
        leaf,
        tuple(chain),
        machine,
        Purpose.CLIENT,
        at,
        policy.crls,
        partial_chain=policy.partial_chain,
        require_revocation=policy.require_revocation,
    )
    if not accepts(request, policy.engine):  # explain only what is rejected
        return _from_verdict(verify(request, [policy.engine])[policy.engine], leaf)
    problem = _requirements(policy, leaf)
    if problem is not None:
        return problem
    mapping = map_identity(policy.mapping, leaf) if policy.mapping.enabled else None
    return allow(leaf, mapping)


def _requirements(policy: Policy, leaf: Certificate) -> Decision | None:
    ekus = leaf.extended_key_usage
    missing = [o for o in policy.required_eku if ekus is not None and o not in ekus]
    if missing and (ekus is None or ANY_EKU not in ekus):
        return gate_deny(
            "403.16",
            GateCode.REQUIRED_EKU_MISSING,
            f"the certificate's EKU {list(ekus or ())} lacks the required {missing}",
            "CERT_E_WRONG_USAGE",
            certificate=leaf,
        )
    if policy.allowed_issuers and leaf.issuer not in policy.allowed_issuers:
        return gate_deny(
            "403.16",
            GateCode.ISSUER_NOT_ALLOWED,
            f"issued by {leaf.issuer}, which is not one of the {len(policy.allowed_issuers)} "
            "allowed issuer(s)",
            "CERT_E_UNTRUSTEDCA",
            certificate=leaf,
        )
    if policy.pins and not {leaf.sha256, leaf.spki_sha256} & policy.pins:
        return gate_deny(
            "403.16",
            GateCode.PIN_MISMATCH,
            f"neither the certificate's SHA-256 ({leaf.sha256}) nor its key's "
            f"({leaf.spki_sha256}) is pinned",
            "TRUST_E_FAIL",
            certificate=leaf,
        )
    return None


def _from_verdict(verdict: Verdict, leaf: Certificate) -> Decision:
    caveats = tuple(str(c) for c in verdict.caveats if c.confidence is not Confidence.CONFIRMED)
    if verdict.accepted:  # the fast and explained runs disagree: fail closed, say so
        return internal_error(RuntimeError("fast and explained verdicts disagree"))
    if verdict.windows is not None:
        name, explain = verdict.code, kb_id("hresult", verdict.code)
        status = verdict.windows.iis_status
    else:
        if verdict.openssl is not None:
            name, explain = _OPENSSL_HRESULTS.get(verdict.code, "TRUST_E_FAIL"), "openssl"
        else:
            name, explain = _check_hresult(verdict.code), "certgate"
        explain = kb_id(explain, verdict.code)
        status = iis_status_for(HRESULTS[name])
    if status == "403.7":  # the windows engine's "client could not select": not live here
        status = "403.16"
    return deny(
        status, verdict.code, explain, verdict.message, name, caveats=caveats, certificate=leaf
    )


def _check_hresult(code: str) -> str:
    try:
        return hresult_name_for(CheckCode(code))
    except ValueError:
        return "TRUST_E_FAIL"


def _no_certificate(hints: int) -> Decision:
    sent = (
        f"; the handshake named {hints} acceptable CA(s), and a client offers only a "
        "certificate chaining to one of them"
        if hints
        else ""
    )
    return deny(
        "403.7",
        GateCode.NO_CERTIFICATE.value,
        kb_id("iis", "403.7"),
        f"this path requires a client certificate and the client sent none{sent}",
        "E_ACCESSDENIED",
    )


def _not_mapped(judged: Decision | None) -> Decision:
    reason = (
        "no client certificate, and this path requires a mapped identity"
        if judged is None
        else "the certificate is valid but no identity mapping matches it"
    )
    return gate_deny(
        "401.2",
        GateCode.NOT_MAPPED,
        reason,
        "E_ACCESSDENIED",
        certificate=judged.certificate if judged else None,
        mapping=judged.mapping if judged else None,
    )


def internal_error(exc: Exception) -> Decision:
    return gate_deny(
        "403.16",
        GateCode.INTERNAL_ERROR,
        f"the gate could not judge this certificate ({type(exc).__name__}); denied",
        "TRUST_E_FAIL",
    )


def _judged_machine(policy: Policy) -> Machine:
    """The machine the engine judges with. A live client that did send a certificate has
    already chosen it, so the issuer list's effect on *selection* (403.7) is not re-applied;
    its effect on trust (the mode-0 list rule) is, because it does not depend on sending."""
    judged = SetSendIssuerList(False, origin="certgate serve: judged after selection")
    return judged.apply(policy.machine)


def _boundaries(policy: Policy) -> list[datetime]:
    times = [t for s in policy.machine.stores for c in s for t in (c.not_before, c.not_after)]
    for crl in policy.crls:
        times.append(crl.last_update_utc)
        if crl.next_update_utc is not None:
            times.append(crl.next_update_utc)
    return sorted(times)
