"""The ``openssl`` engine: OpenSSL's own chain verifier, through pyOpenSSL.

Trust store = the machine's Root store; untrusted certificates = the client's chain plus the CA
store; purpose sslclient (or sslserver); time = the judged time; CRLs when given (then every
certificate in the chain is checked, ``CRL_CHECK_ALL``). OpenSSL stops at its first error and
never backtracks to another path; its error number and depth are reported as it gives them.
"""

from __future__ import annotations

import warnings

from OpenSSL import crypto
from OpenSSL._util import lib as _lib  # pyOpenSSL has no public purpose setter

from certgate.core.checks import Purpose
from certgate.core.codes import X509_V_ERRORS, x509_v_name
from certgate.core.engines._base import Caveat, Confidence, OpenSSLDetail, Verdict, VerifyRequest
from certgate.core.model import Certificate
from certgate.core.stores import CA, ROOT

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


def _store(request: VerifyRequest) -> crypto.X509Store:
    store = crypto.X509Store()
    for cert in request.machine.store(ROOT):
        if cert.x509 is not None:
            store.add_cert(crypto.X509.from_cryptography(cert.x509))
    flags = 0
    if request.partial_chain:
        flags |= crypto.X509StoreFlags.PARTIAL_CHAIN
    if request.crls:
        flags |= crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL
        for crl in request.crls:
            store.add_crl(crl)
    if flags:
        store.set_flags(flags)
    store.set_time(request.when.replace(tzinfo=None))
    _lib.X509_STORE_set_purpose(store._store, _PURPOSES[request.purpose])
    return store


def _context(request: VerifyRequest) -> crypto.X509StoreContext:
    assert request.leaf.x509 is not None
    untrusted = [
        crypto.X509.from_cryptography(c.x509)
        for c in (*request.chain, *request.machine.store(CA))
        if c.x509 is not None
    ]
    leaf = crypto.X509.from_cryptography(request.leaf.x509)
    return crypto.X509StoreContext(_store(request), leaf, untrusted)


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
    context = _context(request)
    try:
        chain = context.get_verified_chain()
    except crypto.X509StoreContextError as exc:
        return _rejected(request, exc)
    path = tuple(_ours(c) for c in chain)
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
        _context(request).verify_certificate()
    except crypto.X509StoreContextError:
        return False
    return True


def _rejected(request: VerifyRequest, exc: crypto.X509StoreContextError) -> Verdict:
    number, depth, text = int(exc.errors[0]), int(exc.errors[1]), str(exc.errors[2])
    name = x509_v_name(number) or "X509_V_ERR_UNSPECIFIED"
    where = _ours(exc.certificate).label if exc.certificate is not None else "?"
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


def _ours(cert: crypto.X509) -> Certificate:
    """Back from OpenSSL's object to ours. Converting re-parses it, and a certificate with a
    negative serial warns again: it is already in ``parse_issues``, so the warning is muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Certificate.from_cryptography(cert.to_cryptography())
