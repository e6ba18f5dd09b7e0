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

import warnings

from OpenSSL import crypto
from OpenSSL._util import lib as _lib  # pyOpenSSL has no public purpose setter

from certgate.core.checks import Check, CheckKind, CheckStatus, Purpose
from certgate.core.codes import X509_V_ERRORS, X509_V_MESSAGES, CheckCode, x509_v_name
from certgate.core.engines._base import Caveat, Confidence, OpenSSLDetail, Verdict, VerifyRequest
from certgate.core.model import Certificate
from certgate.core.stores import CA, ROOT
from certgate.core.wellformed import defects

__all__ = ["EMITTED", "NAME", "accepts", "judge"]

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


def _store(request: VerifyRequest, *, timeless: bool = False) -> crypto.X509Store:
    store = crypto.X509Store()
    for cert in request.machine.store(ROOT):
        if cert.x509 is not None:
            store.add_cert(crypto.X509.from_cryptography(cert.x509))
    flags = 0
    if request.partial_chain:
        flags |= crypto.X509StoreFlags.PARTIAL_CHAIN
    if request.crls or request.require_revocation:
        flags |= crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL
        for crl in request.crls:
            store.add_crl(crl)
    if timeless:
        flags |= _NO_CHECK_TIME  # honoured only without set_time (USE_CHECK_TIME wins)
    else:
        store.set_time(request.when.replace(tzinfo=None))
    if flags:
        store.set_flags(flags)
    _lib.X509_STORE_set_purpose(store._store, _PURPOSES[request.purpose])
    return store


def _context(request: VerifyRequest, *, timeless: bool = False) -> crypto.X509StoreContext:
    assert request.leaf.x509 is not None
    untrusted = [
        crypto.X509.from_cryptography(c.x509)
        for c in (*request.chain, *request.machine.store(CA))
        if c.x509 is not None
    ]
    leaf = crypto.X509.from_cryptography(request.leaf.x509)
    return crypto.X509StoreContext(_store(request, timeless=timeless), leaf, untrusted)


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
    context = _context(request)
    try:
        chain = context.get_verified_chain()
    except crypto.X509StoreContextError as exc:
        return _rejected(request, _stale_but_revoked(request, exc) or exc)
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
    if _defective(request) is not None:
        return False
    try:
        _context(request).verify_certificate()
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
        _context(request, timeless=True).verify_certificate()
    except crypto.X509StoreContextError as again:
        if int(again.errors[0]) == _REVOKED:
            return again
    return None


def _rejected(request: VerifyRequest, exc: crypto.X509StoreContextError) -> Verdict:
    number, depth, text = int(exc.errors[0]), int(exc.errors[1]), str(exc.errors[2])
    name = x509_v_name(number) or "X509_V_ERR_UNSPECIFIED"
    where = _ours(exc.certificate).label if exc.certificate is not None else "?"
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


def _ours(cert: crypto.X509) -> Certificate:
    """Back from OpenSSL's object to ours. Converting re-parses it, and a certificate with a
    negative serial warns again: it is already in ``parse_issues``, so the warning is muted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Certificate.from_cryptography(cert.to_cryptography())
