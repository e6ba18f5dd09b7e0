"""Store and settings files as people really hand them over (issue 16): BER PKCS#7."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.formats import load_file, sniff_store_format
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
    assert data[:2] == b"\x30\x80" and sniff_store_format(data) == "pkcs7"
    loaded = load_file(out)
    assert {c.sha1 for c in loaded.certificates} >= {signer.sha1, issuing.sha1}
    assert main(["audit", str(out)]) in (0, 1)  # read; findings are the audit's business


def _netsh_paste() -> str:
    from certgate.core.settings import SslBinding
    from certgate.testing.windows import netsh_sslcert

    output = netsh_sslcert([SslBinding(endpoint="0.0.0.0:443", cert_hash="A" * 40)])
    rows = output.splitlines()
    keep = [r for r in rows if "Ctl" not in r]  # the paster left some rows out
    at = next(i for i, r in enumerate(keep) if "Certificate Store Name" in r)
    keep.insert(at + 1, "    ...")
    return "\r\n".join(["C:\\Windows\\system32>netsh http show sslcert", "", *keep, "", "Ok.", ""])


def test_netsh_paste_with_echoed_command_elision_and_ok(tmp_path: Path) -> None:
    from certgate.formats import LoadWarning
    from certgate.formats.netsh import parse_netsh_sslcert

    warnings: list[LoadWarning] = []
    (binding,) = parse_netsh_sslcert(_netsh_paste().encode(), "netsh.txt", warnings)
    assert binding.endpoint == "0.0.0.0:443" and binding.cert_hash == "A" * 40
    kinds = [(w.where, w.message.split(" ignored")[0]) for w in warnings]
    assert kinds[0] == ("line 1", "echoed command line")
    assert [k for _, k in kinds[1:]] == ["elision (rows left out)", "netsh's 'Ok.'"]


def test_doctor_settings_reads_netsh_paste_and_application_host_by_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from certgate.core.iis import Application, LocationConfig, Site, SiteBinding
    from certgate.core.settings import Setting
    from certgate.testing import logs as samples
    from certgate.testing.windows import application_host_config

    paste = tmp_path / "from-the-ticket.txt"
    paste.write_text(_netsh_paste())
    logs = tmp_path / "u_ex1.log"
    logs.write_text(samples.iis_header() + samples.iis_line())
    assert main(["doctor", "--settings", str(paste), "--logs", str(logs)]) == 0
    err = capsys.readouterr().err
    assert "line 1" in err and "echoed command line" in err
    site = Site("Orders", "1", (SiteBinding("https", "*:443:", Setting(0)),), (Application("/"),))
    config = application_host_config([site], [LocationConfig("Orders", "", "", Setting(0x68, "x"))])
    odd = tmp_path / "applicationHost (1).xml"
    odd.write_text(config if isinstance(config, str) else config.decode())
    assert main(["doctor", "--settings", str(odd), "--logs", str(logs), "--json"]) == 0
    document = capsys.readouterr().out
    assert "IIS configuration: not exported" not in document
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "apphost-copy.config").write_bytes(odd.read_bytes())
    (bundle / "logs").mkdir()
    (bundle / "logs" / "u_ex1.log").write_text(logs.read_text())
    from certgate.inputs.bundle import load_machine

    assert load_machine(bundle).machine.iis is not None
