"""The ``openssl`` engine: OpenSSL's own chain verifier, through pyOpenSSL.

Trust store = the machine's Root store; untrusted certificates = the client's chain plus the CA
store; purpose sslclient (or sslserver); time = the judged time; CRLs when given, or when
revocation is required (then every certificate in the chain is checked, ``CRL_CHECK_ALL``,
and a certificate without a CRL is ``X509_V_ERR_UNABLE_TO_GET_CRL``). OpenSSL stops at its
first error and never backtracks to another path; its error number and depth are reported as
it gives them.

Two things happen around OpenSSL. The certificates the client sent are checked for
well-formedness first (``core.wellformed``): a duplicated or unparseable extension, a bad
serial, an oversize field is a rejection with a stable code, whatever this OpenSSL build
would make of it. And when OpenSSL stops at a CRL past its nextUpdate, a second run without
time checks asks whether that CRL (its signature verified by OpenSSL) lists the certificate:
a stale CRL proves revocation, never its absence.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections import ChainMap
from collections.abc import Mapping

from OpenSSL import crypto
from OpenSSL._util import ffi as _ffi
from OpenSSL._util import lib as _lib  # pyOpenSSL has no public purpose setter

from certgate.core.checks import Check, CheckKind, CheckStatus, Purpose
from certgate.core.codes import X509_V_ERRORS, X509_V_MESSAGES, CheckCode, x509_v_name
from certgate.core.engines._base import Caveat, Confidence, OpenSSLDetail, Verdict, VerifyRequest
from certgate.core.engines._registry import Engine, register
from certgate.core.model import Certificate
from certgate.core.names import Name
from certgate.core.stores import CA, ROOT, Machine
from certgate.core.wellformed import defects

__all__ = ["EMITTED", "ENGINE", "NAME", "accepts", "judge"]

NAME = "openssl"

# Every code X509_verify_cert can leave in the context (codes.X509_V_ERRORS, generated from
# OpenSSL's headers); a number newer than that table is reported as X509_V_ERR_UNSPECIFIED.
EMITTED = frozenset(X509_V_ERRORS)
_PURPOSES = {
    Purpose.CLIENT: _lib.X509_PURPOSE_SSL_CLIENT,
    Purpose.SERVER: _lib.X509_PURPOSE_SSL_SERVER,
}
_NO_CHECK_TIME = 0x200000  # X509_V_FLAG_NO_CHECK_TIME (x509_vfy.h), absent from the binding
_CRL_TIME_ERRORS = frozenset(
    X509_V_ERRORS[n] for n in ("X509_V_ERR_CRL_NOT_YET_VALID", "X509_V_ERR_CRL_HAS_EXPIRED")
)
_REVOKED = X509_V_ERRORS["X509_V_ERR_CERT_REVOKED"]
_EXTENSION_DEFECTS = frozenset({CheckCode.DUPLICATE_EXTENSION, CheckCode.MALFORMED_EXTENSION})
_PREFLIGHT = Caveat(
    Confidence.CONFIRMED,
    "certgate checks the certificates the client sent for well-formedness before OpenSSL "
    "sees them, so a malformed certificate is refused the same way in every engine",
)
_STALE = Caveat(
    Confidence.CONFIRMED,
    "the CRL is past its nextUpdate, but its signature verifies and it lists the certificate: "
    "a stale CRL still proves revocation (it cannot prove its absence)",
)
_SEMANTICS = Caveat(
    Confidence.CONFIRMED,
    "OpenSSL trusts only self-signed certificates in Root unless --partial-chain is set, and "
    "reports its first error without trying other paths",
)


class _Trust:
    """One OpenSSL trust store (Root, purpose, flags, CRLs), built once and reused.

    The verification time is the one per-call setting: it is set under the lock, and
    OpenSSL copies it into the context when the context starts.
    """

    def __init__(
        self, roots: tuple[crypto.X509, ...], request: VerifyRequest, timeless: bool
    ) -> None:
        self.crls = request.crls
        self.timeless = timeless
        self.lock = threading.Lock()
        self.store = crypto.X509Store()
        for root in roots:
            self.store.add_cert(root)
        flags = 0
        if request.partial_chain:
            flags |= crypto.X509StoreFlags.PARTIAL_CHAIN
        if request.crls or request.require_revocation:
            flags |= crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL
            for crl in request.crls:
                self.store.add_crl(crl)
        if timeless:  # honoured only while set_time is never called (USE_CHECK_TIME wins)
            flags |= _NO_CHECK_TIME
        if flags:
            self.store.set_flags(flags)
        _lib.X509_STORE_set_purpose(self.store._store, _PURPOSES[request.purpose])


class _Prepared:
    """What the engine keeps per machine: Root and CA as OpenSSL objects, trust stores."""

    def __init__(self, machine: Machine) -> None:
        root = machine.store(ROOT).index
        self.ca = machine.store(CA).index
        converted = {c: _x509(c) for c in (*root, *self.ca) if c.x509 is not None}
        self.roots = tuple(converted[c] for c in root if c in converted)
        self.ca_x509 = {c: converted[c] for c in self.ca if c in converted}
        self.known = {_address(x): c for c, x in converted.items()}
        self.trusts: dict[tuple[object, ...], _Trust] = {}

    def trust(self, request: VerifyRequest, timeless: bool = False) -> _Trust:
        key = (
            request.purpose,
            request.partial_chain,
            request.require_revocation,
            timeless,
            *map(id, request.crls),
        )
        found = self.trusts.get(key)
        if found is None or any(a is not b for a, b in zip(found.crls, request.crls, strict=True)):
            if len(self.trusts) >= _MAX_TRUSTS:
                self.trusts.clear()
            found = self.trusts[key] = _Trust(self.roots, request, timeless)
        return found

    def untrusted(self, request: VerifyRequest) -> list[crypto.X509]:
        """The client's chain, then the CA certificates OpenSSL could take as issuers: those
        reachable by issuer name (or naming a CRL's issuer), in store order. OpenSSL only
        takes an issuer whose subject matches, so the rest of the store cannot change the
        outcome, and leaving it out keeps the cost flat in the store's size."""
        names: list[Name] = [c.issuer for c in (request.leaf, *request.chain)]
        names += [Name.from_cryptography(crl.issuer) for crl in request.crls]
        seen: set[Name] = set()
        picked: dict[Certificate, None] = {}
        while names:
            name = names.pop()
            if name in seen:
                continue
            seen.add(name)
            for issuer in self.ca.named(name):
                if issuer not in picked:
                    picked[issuer] = None
                    names.append(issuer.issuer)
        chain = [_x509(c) for c in request.chain if c.x509 is not None]
        store = [self.ca_x509[c] for c in sorted(picked, key=self.ca.position) if c in self.ca_x509]
        return chain + store


_MAX_TRUSTS = 16  # distinct (purpose, partial chain, CRL set) stores kept per machine


# Our certificate -> OpenSSL's object, converted once per certificate object (the gate's, the
# doctor's and the benchmarks' requests reuse them; an entry goes with its certificate).
_CONVERTED: weakref.WeakKeyDictionary[Certificate, crypto.X509] = weakref.WeakKeyDictionary()


def _x509(cert: Certificate) -> crypto.X509:
    found = _CONVERTED.get(cert)
    if found is None:
        found = _CONVERTED[cert] = crypto.load_certificate(crypto.FILETYPE_ASN1, cert.der)
    return found


def _address(cert: crypto.X509) -> int:
    """The OpenSSL object's address: OpenSSL hands back the very objects it was given."""
    return int(_ffi.cast("uintptr_t", cert._x509))


def _verified_chain(
    request: VerifyRequest, chain: bool = True, *, timeless: bool = False
) -> list[crypto.X509]:
    """Run OpenSSL's verifier: the verified chain (empty unless ``chain``), or it raises
    ``X509StoreContextError``. ``timeless``: no date is checked (certificates or CRLs)."""
    assert request.leaf.x509 is not None
    prepared = request.machine.derived(_Prepared, _Prepared)
    trust = prepared.trust(request, timeless)
    context = crypto.X509StoreContext(trust.store, _x509(request.leaf), prepared.untrusted(request))
    with trust.lock:
        if not timeless:
            trust.store.set_time(request.when.replace(tzinfo=None))
        if chain:
            return context.get_verified_chain()
        context.verify_certificate()
    return []


def _defective(request: VerifyRequest) -> Verdict | None:
    """The first certificate the client sent that is not fit to judge, as a rejection."""
    for depth, cert in enumerate((request.leaf, *request.chain)):
        found = defects(cert)
        if not found:
            continue
        first = found[0]
        name = (
            "X509_V_ERR_INVALID_EXTENSION"
            if first.code in _EXTENSION_DEFECTS
            else "X509_V_ERR_UNSPECIFIED"
        )
        number, text = X509_V_ERRORS[name], X509_V_MESSAGES[name][0]
        checks = tuple(
            Check(CheckKind.PARSE, CheckStatus.FAIL, d.code, depth, cert.sha1, d.message)
            for d in found
        )
        where = "the leaf" if depth == 0 else f"chain certificate {cert.label}"
        return Verdict(
            NAME,
            False,
            name,
            f"{text}: {where}: {first.message} (certgate {first.code.value})",
            (request.leaf,),
            checks,
            caveats=(_PREFLIGHT, _SEMANTICS),
            openssl=OpenSSLDetail(number, depth, text),
        )
    return None


def judge(request: VerifyRequest) -> Verdict:
    refused = _defective(request)
    if refused is not None:
        return refused
    try:
        chain = _verified_chain(request)
    except crypto.X509StoreContextError as exc:
        return _rejected(request, _stale_but_revoked(request, exc) or exc)
    known = _known(request)
    path = tuple(_ours(c, known) for c in chain)
    message = f"verified: chain of {len(path)} to {path[-1].label}"
    return Verdict(
        NAME,
        True,
        "X509_V_OK",
        message,
        path,
        caveats=(_SEMANTICS,),
        openssl=OpenSSLDetail(0, -1, "ok"),
    )


def accepts(request: VerifyRequest) -> bool:
    if _defective(request) is not None:
        return False
    try:
        _verified_chain(request, chain=False)
    except crypto.X509StoreContextError:
        return False
    return True


def _stale_but_revoked(
    request: VerifyRequest, exc: crypto.X509StoreContextError
) -> crypto.X509StoreContextError | None:
    """OpenSSL stopped at a CRL's dates: does that CRL list the certificate? (Rerun without
    time checks; OpenSSL still verifies the CRL's signature and scope.)"""
    if int(exc.errors[0]) not in _CRL_TIME_ERRORS:
        return None
    try:
        _verified_chain(request, chain=False, timeless=True)
    except crypto.X509StoreContextError as again:
        if int(again.errors[0]) == _REVOKED:
            return again
    return None


def _rejected(request: VerifyRequest, exc: crypto.X509StoreContextError) -> Verdict:
    number, depth, text = int(exc.errors[0]), int(exc.errors[1]), str(exc.errors[2])
    name = x509_v_name(number) or "X509_V_ERR_UNSPECIFIED"
    where = _ours(exc.certificate, _known(request)).label if exc.certificate is not None else "?"
    message = f"{text} (error {number} at depth {depth}: {where})"
    caveats = [_SEMANTICS]
    if number == _REVOKED and request.crls and _listed_only_on_stale(request, exc):
        message += "; listed on a CRL past its nextUpdate"
        caveats.insert(0, _STALE)
    elif name == "X509_V_ERR_UNABLE_TO_GET_CRL" and request.require_revocation:
        message += "; revocation is required and no usable CRL covers it"
    return Verdict(
        NAME,
        False,
        name,
        message,
        (request.leaf,),
        caveats=tuple(caveats),
        openssl=OpenSSLDetail(number, depth, text),
    )


def _listed_only_on_stale(request: VerifyRequest, exc: crypto.X509StoreContextError) -> bool:
    if exc.certificate is None:
        return False
    serial = exc.certificate.get_serial_number()
    issuer = exc.certificate.to_cryptography().issuer
    return any(
        crl.issuer == issuer
        and crl.get_revoked_certificate_by_serial_number(serial) is not None
        and crl.next_update_utc is not None
        and crl.next_update_utc < request.when
        for crl in request.crls
    )


def _known(request: VerifyRequest) -> Mapping[int, Certificate]:
    """Our certificates OpenSSL may hand back, by address: the request's, then the stores'."""
    prepared = request.machine.derived(_Prepared, _Prepared)
    mine = {_address(_x509(c)): c for c in (request.leaf, *request.chain) if c.x509 is not None}
    return ChainMap(mine, prepared.known)


def _ours(cert: crypto.X509, known: Mapping[int, Certificate]) -> Certificate:
    """Back from OpenSSL's object to ours: the certificate we gave it, else a new one.
    Converting re-parses it, and a certificate with a negative serial warns again: it is
    already in ``parse_issues``, so the warning is muted."""
    found = known.get(_address(cert))
    if found is not None:
        return found
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Certificate.from_cryptography(cert.to_cryptography())


ENGINE = register(Engine(NAME, judge, accepts, "X509_V_ERR_UNSPECIFIED", EMITTED, order=1))
