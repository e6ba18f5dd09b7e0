"""Loaders: every export format, recognised by content; bad input gives one clear error."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from certgate.errors import InputError
from certgate.formats import load_bytes, load_file, load_paths, sniff_store_format
from certgate.testing import PKI, Issued, pem_bundle, pkcs7_bundle, sst_bundle, tampered


@pytest.fixture
def trio(pki: PKI) -> list[Issued]:
    root = pki.root("CN=Contoso Root CA,O=Contoso")
    inter = root.intermediate("CN=Contoso Issuing CA,O=Contoso")
    return [root, inter, pki.root("CN=Fabrikam Root,O=Fabrikam")]


def sha1s(items: list[Issued]) -> list[str]:
    return [i.sha1 for i in items]


def test_each_format_by_content_whatever_the_extension(tmp_path: Path, trio: list[Issued]) -> None:
    blobs = {
        "pem": pem_bundle(trio),
        "pkcs7": pkcs7_bundle(trio),
        "pkcs7-pem": pkcs7_bundle(trio, pem=True),
        "sst": sst_bundle(trio),
    }
    for name, blob in blobs.items():
        path = tmp_path / f"{name}.txt"  # misleading extension on purpose
        path.write_bytes(blob)
        loaded = load_file(path)
        # PKCS#7 holds a DER SET OF certificates, which DER sorts: compare as sets there.
        assert sorted(c.sha1 for c in loaded.certificates) == sorted(sha1s(trio)), name
        assert loaded.formats[0][1] == ("pem" if name.endswith("pem") else name)
    der = tmp_path / "one.pem"
    der.write_bytes(trio[0].der)
    assert [c.sha1 for c in load_file(der).certificates] == [trio[0].sha1]
    assert sniff_store_format(trio[0].der) == "der"
    assert sniff_store_format(blobs["pkcs7"]) == "pkcs7"
    assert sniff_store_format(blobs["sst"]) == "sst"
    assert sniff_store_format(trio[0].pfx(b"x")) == "pkcs12"
    assert sniff_store_format(b"hello") == "unknown"


def test_pem_tolerates_comments_and_other_blocks(trio: list[Issued]) -> None:
    text = (
        b"# Issuer: CN=Contoso Root CA\n# Label: contoso\n"
        + trio[0].pem
        + b"some junk between blocks\n"
        + trio[1].key_pem
        + trio[1].pem
    )
    loaded = load_bytes(text, "bundle.pem")
    assert [c.sha1 for c in loaded.certificates] == sha1s(trio[:2])
    messages = [w.message for w in loaded.warnings]
    assert "3 line(s) of text outside PEM blocks ignored" in messages
    assert any("never reads private keys" in m for m in messages)
    assert loaded.warnings[-1].where == "line 1"


def test_pem_trusted_certificate_and_crl_blocks(pki: PKI) -> None:
    root = pki.root("Root")
    aux = b"\x30\x03\x06\x01\x00"  # trust settings after the DER certificate
    import base64

    trusted = b"-----BEGIN TRUSTED CERTIFICATE-----\n" + base64.encodebytes(root.der + aux)
    trusted += b"-----END TRUSTED CERTIFICATE-----\n"
    crl_pem = root.crl().public_bytes(Encoding.PEM)
    loaded = load_bytes(trusted + crl_pem, "t.pem")
    assert [c.sha1 for c in loaded.certificates] == [root.sha1]
    assert len(loaded.crls) == 1


def test_sst_friendly_names_and_crls(trio: list[Issued]) -> None:
    blob = sst_bundle([(trio[0], "Contoso Root CA"), trio[1], (trio[2], "Fabrikam ünïcode")])
    loaded = load_bytes(blob, "Root.sst")
    assert [c.friendly_name for c in loaded.certificates] == [
        "Contoso Root CA",
        None,
        "Fabrikam ünïcode",
    ]
    assert loaded.certificates[0].source.startswith("Root.sst#element 4, byte ")
    crl = trio[0].crl().public_bytes(Encoding.DER)
    with_crl = blob[:-12] + struct.pack("<III", 0x21, 1, len(crl)) + crl + b"\0" * 12
    assert len(load_bytes(with_crl, "x.sst").crls) == 1


def test_sst_without_terminator_warns(trio: list[Issued]) -> None:
    loaded = load_bytes(sst_bundle(trio, terminator=False), "Root.sst")
    assert len(loaded.certificates) == 3
    assert loaded.warnings[-1].message == "no end-of-store marker"


def test_pkcs12_passwords(pki: PKI) -> None:
    leaf = pki.root("Root").intermediate("Issuing").client("alice")
    pfx = leaf.pfx(b"secret")
    loaded = load_bytes(pfx, "alice.pfx", password=b"secret")
    assert [c.sha1 for c in loaded.certificates] == sha1s(leaf.chain(include_root=True))
    assert loaded.certificates[0].friendly_name == "alice"
    with pytest.raises(InputError, match="wrong password"):
        load_bytes(pfx, "alice.pfx", password=b"nope")
    with pytest.raises(InputError, match="a password is needed"):
        load_bytes(pfx, "alice.pfx")
    asked: list[str] = []

    def prompt(path: str) -> bytes:
        asked.append(path)
        return b"secret"

    prompted = load_bytes(pfx, "alice.pfx", prompt=prompt)
    assert asked == ["alice.pfx"]
    assert len(prompted.certificates) == 3
    open_pfx = load_bytes(leaf.pfx(None), "open.pfx")  # no password at all
    assert len(open_pfx.certificates) == 3


def test_folder_with_hashed_links_and_bad_files(tmp_path: Path, trio: list[Issued]) -> None:
    (tmp_path / "a.pem").write_bytes(trio[0].pem)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.crt").write_bytes(trio[1].der)
    (tmp_path / "5ad8a5f6.0").symlink_to(tmp_path / "a.pem")  # OpenSSL hashed-dir style
    (tmp_path / "README").write_text("not a certificate")
    (tmp_path / "dangling.0").symlink_to(tmp_path / "missing")
    os.mkfifo(tmp_path / "fifo")
    loaded = load_file(tmp_path)
    assert sorted(c.sha1 for c in loaded.certificates) == sorted(sha1s(trio[:2]))
    reasons = sorted(w.message for w in loaded.warnings)
    assert any("not a certificate file" in r for r in reasons)
    assert any("no such file" in r.lower() for r in reasons)
    assert any("not a regular file" in r for r in reasons)


@pytest.mark.parametrize(
    ("content", "message", "where"),
    [
        (b"", "file is empty", None),
        (b"\x00" * 64, "not a certificate file", None),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIB$$$$\n-----END CERTIFICATE-----\n",
            "broken base64",
            "PEM block 1, line 1",
        ),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "has no END line", "PEM block 1, line 1"),
        (
            b"\x00\x00\x00\x00CERT" + struct.pack("<III", 0x20, 1, 5000) + b"\x30\x82",
            "claims 5000 bytes, only 2 remain",
            "byte 8",
        ),
        (b"\x00\x00\x00\x00CERT\x20\x00", "element header cut short", "byte 8"),
    ],
)
def test_bad_inputs_name_what_and_where(content: bytes, message: str, where: str | None) -> None:
    with pytest.raises(InputError) as caught:
        load_bytes(content, "bad.file")
    assert message in caught.value.message
    assert caught.value.where == where
    assert caught.value.diagnostics().startswith("bad.file: ")


def test_truncated_der(trio: list[Issued]) -> None:
    with pytest.raises(InputError, match="truncated DER") as caught:
        load_bytes(trio[0].der[:-40], "cut.cer")
    assert caught.value.where == f"byte {len(trio[0].der) - 40}"


def test_one_bad_file_among_many_is_a_warning(tmp_path: Path, trio: list[Issued]) -> None:
    good = tmp_path / "good.pem"
    good.write_bytes(trio[0].pem)
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"")
    loaded = load_paths([good, bad])
    assert len(loaded.certificates) == 1
    assert loaded.warnings[0].message == "skipped: file is empty"
    with pytest.raises(InputError, match="file is empty"):
        load_paths([bad])
    with pytest.raises(InputError, match="no such file"):
        load_paths([tmp_path / "nope.pem"])


def test_der_crl_is_recognised_and_a_v1_certificate_is_not_taken_for_one(pki: PKI) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from certgate.core.der import signed_kind

    root = pki.root("Root")
    crl = root.crl(revoked=[root.client("gone")]).public_bytes(Encoding.DER)
    assert sniff_store_format(crl) == "crl"
    loaded = load_bytes(crl, "issuing.crl")
    assert (len(loaded.certificates), len(loaded.crls)) == (0, 1)
    assert signed_kind(root.der) == "certificate"
    v1 = tampered(root, version=1)  # no [0] version: starts with the serial, like a v2 CRL
    assert v1[8] == 0x02 and signed_kind(v1) == "certificate"
    assert sniff_store_format(root.der) == "der"


def test_pem_with_only_a_key_names_what_it_holds(pki: PKI) -> None:
    with pytest.raises(
        InputError, match=r"no certificate in this PEM file \(it holds: PRIVATE KEY\)"
    ):
        load_bytes(pki.root("Root").key_pem, "client.key")
