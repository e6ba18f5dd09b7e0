"""The shared vocabulary of codes: HRESULTs, CERT_TRUST bits, TLS alerts, and knowledge-base ids.

Engines emit these codes, log parsers find them, the knowledge base explains them. Numbers
are from windows-facts §2.2/§2.3 (MinGW-w64 winerror.h / wincrypt.h, [confirmed]) and
RFC 5246/8446. Knowledge-base ids are ``<family>:<code>``, e.g. ``hresult:CERT_E_UNTRUSTEDROOT``,
``iis:403.16``, ``tls-alert:48``, ``openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY``,
``certgate:untrusted-root``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CERT_TRUST_ERRORS",
    "CERT_TRUST_INFO",
    "FAMILIES",
    "HRESULTS",
    "TLS_ALERTS",
    "X509_V_ERRORS",
    "CheckCode",
    "HresultForms",
    "decode_trust_bits",
    "hresult_forms",
    "hresult_from_low_word",
    "hresult_name",
    "iis_status_for",
    "kb_id",
    "openssl_verify_name",
]

# Knowledge-base families (the part of an id before the colon).
FAMILIES = (
    "hresult",  # CERT_E_*, TRUST_E_*, CRYPT_E_*, SEC_E_*/SEC_I_*, E_ACCESSDENIED, ...
    "iis",  # 403.16, 500.19, ...
    "wcf",  # HttpsClientCertificateInvalid, ...
    "schannel",  # System-log events 36867-36889
    "capi2",  # CAPI2 operational events 11, 30, 90
    "cert-trust",  # CERT_TRUST_* status bits
    "tls-alert",  # TLS alert descriptions
    "openssl",  # X509_V_ERR_*
    "nginx",  # $ssl_client_verify reasons, 400/495/496 pages
    "apache",  # mod_ssl AH codes
    "dotnet",  # SslPolicyErrors, X509ChainStatusFlags
    "java",  # PKIX messages
    "certgate",  # certgate's own check and verdict codes
)


def kb_id(family: str, code: str | int) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown knowledge-base family {family!r}")
    return f"{family}:{code}"


HRESULTS: dict[str, int] = {
    "S_OK": 0x00000000,  # what the windows engine reports for an accepted certificate
    "TRUST_E_NOSIGNATURE": 0x800B0100,
    "CERT_E_EXPIRED": 0x800B0101,
    "CERT_E_VALIDITYPERIODNESTING": 0x800B0102,
    "CERT_E_ROLE": 0x800B0103,
    "CERT_E_PATHLENCONST": 0x800B0104,
    "CERT_E_CRITICAL": 0x800B0105,
    "CERT_E_PURPOSE": 0x800B0106,
    "CERT_E_ISSUERCHAINING": 0x800B0107,
    "CERT_E_MALFORMED": 0x800B0108,
    "CERT_E_UNTRUSTEDROOT": 0x800B0109,
    "CERT_E_CHAINING": 0x800B010A,
    "TRUST_E_FAIL": 0x800B010B,
    "CERT_E_REVOKED": 0x800B010C,
    "CERT_E_UNTRUSTEDTESTROOT": 0x800B010D,
    "CERT_E_REVOCATION_FAILURE": 0x800B010E,
    "CERT_E_CN_NO_MATCH": 0x800B010F,
    "CERT_E_WRONG_USAGE": 0x800B0110,
    "TRUST_E_EXPLICIT_DISTRUST": 0x800B0111,
    "CERT_E_UNTRUSTEDCA": 0x800B0112,
    "CERT_E_INVALID_POLICY": 0x800B0113,
    "CERT_E_INVALID_NAME": 0x800B0114,
    "TRUST_E_CERT_SIGNATURE": 0x80096004,
    "TRUST_E_BASIC_CONSTRAINTS": 0x80096019,
    "CRYPT_E_NOT_FOUND": 0x80092004,
    "CRYPT_E_REVOKED": 0x80092010,
    "CRYPT_E_NO_REVOCATION_CHECK": 0x80092012,
    "CRYPT_E_REVOCATION_OFFLINE": 0x80092013,
    "SEC_E_INTERNAL_ERROR": 0x80090304,
    "SEC_E_NO_CREDENTIALS": 0x8009030E,
    "SEC_E_INCOMPLETE_CREDENTIALS": 0x80090320,
    "SEC_E_WRONG_PRINCIPAL": 0x80090322,
    "SEC_E_UNTRUSTED_ROOT": 0x80090325,
    "SEC_E_ILLEGAL_MESSAGE": 0x80090326,
    "SEC_E_CERT_UNKNOWN": 0x80090327,
    "SEC_E_CERT_EXPIRED": 0x80090328,
    "SEC_E_ALGORITHM_MISMATCH": 0x80090331,
    "SEC_E_CERT_WRONG_USAGE": 0x80090349,
    "SEC_E_ISSUING_CA_UNTRUSTED": 0x80090352,
    "SEC_I_INCOMPLETE_CREDENTIALS": 0x00090320,
    "SEC_I_RENEGOTIATE": 0x00090321,
    "E_ACCESSDENIED": 0x80070005,
    "ERROR_LOCK_VIOLATION": 0x80070021,
    "ERROR_NOT_SUPPORTED": 0x80070032,
}
_BY_VALUE = {value: name for name, value in HRESULTS.items()}


@dataclass(frozen=True)
class HresultForms:
    """Every way an HRESULT gets printed: 0x800B0109, 2148204809, -2146762487, 0x109."""

    value: int

    @property
    def hex(self) -> str:
        return f"0x{self.value:08X}"

    @property
    def unsigned(self) -> int:
        """As IIS logs it in ``sc-win32-status``."""
        return self.value

    @property
    def signed(self) -> int:
        """As .NET prints it (``HResult``)."""
        return self.value - (1 << 32) if self.value & 0x80000000 else self.value

    @property
    def low_word(self) -> str:
        """As a self-hosted WCF trace prints ``native error code``: ``0x109``."""
        return f"0x{self.value & 0xFFFF:X}"


def hresult_forms(value: int) -> HresultForms:
    if not -(1 << 31) <= value < (1 << 32):
        raise ValueError(f"{value} is not a 32-bit HRESULT")
    return HresultForms(value & 0xFFFFFFFF)


def hresult_name(value: int) -> str | None:
    return _BY_VALUE.get(value & 0xFFFFFFFF)


def hresult_from_low_word(low: int) -> str | None:
    """The CERT_E_/TRUST_E_ HRESULT whose low 16 bits are ``low``, when exactly one matches.

    Self-hosted WCF prints ``native error code 0x109``: only the low word of the CertFlags
    HRESULT survives, so 0x109 is read as 0x800B0109 CERT_E_UNTRUSTEDROOT. That reading is
    [inferred] (windows-facts §2.1): no CertFlags candidate collides, but the facility is lost.
    """
    matches = [name for name, value in _LOW_WORD_CANDIDATES if value & 0xFFFF == low]
    return matches[0] if len(matches) == 1 else None


_LOW_WORD_CANDIDATES = tuple(
    (name, value) for name, value in HRESULTS.items() if name.startswith(("CERT_E_", "TRUST_E_"))
)


def iis_status_for(hresult: int) -> str:
    """IIS status.substatus for a client-certificate error [inferred, windows-facts §3.1]."""
    name = hresult_name(hresult)
    if hresult == 0:
        return "200"
    if name in {"CERT_E_EXPIRED", "CERT_E_VALIDITYPERIODNESTING", "SEC_E_CERT_EXPIRED"}:
        return "403.17"
    if name in {"CRYPT_E_REVOKED", "CERT_E_REVOKED"}:
        return "403.13"
    return "403.16"


# CERT_TRUST_STATUS.dwErrorStatus / dwInfoStatus bits (windows-facts §2.3, [confirmed]).
CERT_TRUST_ERRORS: dict[str, int] = {
    "CERT_TRUST_IS_NOT_TIME_VALID": 0x1,
    "CERT_TRUST_IS_NOT_TIME_NESTED": 0x2,
    "CERT_TRUST_IS_REVOKED": 0x4,
    "CERT_TRUST_IS_NOT_SIGNATURE_VALID": 0x8,
    "CERT_TRUST_IS_NOT_VALID_FOR_USAGE": 0x10,
    "CERT_TRUST_IS_UNTRUSTED_ROOT": 0x20,
    "CERT_TRUST_REVOCATION_STATUS_UNKNOWN": 0x40,
    "CERT_TRUST_IS_CYCLIC": 0x80,
    "CERT_TRUST_INVALID_EXTENSION": 0x100,
    "CERT_TRUST_INVALID_POLICY_CONSTRAINTS": 0x200,
    "CERT_TRUST_INVALID_BASIC_CONSTRAINTS": 0x400,
    "CERT_TRUST_INVALID_NAME_CONSTRAINTS": 0x800,
    "CERT_TRUST_HAS_NOT_SUPPORTED_NAME_CONSTRAINT": 0x1000,
    "CERT_TRUST_HAS_NOT_DEFINED_NAME_CONSTRAINT": 0x2000,
    "CERT_TRUST_HAS_NOT_PERMITTED_NAME_CONSTRAINT": 0x4000,
    "CERT_TRUST_HAS_EXCLUDED_NAME_CONSTRAINT": 0x8000,
    "CERT_TRUST_IS_PARTIAL_CHAIN": 0x10000,
    "CERT_TRUST_CTL_IS_NOT_TIME_VALID": 0x20000,
    "CERT_TRUST_CTL_IS_NOT_SIGNATURE_VALID": 0x40000,
    "CERT_TRUST_CTL_IS_NOT_VALID_FOR_USAGE": 0x80000,
    "CERT_TRUST_HAS_WEAK_SIGNATURE": 0x100000,
    "CERT_TRUST_IS_OFFLINE_REVOCATION": 0x1000000,
    "CERT_TRUST_NO_ISSUANCE_CHAIN_POLICY": 0x2000000,
    "CERT_TRUST_IS_EXPLICIT_DISTRUST": 0x4000000,
    "CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT": 0x8000000,
}
CERT_TRUST_INFO: dict[str, int] = {
    "CERT_TRUST_HAS_EXACT_MATCH_ISSUER": 0x1,
    "CERT_TRUST_HAS_KEY_MATCH_ISSUER": 0x2,
    "CERT_TRUST_HAS_NAME_MATCH_ISSUER": 0x4,
    "CERT_TRUST_IS_SELF_SIGNED": 0x8,
    "CERT_TRUST_HAS_PREFERRED_ISSUER": 0x100,
    "CERT_TRUST_HAS_ISSUANCE_CHAIN_POLICY": 0x200,
    "CERT_TRUST_HAS_VALID_NAME_CONSTRAINTS": 0x400,
    "CERT_TRUST_IS_PEER_TRUSTED": 0x800,
    "CERT_TRUST_HAS_CRL_VALIDITY_EXTENDED": 0x1000,
    "CERT_TRUST_IS_FROM_EXCLUSIVE_TRUST_STORE": 0x2000,
    "CERT_TRUST_IS_CA_TRUSTED": 0x4000,
    "CERT_TRUST_HAS_AUTO_UPDATE_WEAK_SIGNATURE": 0x8000,
    "CERT_TRUST_IS_COMPLEX_CHAIN": 0x10000,
    "CERT_TRUST_HAS_ALLOW_WEAK_SIGNATURE": 0x20000,
}


def decode_trust_bits(value: int, *, info: bool = False) -> tuple[list[str], int]:
    """Split a combined CERT_TRUST_* value into bit names, plus any bits left unknown."""
    table = CERT_TRUST_INFO if info else CERT_TRUST_ERRORS
    names = [name for name, bit in table.items() if value & bit]
    known = 0
    for name in names:
        known |= table[name]
    return names, value & ~known


TLS_ALERTS: dict[int, str] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed_RESERVED",
    22: "record_overflow",
    30: "decompression_failure_RESERVED",
    40: "handshake_failure",
    41: "no_certificate_RESERVED",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction_RESERVED",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable_RESERVED",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value_RESERVED",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}


class CheckCode(StrEnum):
    """certgate's own verdict and per-certificate check codes (knowledge-base family
    ``certgate``). The rfc5280 engine's verdict code is one of these."""

    OK = "ok"
    UNTRUSTED_ROOT = "untrusted-root"  # chain ends at a self-signed certificate not trusted
    MISSING_ISSUER = "missing-issuer"  # no issuer found: a missing intermediate
    SIGNATURE_INVALID = "signature-invalid"
    WEAK_SIGNATURE = "weak-signature"  # MD5 / SHA-1, refused by strict verifiers
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    NOT_A_CA = "not-a-ca"  # an issuer without basicConstraints cA=TRUE
    PATH_LENGTH_EXCEEDED = "path-length-exceeded"
    KEY_USAGE = "key-usage"  # keyCertSign missing on an issuer, or unfit leaf key usage
    WRONG_EKU = "wrong-eku"  # EKU present without the purpose (clientAuth by default)
    NAME_CONSTRAINTS = "name-constraints"
    UNKNOWN_CRITICAL_EXTENSION = "unknown-critical-extension"
    REVOKED = "revoked"
    REVOCATION_UNKNOWN = "revocation-unknown"  # no usable CRL when one is required
    DISALLOWED = "disallowed"  # in the Disallowed store
    NOT_IN_ISSUER_LIST = "not-in-issuer-list"  # Windows mode 0/1: no chain CA in the list
    LEAF_IS_CA = "leaf-is-ca"
    PATH_BUDGET_EXCEEDED = "path-budget-exceeded"
    MALFORMED = "malformed"
    NO_CERTIFICATE = "no-certificate"  # the client sent none
    INTERNAL_ERROR = "internal-error"  # fail closed: a check crashed, so reject


# OpenSSL X509_V_ERR_* verification errors by number (OpenSSL 3.0 x509_vfy.h). nginx logs
# "(20:unable to get local issuer certificate)", Apache "Error (20): ...": both print the number.
X509_V_ERRORS: dict[int, str] = {
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
}


def openssl_verify_name(number: int) -> str | None:
    return X509_V_ERRORS.get(number)
