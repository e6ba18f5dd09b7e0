"""certgate.testing builds real certificates with the properties asked for."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from certgate.core.model import Certificate, SelfSigned
from certgate.testing import (
    CLIENT_AUTH,
    PKI,
    SERVER_AUTH,
    KeyType,
    NameConstraints,
    tampered,
)


def test_root_intermediate_leaf_chain_verifies(pki: PKI) -> None:
    root = pki.root("Root")
    inter = root.intermediate("Issuing", path_length=0)
    leaf = inter.client("alice")
    assert leaf.certificate.signed_by(inter.certificate).valid
    assert inter.certificate.signed_by(root.certificate).valid
    assert not leaf.certificate.signed_by(root.certificate).valid  # negative control
    assert root.certificate.self_signed is SelfSigned.YES
    assert inter.certificate.self_signed is SelfSigned.NO
    assert [i.name for i in leaf.chain()] == ["alice", "Issuing"]
    assert [i.name for i in leaf.chain(include_root=True)] == ["alice", "Issuing", "Root"]


def test_each_cert_in_a_pki_gets_its_own_key(pki: PKI) -> None:
    root = pki.root("Root")
    certs = [root, root.intermediate("A"), root.intermediate("B"), root.client("c")]
    spkis = {c.certificate.spki_der for c in certs}
    assert len(spkis) == len(certs)


def test_leaf_options(pki: PKI, now: datetime) -> None:
    root = pki.root("Root")
    leaf = root.client(
        "bob",
        eku=[SERVER_AUTH],
        san=["dns:bob.example", "email:bob@example.com", "uri:spiffe://t/bob", "upn:bob@t"],
        expired=True,
    ).certificate
    assert leaf.extended_key_usage == (SERVER_AUTH,)
    assert leaf.not_after < now
    assert leaf.basic_constraints is not None and not leaf.basic_constraints.ca
    assert leaf.key_usage == frozenset({"digital_signature", "key_encipherment"})
    default = root.client("carol").certificate
    assert default.extended_key_usage == (CLIENT_AUTH,)
    assert default.valid_at(now)


def test_key_types(pki: PKI) -> None:
    root = pki.root("Root")
    for kind, expected in [
        (KeyType.P256, "EC secp256r1"),
        (KeyType.P384, "EC secp384r1"),
        (KeyType.ED25519, "Ed25519"),
        (KeyType.RSA4096, "RSA 4096"),
    ]:
        cert = root.client(f"k-{kind}", key=kind).certificate
        assert str(cert.key_info) == expected
        assert cert.signed_by(root.certificate).valid
    ed_root = pki.root("Ed Root", key=KeyType.ED25519).certificate
    assert ed_root.self_signed is SelfSigned.YES
    assert ed_root.signature_algorithm.name == "Ed25519"


def test_legacy_hashes_and_negative_serial(pki: PKI) -> None:
    sha1 = pki.root("SHA1 Root", hash="sha1").certificate
    md5 = pki.root("MD5 Root", hash="md5").certificate
    ec_sha1 = pki.root("EC SHA1 Root", hash="sha1", key=KeyType.P256).certificate
    assert sha1.signature_algorithm.name == "sha1WithRSAEncryption"
    assert md5.signature_algorithm.name == "md5WithRSAEncryption"
    assert ec_sha1.signature_algorithm.name == "ecdsa-with-SHA1"
    for cert in (sha1, md5, ec_sha1):
        assert cert.signature_algorithm.weak
        assert cert.self_signed is SelfSigned.YES
    negative = pki.root("Negative", serial=-7).certificate
    assert negative.serial == -7
    assert any("serial" in issue for issue in negative.parse_issues)
    assert negative.self_signed is SelfSigned.YES


def test_cross_signed_ca_has_same_subject_and_key(pki: PKI) -> None:
    old_root = pki.root("Old Root")
    new_root = pki.root("New Root")
    cross = old_root.cross_sign(new_root)
    assert cross.x509.subject == new_root.x509.subject
    assert cross.certificate.spki_der == new_root.certificate.spki_der
    assert cross.certificate.signed_by(old_root.certificate).valid
    assert cross.certificate.self_signed is SelfSigned.NO


def test_name_constraints_path_length_and_crl(pki: PKI, now: datetime) -> None:
    root = pki.root("Root")
    inter = root.intermediate(
        "Constrained",
        path_length=1,
        name_constraints=NameConstraints(permitted_dns=["example.com"]),
    )
    ext = inter.x509.extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical
    assert inter.certificate.basic_constraints is not None
    assert inter.certificate.basic_constraints.path_length == 1
    leaf = inter.client("revoked")
    crl = inter.crl(revoked=[leaf])
    assert crl.get_revoked_certificate_by_serial_number(leaf.x509.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(inter.x509.serial_number) is None
    assert crl.is_signature_valid(inter.key.public_key())


def test_tampered_version_is_refused_by_cryptography_but_loads(pki: PKI) -> None:
    root = pki.root("Root")
    cert = Certificate.from_der(tampered(root, version=4))
    assert cert.x509 is None
    assert cert.parse_issues[0].startswith("cryptography refused it")
    assert cert.self_signed is SelfSigned.YES
    assert cert.subject == root.certificate.subject


def test_pfx_round_trip(pki: PKI) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    leaf = pki.root("Root").client("alice")
    loaded = pkcs12.load_pkcs12(leaf.pfx(b"pw"), b"pw")
    assert loaded.cert is not None
    assert loaded.cert.certificate == leaf.x509
    assert len(loaded.additional_certs) == 1
