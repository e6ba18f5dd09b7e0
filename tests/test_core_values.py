"""Core values: Windows-style names, code forms, signature checks, store names."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certgate.core.codes import (
    HRESULTS,
    decode_trust_bits,
    hresult_forms,
    hresult_name,
    iis_status_for,
    kb_id,
)
from certgate.core.names import Name
from certgate.core.signatures import SignatureAlgorithm, SignatureStatus, verify_signature
from certgate.core.stores import Machine, Store, canonical_store_name
from certgate.testing import PKI, KeyType


def name(text: str) -> Name:
    return Name.from_cryptography(x509.Name.from_rfc4514_string(text))


def test_names_print_like_windows() -> None:
    assert (
        str(name("CN=Issuing CA,O=Contoso\\, Ltd,C=US")) == 'CN=Issuing CA, O="Contoso, Ltd", C=US'
    )
    assert str(name("CN=a+OU=b,O=x")) in ("CN=a + OU=b, O=x", "OU=b + CN=a, O=x")
    assert name("CN=x,1.2.840.113549.1.9.1=a@b.c").values("E") == ["a@b.c"]
    assert name("CN=only").common_name == "only"


def test_name_equality_folds_case_and_space_but_not_content() -> None:
    a = name("CN=Contoso  Root,O=Contoso")
    b = name("CN=contoso root,O=CONTOSO")
    assert a == b and hash(a) == hash(b) and a.bucket == b.bucket
    assert a != name("CN=Contoso Root 2,O=Contoso")
    assert a != name("CN=Contoso Root")  # negative control: one RDN fewer


def test_hresult_forms() -> None:
    forms = hresult_forms(HRESULTS["CERT_E_UNTRUSTEDROOT"])
    assert (forms.hex, forms.unsigned, forms.signed, forms.low_word) == (
        "0x800B0109",
        2148204809,
        -2146762487,
        "0x109",
    )
    assert hresult_forms(-2146762487).hex == "0x800B0109"
    assert hresult_name(2148204809) == "CERT_E_UNTRUSTEDROOT"
    assert hresult_name(0x1234) is None
    with pytest.raises(ValueError, match="32-bit"):
        hresult_forms(1 << 40)


def test_iis_status_mapping_and_trust_bits() -> None:
    assert iis_status_for(HRESULTS["CERT_E_EXPIRED"]) == "403.17"
    assert iis_status_for(HRESULTS["CRYPT_E_REVOKED"]) == "403.13"
    assert iis_status_for(HRESULTS["CERT_E_UNTRUSTEDROOT"]) == "403.16"
    assert iis_status_for(0) == "200"
    names, rest = decode_trust_bits(0x10020 | 0x80000000)
    assert names == ["CERT_TRUST_IS_UNTRUSTED_ROOT", "CERT_TRUST_IS_PARTIAL_CHAIN"]
    assert rest == 0x80000000
    assert kb_id("hresult", "CERT_E_UNTRUSTEDROOT") == "hresult:CERT_E_UNTRUSTEDROOT"
    with pytest.raises(ValueError):
        kb_id("nope", 1)


def test_signature_checks_cover_pss_and_mismatches(pki: PKI) -> None:
    key = rsa.generate_private_key(65537, 2048)
    data = b"to be signed"
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    signature = key.sign(data, pss, hashes.SHA256())
    alg = SignatureAlgorithm("1.2.840.113549.1.1.10", "rsassaPss(sha256)", "rsa-pss", "sha256", 32)
    assert verify_signature(key.public_key(), signature, data, alg).valid
    assert verify_signature(key.public_key(), signature, b"other", alg).status is (
        SignatureStatus.INVALID
    )
    ec_root = pki.root("EC", key=KeyType.P256)
    wrong = verify_signature(ec_root.certificate.public_key(), signature, data, alg)
    assert wrong.status is SignatureStatus.INVALID
    assert wrong.reason == "rsassaPss(sha256) signature cannot be made by an EC key"
    md2 = SignatureAlgorithm("1.2.840.113549.1.1.2", "md2WithRSAEncryption", "rsa-pkcs1", "md2")
    assert verify_signature(key.public_key(), signature, data, md2).status is (
        SignatureStatus.UNSUPPORTED
    )
    assert verify_signature(None, signature, data, alg).status is SignatureStatus.UNSUPPORTED


def test_store_names_and_moves(pki: PKI) -> None:
    assert canonical_store_name("root") == "Root"
    assert canonical_store_name("Intermediate Certification Authorities") == "CA"
    assert canonical_store_name("Cert:\\LocalMachine\\ClientAuthIssuer") == "ClientAuthIssuer"
    assert canonical_store_name("MyCustomCTL") == "MyCustomCTL"
    with pytest.raises(ValueError):
        canonical_store_name("../etc")
    root = pki.root("Root")
    inter = root.intermediate("Issuing")
    machine = Machine((Store("Root", (root.certificate, inter.certificate)),))
    moved = machine.moving(inter.sha1, "Root", "CA")
    assert list(moved.store("Root")) == [root.certificate]
    assert list(moved.store("CA")) == [inter.certificate]
    assert list(machine.store("Root")) == [root.certificate, inter.certificate]  # unchanged
    with pytest.raises(ValueError, match="no certificate"):
        moved.moving(inter.sha1, "Root", "CA")
