"""The ``openssl`` engine: OpenSSL's own chain verifier, through pyOpenSSL.

Trust store = the machine's Root store; untrusted certificates = the client's chain plus the CA
store; purpose sslclient (or sslserver); time = the judged time; CRLs when given (then every
certificate in the chain is checked, ``CRL_CHECK_ALL``). OpenSSL stops at its first error and
never backtracks to another path; its error number and depth are reported as it gives them.
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

from certgate.core.checks import Purpose
from certgate.core.codes import X509_V_ERRORS, x509_v_name
from certgate.core.engines._base import Caveat, Confidence, OpenSSLDetail, Verdict, VerifyRequest
from certgate.core.model import Certificate
from certgate.core.names import Name
from certgate.core.stores import CA, ROOT, Machine

__all__ = ["EMITTED", "NAME", "accepts", "judge"]

NAME = "openssl"

# Every code X509_verify_cert can leave in the context (codes.X509_V_ERRORS, generated from
# OpenSSL's headers); a number newer than that table is reported as X509_V_ERR_UNSPECIFIED.
EMITTED = frozenset(X509_V_ERRORS)
_PURPOSES = {
    Purpose.CLIENT: _lib.X509_PURPOSE_SSL_CLIENT,
    Purpose.SERVER: _lib.X509_PURPOSE_SSL_SERVER,
}
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

    def __init__(self, roots: tuple[crypto.X509, ...], request: VerifyRequest) -> None:
        self.crls = request.crls
        self.lock = threading.Lock()
        self.store = crypto.X509Store()
        for root in roots:
            self.store.add_cert(root)
        flags = 0
        if request.partial_chain:
            flags |= crypto.X509StoreFlags.PARTIAL_CHAIN
        if request.crls:
            flags |= crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL
            for crl in request.crls:
                self.store.add_crl(crl)
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

    def trust(self, request: VerifyRequest) -> _Trust:
        key = (request.purpose, request.partial_chain, *map(id, request.crls))
        found = self.trusts.get(key)
        if found is None or any(a is not b for a, b in zip(found.crls, request.crls, strict=True)):
            if len(self.trusts) >= _MAX_TRUSTS:
                self.trusts.clear()
            found = self.trusts[key] = _Trust(self.roots, request)
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


def _verified_chain(request: VerifyRequest, chain: bool = True) -> list[crypto.X509]:
    """Run OpenSSL's verifier: the verified chain (empty unless ``chain``), or it raises
    ``X509StoreContextError``."""
    assert request.leaf.x509 is not None
    prepared = request.machine.derived(_Prepared, _Prepared)
    trust = prepared.trust(request)
    context = crypto.X509StoreContext(trust.store, _x509(request.leaf), prepared.untrusted(request))
    with trust.lock:
        trust.store.set_time(request.when.replace(tzinfo=None))
        if chain:
            return context.get_verified_chain()
        context.verify_certificate()
    return []


def judge(request: VerifyRequest) -> Verdict:
    if request.leaf.x509 is None:
        return Verdict(
            NAME,
            False,
            "X509_V_ERR_UNSPECIFIED",
            "OpenSSL cannot parse the leaf",
            (request.leaf,),
            caveats=(_SEMANTICS,),
            openssl=OpenSSLDetail(1, 0, "unparseable"),
        )
    try:
        chain = _verified_chain(request)
    except crypto.X509StoreContextError as exc:
        return _rejected(request, exc)
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
    if request.leaf.x509 is None:
        return False
    try:
        _verified_chain(request, chain=False)
    except crypto.X509StoreContextError:
        return False
    return True


def _rejected(request: VerifyRequest, exc: crypto.X509StoreContextError) -> Verdict:
    number, depth, text = int(exc.errors[0]), int(exc.errors[1]), str(exc.errors[2])
    name = x509_v_name(number) or "X509_V_ERR_UNSPECIFIED"
    where = _ours(exc.certificate, _known(request)).label if exc.certificate is not None else "?"
    message = f"{text} (error {number} at depth {depth}: {where})"
    return Verdict(
        NAME,
        False,
        name,
        message,
        (request.leaf,),
        caveats=(_SEMANTICS,),
        openssl=OpenSSLDetail(number, depth, text),
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
