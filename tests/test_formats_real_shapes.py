"""Store and settings files as people really hand them over (issue 16): BER PKCS#7."""

from __future__ import annotations

import subprocess
from pathlib import Path

from certgate.cli import main
from certgate.formats import detect_format, load_file
from certgate.testing import PKI


def test_audit_reads_a_ber_indefinite_length_pkcs7(tmp_path: Path, pki: PKI) -> None:
    root = pki.root("BER Root")
    issuing = root.intermediate("BER Issuing CA")
    signer = issuing.client("ber signer")
    cert = signer.write_pem(tmp_path / "signer.pem")
    key = signer.write_key(tmp_path / "signer.key")
    chain = issuing.write_pem(tmp_path / "chain.pem", chain=True)
    (tmp_path / "m.txt").write_text("hello\n")
    out = tmp_path / "bundle.p7b"
    subprocess.run(  # -stream writes BER with indefinite lengths, as some Windows/Java tools do
        [
            "openssl", "cms", "-sign", "-stream", "-nodetach", "-outform", "DER",
            "-in", str(tmp_path / "m.txt"), "-signer", str(cert), "-inkey", str(key),
            "-certfile", str(chain), "-out", str(out),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    data = out.read_bytes()
    assert data[:2] == b"\x30\x80" and detect_format(data) == "pkcs7"
    loaded = load_file(out)
    assert {c.sha1 for c in loaded.certificates} >= {signer.sha1, issuing.sha1}
    assert main(["audit", str(out)]) in (0, 1)  # read; findings are the audit's business
