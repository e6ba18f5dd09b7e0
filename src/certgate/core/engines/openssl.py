"""The ``openssl`` engine: OpenSSL's own chain verifier, through pyOpenSSL.

Trust store = the machine's Root store; untrusted certificates = the client's chain plus the CA
store; purpose sslclient (or sslserver); time = the judged time; CRLs when given (then every
certificate in the chain is checked, ``CRL_CHECK_ALL``). OpenSSL stops at its first error and
never backtracks to another path; its error number and depth are reported as it gives them.
"""

from __future__ import annotations

from OpenSSL import crypto
from OpenSSL._util import lib as _lib  # pyOpenSSL has no public purpose setter

from certgate.core.checks import Purpose
from certgate.core.engines._base import Caveat, Confidence, OpenSSLDetail, Verdict, VerifyRequest
from certgate.core.model import Certificate
from certgate.core.stores import CA, ROOT

__all__ = ["EMITTED", "NAME", "X509_V_ERRORS", "accepts", "judge"]

NAME = "openssl"

# x509_vfy.h (OpenSSL 3.x): every code X509_verify_cert can leave in the context.
X509_V_ERRORS: dict[int, str] = {
    0: "X509_V_OK",
    1: "X509_V_ERR_UNSPECIFIED",
    2: "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT",
    3: "X509_V_ERR_UNABLE_TO_GET_CRL",
    4: "X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE",
    5: "X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE",
    6: "X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
    7: "X509_V_ERR_CERT_SIGNATURE_FAILURE",
    8: "X509_V_ERR_CRL_SIGNATURE_FAILURE",
    9: "X509_V_ERR_CERT_NOT_YET_VALID",
    10: "X509_V_ERR_CERT_HAS_EXPIRED",
    11: "X509_V_ERR_CRL_NOT_YET_VALID",
    12: "X509_V_ERR_CRL_HAS_EXPIRED",
    13: "X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD",
    14: "X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD",
    15: "X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD",
    16: "X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD",
    17: "X509_V_ERR_OUT_OF_MEM",
    18: "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
    19: "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN",
    20: "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    21: "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    22: "X509_V_ERR_CERT_CHAIN_TOO_LONG",
    23: "X509_V_ERR_CERT_REVOKED",
    24: "X509_V_ERR_NO_ISSUER_PUBLIC_KEY",
    25: "X509_V_ERR_PATH_LENGTH_EXCEEDED",
    26: "X509_V_ERR_INVALID_PURPOSE",
    27: "X509_V_ERR_CERT_UNTRUSTED",
    28: "X509_V_ERR_CERT_REJECTED",
    29: "X509_V_ERR_SUBJECT_ISSUER_MISMATCH",
    30: "X509_V_ERR_AKID_SKID_MISMATCH",
    31: "X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH",
    32: "X509_V_ERR_KEYUSAGE_NO_CERTSIGN",
    33: "X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER",
    34: "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION",
    35: "X509_V_ERR_KEYUSAGE_NO_CRL_SIGN",
    36: "X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION",
    37: "X509_V_ERR_INVALID_NON_CA",
    38: "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED",
    39: "X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE",
    40: "X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED",
    41: "X509_V_ERR_INVALID_EXTENSION",
    42: "X509_V_ERR_INVALID_POLICY_EXTENSION",
    43: "X509_V_ERR_NO_EXPLICIT_POLICY",
    44: "X509_V_ERR_DIFFERENT_CRL_SCOPE",
    45: "X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE",
    46: "X509_V_ERR_UNNESTED_RESOURCE",
    47: "X509_V_ERR_PERMITTED_VIOLATION",
    48: "X509_V_ERR_EXCLUDED_VIOLATION",
    49: "X509_V_ERR_SUBTREE_MINMAX",
    50: "X509_V_ERR_APPLICATION_VERIFICATION",
    51: "X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE",
    52: "X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX",
    53: "X509_V_ERR_UNSUPPORTED_NAME_SYNTAX",
    54: "X509_V_ERR_CRL_PATH_VALIDATION_ERROR",
    55: "X509_V_ERR_PATH_LOOP",
    56: "X509_V_ERR_SUITE_B_INVALID_VERSION",
    57: "X509_V_ERR_SUITE_B_INVALID_ALGORITHM",
    58: "X509_V_ERR_SUITE_B_INVALID_CURVE",
    59: "X509_V_ERR_SUITE_B_INVALID_SIGNATURE_ALGORITHM",
    60: "X509_V_ERR_SUITE_B_LOS_NOT_ALLOWED",
    61: "X509_V_ERR_SUITE_B_CANNOT_SIGN_P_384_WITH_P_256",
    62: "X509_V_ERR_HOSTNAME_MISMATCH",
    63: "X509_V_ERR_EMAIL_MISMATCH",
    64: "X509_V_ERR_IP_ADDRESS_MISMATCH",
    65: "X509_V_ERR_DANE_NO_MATCH",
    66: "X509_V_ERR_EE_KEY_TOO_SMALL",
    67: "X509_V_ERR_CA_KEY_TOO_SMALL",
    68: "X509_V_ERR_CA_MD_TOO_WEAK",
    69: "X509_V_ERR_INVALID_CALL",
    70: "X509_V_ERR_STORE_LOOKUP",
    71: "X509_V_ERR_NO_VALID_SCTS",
    72: "X509_V_ERR_PROXY_SUBJECT_NAME_VIOLATION",
    73: "X509_V_ERR_OCSP_VERIFY_NEEDED",
    74: "X509_V_ERR_OCSP_VERIFY_FAILED",
    75: "X509_V_ERR_OCSP_CERT_UNKNOWN",
    76: "X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM",
    77: "X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH",
    78: "X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY",
    79: "X509_V_ERR_INVALID_CA",
    80: "X509_V_ERR_PATHLEN_INVALID_FOR_NON_CA",
    81: "X509_V_ERR_PATHLEN_WITHOUT_KU_KEY_CERT_SIGN",
    82: "X509_V_ERR_KU_KEY_CERT_SIGN_INVALID_FOR_NON_CA",
    83: "X509_V_ERR_ISSUER_NAME_EMPTY",
    84: "X509_V_ERR_SUBJECT_NAME_EMPTY",
    85: "X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER",
    86: "X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER",
    87: "X509_V_ERR_EMPTY_SUBJECT_ALT_NAME",
    88: "X509_V_ERR_EMPTY_SUBJECT_SAN_NOT_CRITICAL",
    89: "X509_V_ERR_CA_BCONS_NOT_CRITICAL",
    90: "X509_V_ERR_AUTHORITY_KEY_IDENTIFIER_CRITICAL",
    91: "X509_V_ERR_SUBJECT_KEY_IDENTIFIER_CRITICAL",
    92: "X509_V_ERR_CA_CERT_MISSING_KEY_USAGE",
    93: "X509_V_ERR_EXTENSIONS_REQUIRE_VERSION_3",
    94: "X509_V_ERR_EC_KEY_EXPLICIT_PARAMS",
    95: "X509_V_ERR_RPK_UNTRUSTED",
}
EMITTED = frozenset(X509_V_ERRORS.values())
_UNKNOWN = 1  # X509_V_ERR_UNSPECIFIED stands for a number newer than this table
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
    path = tuple(Certificate.from_cryptography(c.to_cryptography()) for c in chain)
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
    name = X509_V_ERRORS.get(number, X509_V_ERRORS[_UNKNOWN])
    failing = exc.certificate.to_cryptography() if exc.certificate is not None else None
    where = Certificate.from_cryptography(failing).label if failing is not None else "?"
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
