"""``certgate.inputs``: one request, one ``load()``, the machine with where every setting and
certificate came from; and whatever bytes a named file holds, one line naming it (never a
traceback), through ``load()`` and through the commands."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgate.cli import main
from certgate.core.changes import SetSendIssuerList, SetTrustMode
from certgate.errors import InputError
from certgate.gate.config import PolicyError, parse_policy
from certgate.inputs import (
    ClientFiles,
    Origin,
    Request,
    StoreFiles,
    load,
    provenance,
    setting_origins,
)
from certgate.inputs.settings import key_lines
from certgate.testing import PKI, Issued, pem_bundle, pkcs7_bundle, sst_bundle
from certgate.testing.windows import BundleSpec, schannel_reg, write_bundle, zip_folder

SETTINGS_TOML = (
    '# overrides\n[binding]\nctl_store_name = "ClientAuthIssuer"\n\ncert_check_mode = 2\n'
)


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _by_subject(origins: tuple[Origin, ...]) -> dict[str, Origin]:
    return {o.subject: o for o in origins}


def _pair(pki: PKI) -> tuple[Issued, Issued]:
    root = pki.root("Inputs Root")
    return root, root.intermediate("Inputs Issuing")


def test_a_zip_bundle_names_each_setting_and_certificate_by_member_and_line(
    pki: PKI, tmp_path: Path
) -> None:
    root, issuing = _pair(pki)
    reg = schannel_reg(trust_mode=2, send_issuer_list=1)
    spec = BundleSpec()
    spec.add("stores/Root.sst", sst_bundle([(root, "Inputs Root"), issuing]))
    spec.add("schannel.reg", reg)
    spec.add("settings.toml", SETTINGS_TOML)
    archive = zip_folder(write_bundle(tmp_path / "b", spec), tmp_path / "bundle.zip")

    loaded = load(Request(str(archive)))

    origins = _by_subject(provenance(loaded))
    reg_text = reg.decode("utf-16")
    trust = origins["ClientAuthTrustMode"]
    assert (trust.value, trust.file) == ("2", f"{archive}!schannel.reg")
    assert trust.source == f"{archive}!schannel.reg:{_line_of(reg_text, 'ClientAuthTrustMode')}"
    send = origins["SendTrustedIssuerList"].source
    assert send == f"{archive}!schannel.reg:{_line_of(reg_text, 'SendTrustedIssuerList')}"
    # settings.toml values carry "settings.toml [binding]"; provenance finds the key's line.
    ctl = origins["binding 0.0.0.0:443 DefaultSslCtlStoreName"]
    assert (ctl.value, ctl.source) == ("ClientAuthIssuer", f"{archive}!settings.toml:3")
    assert origins["binding 0.0.0.0:443 DefaultSslCertCheckMode"].source.endswith("toml:5")
    assert origins["EventLogging"].source == "default"
    assert origins["Windows version"].value == "unknown"
    # Certificates: the store file inside the zip and the SST element.
    root_origin = origins[f"Root {root.sha1}"]
    assert root_origin.kind == "certificate"
    assert root_origin.file == f"{archive}!stores/Root.sst"
    # SST elements are numbered as stored (properties such as the friendly name count too)
    assert root_origin.place.startswith("element ") and ", byte " in root_origin.place
    assert origins[f"Root {issuing.sha1}"].place.startswith("element ")
    assert origins[f"Root {issuing.sha1}"].place != root_origin.place


def test_store_files_settings_files_and_flags_each_keep_their_origin(
    pki: PKI, tmp_path: Path
) -> None:
    root, issuing = _pair(pki)
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pem_bundle([root]))
    cas = tmp_path / "ca.p7b"
    cas.write_bytes(pkcs7_bundle([issuing]))
    toml = tmp_path / "settings.toml"
    toml.write_text(
        '[schannel]\n\nsend_trusted_issuer_list = true\n[machine]\nos_version = "2019"\n'
    )

    loaded = load(
        Request(
            stores=(StoreFiles("root", (str(roots),)), StoreFiles("CA", (str(cas),))),
            settings=(str(toml),),
            changes=(SetTrustMode(1, origin="--trust-mode"),),
        )
    )

    assert [s.name for s in loaded.machine.stores] == ["Root", "CA"]
    origins = _by_subject(provenance(loaded))
    assert origins["ClientAuthTrustMode"].source == "--trust-mode"
    assert origins["SendTrustedIssuerList"].source == f"{toml}:3"
    assert origins["Windows version"].source == f"{toml}:5"
    assert origins[f"Root {root.sha1}"].source == f"{roots}#PEM block 1, line 1"
    assert origins[f"CA {issuing.sha1}"].file == str(cas)
    assert loaded.bundle is None and loaded.failures == ()


def test_changes_apply_after_everything_read_in_the_order_given(pki: PKI, tmp_path: Path) -> None:
    toml = tmp_path / "settings.toml"
    toml.write_text("[schannel]\nclient_auth_trust_mode = 2\n")
    changes = (
        SetTrustMode(0, origin="first"),
        SetTrustMode(1, origin="--trust-mode"),
        SetSendIssuerList(True, origin="--send-issuer-list"),
    )
    machine = load(Request(settings=(str(toml),), changes=changes)).machine
    assert machine.schannel.client_auth_trust_mode.value == 1
    assert machine.schannel.client_auth_trust_mode.source == "--trust-mode"
    assert machine.schannel.send_trusted_issuer_list.value is True


def test_clients_come_with_their_chain_once_and_the_leaf_first(pki: PKI, tmp_path: Path) -> None:
    root, issuing = _pair(pki)
    alice = issuing.client("alice")
    cert = tmp_path / "alice.pem"
    cert.write_bytes(pem_bundle([alice, issuing]))
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pem_bundle([issuing, alice, root]))

    (client,) = load(Request(clients=(ClientFiles(str(cert), (str(chain),)),))).clients

    assert client.leaf.sha1 == alice.sha1 and client.path == str(cert)
    assert [c.sha1 for c in client.chain] == [issuing.sha1, root.sha1]


def test_the_ctl_file_goes_to_the_store_the_binding_names(pki: PKI, tmp_path: Path) -> None:
    _, issuing = _pair(pki)
    ctl = tmp_path / "ctl.pem"
    ctl.write_bytes(pem_bundle([issuing]))
    toml = tmp_path / "b" / "settings.toml"
    toml.parent.mkdir()
    toml.write_text('[binding]\nctl_store_name = "Partners"\n')

    machine = load(Request(str(toml.parent), ctl=str(ctl))).machine
    assert [c.sha1 for c in machine.store("Partners").certificates] == [issuing.sha1]
    assert machine.binding.ctl_store_name.source == "--ctl"
    plain = load(Request(ctl=str(ctl))).machine
    assert plain.binding.ctl_store_name.value == "CTL" and plain.knows("CTL")


def test_collect_mode_reports_every_bad_input_and_keeps_the_rest(pki: PKI, tmp_path: Path) -> None:
    root, _ = _pair(pki)
    good = tmp_path / "root.pem"
    good.write_bytes(pem_bundle([root]))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    request = Request(
        str(tmp_path / "missing-bundle"),
        stores=(StoreFiles("Root", (str(good), str(junk), str(tmp_path / "gone.pem"))),),
        collect=True,
    )

    loaded = load(request)

    assert [(f.input, Path(f.error.path).name) for f in loaded.failures] == [
        ("bundle", "missing-bundle"),
        ("Root", "junk.pem"),
        ("Root", "gone.pem"),
    ]
    assert [c.sha1 for c in loaded.machine.store("Root").certificates] == [root.sha1]
    # The same request without collect raises the first one (the CLI's one-line error).
    with pytest.raises(InputError, match="no such file or folder"):
        load(Request(str(tmp_path / "missing-bundle")))


def test_one_bad_store_file_among_several_is_a_warning_on_the_command_line(
    pki: PKI, tmp_path: Path
) -> None:
    root, _ = _pair(pki)
    good = tmp_path / "root.pem"
    good.write_bytes(pem_bundle([root]))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    loaded = load(Request(stores=(StoreFiles("Root", (str(good), str(junk))),)))
    assert [w.path for w in loaded.warnings] == [str(junk)]
    assert "skipped" in loaded.warnings[0].message


def test_a_crl_file_without_a_crl_and_a_store_of_only_crls_are_refused(
    pki: PKI, tmp_path: Path
) -> None:
    root, _ = _pair(pki)
    cert = tmp_path / "root.pem"
    cert.write_bytes(pem_bundle([root]))
    with pytest.raises(InputError, match="no CRL in this file"):
        load(Request(crls=(str(cert),)))
    crl = tmp_path / "root.crl"
    crl.write_bytes(root.crl().public_bytes(Encoding.DER))
    with pytest.raises(InputError, match="a CRL is not a certificate store"):
        load(Request(stores=(StoreFiles("Root", (str(crl),)),)))
    assert len(load(Request(crls=(str(crl),))).crls) == 1


def test_setting_origins_cover_every_binding(tmp_path: Path) -> None:
    loaded = load(Request())
    subjects = [o.subject for o in setting_origins(loaded)]
    assert "binding 0.0.0.0:443 DefaultFlags" in subjects
    assert all(o.source == "default" for o in setting_origins(loaded))


def test_key_lines_ignore_comments_and_nested_values() -> None:
    text = '# c\n[schannel] # x\nclient_auth_trust_mode = 1\n[binding]\n  endpoint = "a"\n'
    assert key_lines(text) == {
        ("schannel", "client_auth_trust_mode"): 3,
        ("binding", "endpoint"): 5,
    }


# ---- fuzzing: every path of a request that parses a file --------------------------------------

_PKI = PKI(now=datetime(2026, 6, 1, tzinfo=UTC))
_ROOT = _PKI.root("Fuzz Inputs Root")
_SAMPLES = [
    pem_bundle([_ROOT]),
    sst_bundle([_ROOT]),
    pkcs7_bundle([_ROOT]),
    _ROOT.der,
    schannel_reg(trust_mode=1),
    SETTINGS_TOML.encode(),
    b"[schannel]\nclient_auth_trust_mode = 3\n",
    b"SSL Certificate bindings:\n\n    IP:port : 0.0.0.0:443\n",
    b"<configuration><system.webServer/></configuration>",
]
# Names that make the bundle reader and the settings sniffer try each parser.
_NAMES = ["Root.sst", "roots.pem", "schannel.reg", "settings.toml", "netsh-sslcert.txt",
          "applicationHost.config", "CA.p7b", "bundle.zip", "listing.txt"]  # fmt: skip
_FIELDS = ["bundle", "store", "ctl", "settings", "client", "chain", "crl", "policy"]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _content() -> st.SearchStrategy[bytes]:
    mutated = st.tuples(
        st.sampled_from(_SAMPLES),
        st.lists(st.tuples(st.integers(0, 1 << 12), st.integers(0, 255)), max_size=6),
        st.integers(0, 1 << 12),
    ).map(_mutate)
    return st.one_of(st.binary(max_size=512), mutated)


def _mutate(item: tuple[bytes, list[tuple[int, int]], int]) -> bytes:
    sample, flips, cut = item
    data = bytearray(sample)
    for position, value in flips:
        data[position % len(data)] = value
    return bytes(data[: max(1, cut)] if cut < len(data) else data)


def _request(field: str, path: str) -> Request:
    return {
        "bundle": Request(path),
        "store": Request(stores=(StoreFiles("Root", (path,)),)),
        "ctl": Request(ctl=path),
        "settings": Request(settings=(path,)),
        "client": Request(clients=(ClientFiles(path),)),
        "chain": Request(clients=(ClientFiles(_ROOT_FILE, (path,)),)),
        "crl": Request(crls=(path,)),
    }[field]


_ROOT_FILE = str(Path(tempfile.mkdtemp(prefix="certgate-inputs-")) / "root.pem")
Path(_ROOT_FILE).write_bytes(pem_bundle([_ROOT]))


@FUZZ
@given(st.sampled_from(_FIELDS), st.sampled_from(_NAMES), _content())
def test_any_bytes_in_any_named_input_load_or_name_the_file(
    field: str, name: str, data: bytes
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        if field == "policy":  # the gate's [trust]: every problem listed, none raised alone
            document = {"trust": {"machine": name, "stores": {"Root": [name]}}}
            try:
                parse_policy(document, base=Path(folder))
            except PolicyError as exc:
                assert all(name in error for error in exc.errors), exc.errors
            return
        try:
            loaded = load(_request(field, str(path)))
        except InputError as exc:
            line = exc.diagnostics()
            assert "\n" not in line
            assert name in line, line
            return
        provenance(loaded)  # whatever loaded can say where it came from


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["verify", "audit", "doctor", "machine"]), _content())
def test_commands_answer_bad_input_with_one_line_and_exit_2(command: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.pem"
        path.write_bytes(data)
        argv = {
            "verify": ["verify", str(path), "--root", _ROOT_FILE, "--json"],
            "audit": ["audit", str(path), "--json"],
            "doctor": ["doctor", "--root", str(path), "--json"],
            "machine": ["machine", "show", str(path), "--json"],
        }[command]
        code = main(argv)
        assert code in (0, 1, 2), code


def test_bad_input_in_a_real_process_is_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "settings.toml"
    bad.write_bytes(b"[schannel]\nclient_auth_trust_mode = \xff\n")
    for argv in (
        ["doctor", "--settings", str(bad)],
        ["verify", str(bad)],
        ["audit", "--machine", str(bad)],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "certgate", *argv], capture_output=True, text=True, check=False
        )
        assert done.returncode == 2, (argv, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in done.stderr


def test_verify_and_machine_show_json_name_each_setting_by_file_and_line(
    pki: PKI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, issuing = _pair(pki)
    alice = issuing.client("alice")
    reg = schannel_reg(trust_mode=2)
    spec = BundleSpec()
    spec.add("stores/Root.sst", sst_bundle([root]))
    spec.add("stores/CA.sst", sst_bundle([issuing]))
    spec.add("schannel.reg", reg)
    spec.add("settings.toml", SETTINGS_TOML)
    folder = write_bundle(tmp_path / "bundle", spec)
    client = tmp_path / "alice.pem"
    client.write_bytes(pem_bundle([alice]))
    line = _line_of(reg.decode("utf-16"), "ClientAuthTrustMode")

    main(["verify", str(client), "--machine", str(folder), "--json", "--send-issuer-list"])
    settings = {s["name"]: s for s in json.loads(capsys.readouterr().out)["settings"]}
    assert settings["ClientAuthTrustMode"] == {
        "name": "ClientAuthTrustMode",
        "value": "2",
        "source": f"{folder / 'schannel.reg'}:{line}",
    }
    assert settings["SendTrustedIssuerList"]["source"] == "--send-issuer-list"
    ctl = settings["binding 0.0.0.0:443 DefaultSslCtlStoreName"]["source"]
    assert ctl == f"{folder / 'settings.toml'}:3"

    main(["machine", "show", str(folder), "--json"])
    shown = {s["name"]: s for s in json.loads(capsys.readouterr().out)["settings"]}
    assert shown["ClientAuthTrustMode"]["source"] == f"{folder / 'schannel.reg'}:{line}"
    assert shown["SendTrustedIssuerList"]["source"] == "default"


def test_the_gate_policy_lists_each_unreadable_trust_file_under_its_key(
    pki: PKI, tmp_path: Path
) -> None:
    root, _ = _pair(pki)
    (tmp_path / "root.crl").write_bytes(root.crl().public_bytes(Encoding.DER))
    (tmp_path / "junk.pem").write_text("junk\n")
    document = {
        "trust": {
            "machine": "no-bundle",
            "stores": {"Root": ["root.crl"], "ca": ["junk.pem"]},
            "trust_mode": 2,
        }
    }
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, base=tmp_path, source="gate.toml")
    assert caught.value.errors == [
        f"trust.machine: {tmp_path / 'no-bundle'}: no such file or folder",
        f"trust.stores.Root: {tmp_path / 'root.crl'}: 1 CRL(s) and no certificate: a CRL is "
        "not a certificate store (verify takes CRLs with --crl), so Root would be empty",
        f"trust.stores.ca: {tmp_path / 'junk.pem'}: not a certificate file (no PEM block; not "
        "DER, PKCS#7, PKCS#12 or .sst data)",
    ]
    (tmp_path / "root.pem").write_bytes(pem_bundle([root]))
    good = {"trust": {"stores": {"Root": ["root.pem"]}, "trust_mode": 2}}
    machine = parse_policy(good, base=tmp_path).policy.machine
    assert machine.schannel.client_auth_trust_mode.source == "policy [trust]"


def test_a_request_names_every_path_it_reads_for_outputs_to_avoid() -> None:
    request = Request(
        "bundle.zip",
        stores=(StoreFiles("Root", ("r1.pem", "roots/")),),
        ctl="ctl.sst",
        settings=("schannel.reg",),
        clients=(ClientFiles("-", ("chain.pem",)), ClientFiles("bob.pem")),
        crls=("ca.crl",),
    )
    assert request.paths == (
        "bundle.zip", "r1.pem", "roots/", "ctl.sst", "schannel.reg", "chain.pem", "bob.pem",
        "ca.crl",
    )  # fmt: skip
