"""The shared vocabulary of codes: HRESULTs, CERT_TRUST bits, TLS alerts, and knowledge-base ids.

Engines emit these codes, log parsers find them, the knowledge base explains them. Numbers are from
docs/windows-model.md#hresults and #cert-trust-bits (MinGW-w64 winerror.h / wincrypt.h,
[confirmed]), RFC 5246/8446, the .NET reference source (WCF trace codes) and OpenSSL itself
(X509_V_*, generated into ``_openssl_tables`` by ``tools/gen_openssl_tables.py``). Knowledge-base
ids are ``<family>:<code>``, e.g. ``hresult:CERT_E_UNTRUSTEDROOT``, ``iis:403.16``,
``tls-alert:48``, ``openssl:X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY``,
``certgate:untrusted-root``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from certgate.core._openssl_tables import ALERT_REASONS, X509_V_CODES

__all__ = [
    "CERT_TRUST_ERRORS",
    "CERT_TRUST_INFO",
    "FAMILIES",
    "HRESULTS",
    "OPENSSL_ALERT_REASONS",
    "SCHANNEL_ALERT_ERRORS",
    "TLS_ALERTS",
    "WCF_TRACE_CODES",
    "X509_V_ERRORS",
    "X509_V_MESSAGES",
    "CheckCode",
    "GateCode",
    "HresultForms",
    "decode_trust_bits",
    "hresult_forms",
    "hresult_from_low_word",
    "hresult_from_win32_status",
    "hresult_name",
    "iis_status_for",
    "kb_id",
    "schannel_alert_error",
    "x509_v_name",
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
    "SEC_E_UNSUPPORTED_FUNCTION": 0x80090302,
    "SEC_E_INTERNAL_ERROR": 0x80090304,
    "SEC_E_LOGON_DENIED": 0x8009030C,
    "SEC_E_UNKNOWN_CREDENTIALS": 0x8009030D,
    "SEC_E_NO_CREDENTIALS": 0x8009030E,
    "SEC_E_MESSAGE_ALTERED": 0x8009030F,
    "SEC_E_DECRYPT_FAILURE": 0x80090330,
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
        """The HRESULT as an unsigned decimal (2148204809)."""
        return self.value

    @property
    def win32_status(self) -> int:
        """As IIS logs it in ``sc-win32-status``: the Win32 code (the low word) for a
        FACILITY_WIN32 HRESULT (0x80070005 -> 5, 0x80070032 -> 50), the unsigned value for
        any other facility (0x800B0109 -> 2148204809) [confirmed:
        docs/windows-model.md#sc-win32-status].
        """
        return self.value & 0xFFFF if self.value >> 16 == _FACILITY_WIN32_HIGH else self.value

    @property
    def signed(self) -> int:
        """As .NET prints it (``HResult``)."""
        return self.value - (1 << 32) if self.value & 0x80000000 else self.value

    @property
    def low_word(self) -> str:
        """As a self-hosted WCF trace prints ``native error code``: ``0x109``."""
        return f"0x{self.value & 0xFFFF:X}"


_FACILITY_WIN32_HIGH = 0x8007  # SEVERITY_ERROR | FACILITY_WIN32 << 16


def hresult_from_win32_status(status: int) -> int:
    """The HRESULT an IIS ``sc-win32-status`` stands for; both forms are read.

    A Win32 code (below 0x10000, not 0) is HRESULT_FROM_WIN32: ``5`` -> 0x80070005,
    ``50`` -> 0x80070032. A larger value is the HRESULT itself (2148204809 -> 0x800B0109, and
    the full form 2147942450 of 0x80070032). 0 stays 0 (success).
    """
    if 0 < status < 0x10000:
        return (_FACILITY_WIN32_HIGH << 16) | status
    return status & 0xFFFFFFFF


# What a Windows peer reports when it *receives* a TLS alert: "Schannel error codes for TLS and
# SSL alerts" (docs/windows-model.md#tls-alerts) [confirmed]. User_canceled (90) is ignored and
# no_application_protocol (120) has its own code; other alerts give SEC_E_ILLEGAL_MESSAGE.
SCHANNEL_ALERT_ERRORS: dict[int, str] = {
    20: "SEC_E_MESSAGE_ALTERED",
    21: "SEC_E_DECRYPT_FAILURE",
    30: "SEC_E_MESSAGE_ALTERED",
    42: "SEC_E_CERT_UNKNOWN",
    43: "SEC_E_CERT_UNKNOWN",
    44: "CRYPT_E_REVOKED",
    45: "SEC_E_CERT_EXPIRED",
    46: "SEC_E_CERT_UNKNOWN",
    48: "SEC_E_UNTRUSTED_ROOT",
    49: "SEC_E_LOGON_DENIED",
    51: "SEC_E_DECRYPT_FAILURE",
    70: "SEC_E_UNSUPPORTED_FUNCTION",
    71: "SEC_E_ALGORITHM_MISMATCH",
    80: "SEC_E_INTERNAL_ERROR",
}
_ALERTS_WITHOUT_ERROR = frozenset({0, 90, 120})  # close_notify, user_canceled, ALPN (own code)


def schannel_alert_error(alert: int) -> str | None:
    """The HRESULT a Windows peer reports on receiving ``alert``; None where it has none here."""
    if alert in _ALERTS_WITHOUT_ERROR:
        return None
    return SCHANNEL_ALERT_ERRORS.get(alert, "SEC_E_ILLEGAL_MESSAGE")


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
    [inferred] (docs/windows-model.md#wcf-native-error): no CertFlags candidate collides, but the
    facility is lost.
    """
    matches = [name for name, value in _LOW_WORD_CANDIDATES if value & 0xFFFF == low]
    return matches[0] if len(matches) == 1 else None


_LOW_WORD_CANDIDATES = tuple(
    (name, value) for name, value in HRESULTS.items() if name.startswith(("CERT_E_", "TRUST_E_"))
)


def iis_status_for(hresult: int) -> str:
    """IIS status.substatus for a client-certificate error [inferred,
    docs/windows-model.md#iis-substatus]."""
    name = hresult_name(hresult)
    if hresult == 0:
        return "200"
    if name in {"CERT_E_EXPIRED", "CERT_E_VALIDITYPERIODNESTING", "SEC_E_CERT_EXPIRED"}:
        return "403.17"
    if name in {"CRYPT_E_REVOKED", "CERT_E_REVOKED"}:
        return "403.13"
    return "403.16"


# CERT_TRUST_STATUS.dwErrorStatus / dwInfoStatus bits (docs/windows-model.md#cert-trust-bits,
# [confirmed]).
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


# OpenSSL's reason text for a received alert ("tlsv1 alert unknown ca"), by alert number.
OPENSSL_ALERT_REASONS: dict[int, tuple[str, ...]] = dict(ALERT_REASONS)

# OpenSSL verify results: X509_V_OK and every X509_V_ERR_* that OpenSSL 3.0 (and the newer
# OpenSSL bundled with pyOpenSSL) can return, with the text X509_verify_cert_error_string gives.
X509_V_ERRORS: dict[str, int] = {name: number for name, number, _ in X509_V_CODES}
X509_V_MESSAGES: dict[str, tuple[str, ...]] = {name: texts for name, _, texts in X509_V_CODES}
_X509_V_BY_NUMBER = {number: name for name, number in X509_V_ERRORS.items()}


def x509_v_name(number: int) -> str | None:
    """``20`` -> ``X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY``; None for unknown numbers."""
    return _X509_V_BY_NUMBER.get(number)


# WCF trace codes (svclog EventID): TraceCode.Channels 0x40000 + n (RS TraceCode.cs, [confirmed]).
WCF_TRACE_CODES: dict[str, int] = {
    "HttpsClientCertificateInvalid": 0x4000F,
    "HttpsClientCertificateNotPresent": 0x40010,
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
    NAME_CONSTRAINT_BUDGET_EXCEEDED = "name-constraint-budget-exceeded"
    MALFORMED = "malformed"
    DUPLICATE_EXTENSION = "duplicate-extension"  # one extension OID twice (RFC 5280 §4.2)
    MALFORMED_EXTENSION = "malformed-extension"  # an extension that does not parse
    BAD_SERIAL = "bad-serial"  # zero, negative or over 20 octets (RFC 5280 §4.1.2.2)
    OVERSIZE = "oversize"  # a certificate or field beyond any real PKI's size
    NO_CERTIFICATE = "no-certificate"  # the client sent none
    INTERNAL_ERROR = "internal-error"  # fail closed: a check crashed, so reject


class GateCode(StrEnum):
    """``certgate serve``'s own denial reasons (knowledge-base family ``certgate``, beside
    ``CheckCode``, whose values the first and last share)."""

    NO_CERTIFICATE = "no-certificate"
    CHAIN_TOO_LONG = "chain-too-long"
    REQUIRED_EKU_MISSING = "required-eku-missing"
    ISSUER_NOT_ALLOWED = "issuer-not-allowed"
    PIN_MISMATCH = "pin-mismatch"
    NOT_MAPPED = "not-mapped"
    MAPPING_DENIED = "mapping-denied"
    CLIENT_BUDGET_EXCEEDED = "client-budget-exceeded"  # an address over its judging budget
    INTERNAL_ERROR = "internal-error"
