"""The Windows collector, run here against fakes of the Windows calls.

Nothing in this file touches Windows: crypt32.dll is replaced by a fake object that hands back
real ctypes CERT_CONTEXT structures (so the marshalling code does run), winreg by an in-memory
registry, netsh/wevtutil by canned output, and the Windows folders by a temporary tree. The
collector has not been run on a real Windows server by these tests; the README says so.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import json
import sys
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from certgate.core.settings import Setting, SslBinding
from certgate.errors import OutputError
from certgate.inputs.bundle import load_machine
from certgate.testing import PKI
from certgate.testing.windows import IIS_APP_ID, netsh_sslcert
from certgate.windows.collect import WindowsHost, collect_bundle
from certgate.windows.crypt32 import CERT_CONTEXT, Crypt32Stores
from certgate.windows.redact import redact_config
from certgate.windows.winreg_export import export_tree

SCHANNEL = r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
HTTP = r"SYSTEM\CurrentControlSet\Services\HTTP\Parameters"


class FakeCrypt32:
    """crypt32's five calls over {store: [(der, friendly name)]}, returning real CERT_CONTEXTs."""

    def __init__(self, stores: dict[str, list[tuple[bytes, str | None]]]) -> None:
        self.stores = stores
        self.open: dict[int, str] = {}
        self.closed: list[int] = []
        self.keep: list[Any] = []  # buffers must outlive the contexts that point into them
        self.contexts: dict[int, tuple[str, int, str | None]] = {}

    def CertEnumSystemStore(self, flags: int, para: Any, arg: Any, callback: Any) -> int:
        assert flags == 0x20000  # CERT_SYSTEM_STORE_LOCAL_MACHINE
        for name in self.stores:
            text = ctypes.create_unicode_buffer(name)
            self.keep.append(text)
            callback(ctypes.addressof(text), 0, None, None, None)
        return 1

    def CertOpenStore(self, provider: int, encoding: int, prov: Any, flags: int, name: Any) -> int:
        assert provider == 10 and flags & 0x8000 and flags & 0x4000  # read-only, existing only
        if name.value not in self.stores:
            return 0
        handle = 1000 + len(self.open)
        self.open[handle] = name.value
        return handle

    def CertEnumCertificatesInStore(self, store: int, previous: Any) -> Any:
        entries = self.stores[self.open[store]]
        index = 0 if not previous else self.contexts[ctypes.addressof(previous.contents)][1] + 1
        if index >= len(entries):
            return None
        der, friendly = entries[index]
        data = (ctypes.c_ubyte * len(der)).from_buffer_copy(der)
        context = CERT_CONTEXT(
            1, ctypes.cast(data, ctypes.POINTER(ctypes.c_ubyte)), len(der), None, None
        )
        self.keep += [data, context]
        self.contexts[ctypes.addressof(context)] = (self.open[store], index, friendly)
        return ctypes.pointer(context)

    def CertGetCertificateContextProperty(
        self, context: Any, prop: int, data: Any, size: Any
    ) -> int:
        assert prop == 11  # only the friendly name is ever asked for: never a key property
        friendly = self.contexts[ctypes.addressof(context.contents)][2]
        if friendly is None:
            return 0
        encoded = (friendly + "\x00").encode("utf-16-le")
        if data is not None:
            ctypes.memmove(data, encoded, len(encoded))
        size.contents.value = len(encoded)
        return 1

    def CertCloseStore(self, store: int, flags: int) -> int:
        self.closed.append(store)
        return 1


class FakeKey:
    def __init__(self, node: dict[str, Any]) -> None:
        self.node = node

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeWinreg:
    """The slice of ``winreg`` the collector uses, over a nested dict: values under "", sub-keys
    by name; a value is (data, type)."""

    HKEY_LOCAL_MACHINE = object()
    KEY_READ = 0x20019
    KEY_WOW64_64KEY = 0x100

    def __init__(self, tree: dict[str, Any]) -> None:
        self.tree = tree

    def OpenKey(self, hive: object, path: str, reserved: int, access: int) -> FakeKey:
        assert hive is self.HKEY_LOCAL_MACHINE and access & self.KEY_WOW64_64KEY
        node = self.tree
        for part in path.split("\\"):
            match = next((k for k in node if k.casefold() == part.casefold() and k), None)
            if match is None:
                raise FileNotFoundError(path)
            node = node[match]
        return FakeKey(node)

    def QueryInfoKey(self, key: FakeKey) -> tuple[int, int, int]:
        return len([k for k in key.node if k]), len(key.node.get("", {})), 0

    def EnumKey(self, key: FakeKey, index: int) -> str:
        return [k for k in key.node if k][index]

    def EnumValue(self, key: FakeKey, index: int) -> tuple[str, Any, int]:
        name, (data, kind) = list(key.node.get("", {}).items())[index]
        return name, data, kind


REGISTRY = {
    "SYSTEM": {
        "CurrentControlSet": {
            "Control": {
                "SecurityProviders": {
                    "SCHANNEL": {
                        "": {
                            "EventLogging": (1, 4),
                            "SendTrustedIssuers": (0, 4),
                            "ClientAuthTrustMode": (2, 4),
                        },
                        "Protocols": {"TLS 1.3": {"Server": {"": {"Enabled": (0, 4)}}}},
                    }
                }
            },
            "Services": {
                "HTTP": {
                    "Parameters": {
                        "SslBindingInfo": {
                            "0.0.0.0:443": {
                                "": {
                                    "SslCertHash": (
                                        bytes.fromhex("40db5bb1bf5659a155258d1d007c530fcb8996c2"),
                                        3,
                                    ),
                                    "DefaultFlags": (2, 4),
                                    "DefaultSslCtlStoreName": ("ContosoCTL", 1),
                                    "Note": (["a", "b"], 7),
                                }
                            }
                        }
                    }
                }
            },
        }
    }
}


def test_crypt32_reads_names_certificates_and_friendly_names(pki: PKI) -> None:
    root = pki.root("Contoso Root CA")
    dll = FakeCrypt32({"Root": [(root.der, "Contoso Root")], "ContosoCTL": []})
    stores = Crypt32Stores(dll)
    assert stores.names() == ["Root", "ContosoCTL"]
    assert stores.certificates("Root") == [(root.der, "Contoso Root")]
    assert stores.certificates("ContosoCTL") == []
    assert sorted(dll.closed) == sorted(dll.open)  # every store opened was closed
    with pytest.raises(OSError, match="cannot open"):
        stores.certificates("Missing")


def test_winreg_export_reads_back_as_the_same_settings() -> None:
    from certgate.formats.reg import dump_reg, parse_reg
    from certgate.formats.regkeys import bindings_from_reg, schannel_from_reg

    keys = export_tree(FakeWinreg(REGISTRY), SCHANNEL) + export_tree(FakeWinreg(REGISTRY), HTTP)
    reg = parse_reg(b"\xff\xfe" + dump_reg(keys).encode("utf-16-le"), "schannel.reg")
    schannel = schannel_from_reg(reg)
    assert schannel.client_auth_trust_mode.value == 2
    assert [m.value for m in schannel.misspelled] == ["SendTrustedIssuers"]
    assert schannel.protocol("TLS 1.3", "Server").enabled.value is False
    (binding,) = bindings_from_reg(reg)
    assert binding.negotiates_client_cert and binding.ctl_store_name.value == "ContosoCTL"
    with pytest.raises(FileNotFoundError):
        export_tree(FakeWinreg(REGISTRY), r"SYSTEM\Nope")


def _windows_tree(root: Path, now: datetime) -> Path:
    windir = root / "Windows"
    config = windir / "System32" / "inetsrv" / "config"
    config.mkdir(parents=True)
    site_dir = root / "inetpub" / "wwwroot"
    site_dir.mkdir(parents=True)
    (config / "applicationHost.config").write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Default Web Site" id="1">
        <application path="/">
          <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" />
        </application>
        <bindings><binding protocol="https" bindingInformation="*:443:" /></bindings>
      </site>
      <siteDefaults><logFile directory="{root}/logs-here" /></siteDefaults>
    </sites>
  </system.applicationHost>
  <location path="Default Web Site">
    <system.webServer><security><authentication>
      <iisClientCertificateMappingAuthentication enabled="true">
        <oneToOneMappings>
          <add certificate="QUJD" userName="alice" password="[enc:AesProvider:secret:enc]" />
        </oneToOneMappings>
      </iisClientCertificateMappingAuthentication>
    </authentication></security></system.webServer>
  </location>
</configuration>
"""
    )
    (site_dir / "web.config").write_text(
        '<configuration><system.webServer><security><access sslFlags="Ssl, SslNegotiateCert" />'
        "</security></system.webServer></configuration>"
    )
    logs = root / "logs-here" / "W3SVC1"
    logs.mkdir(parents=True)
    (logs / "u_ex260601.log").write_text("#Fields: date time sc-status\n")
    old = logs / "u_ex250101.log"
    old.write_text("old\n")
    stamp = (now - timedelta(days=30)).timestamp()
    import os

    os.utime(old, (stamp, stamp))
    return windir


def _host(pki: PKI, tmp_path: Path, now: datetime, run: Any = None) -> WindowsHost:
    root = pki.root("Contoso Root CA")
    issuing = root.intermediate("Contoso Issuing CA")
    binding = SslBinding(
        cert_hash="40DB5BB1BF5659A155258D1D007C530FCB8996C2",
        app_id=IIS_APP_ID,
        ctl_store_name=Setting("ContosoCTL"),
        flags=Setting(2),
    )

    def default_run(argv: Sequence[str]) -> bytes:
        if argv[0] == "netsh":
            return netsh_sslcert([binding]).encode()
        if argv[0] == "wevtutil":
            Path(argv[3]).write_bytes(b"ElfFile\x00fake")
            return b""
        raise OSError(f"unexpected command {argv}")

    stores: dict[str, list[tuple[bytes, str | None]]] = {
        "Root": [(root.der, "Contoso Root"), (issuing.der, None)],
        "CA": [(issuing.der, None)],
        "ContosoCTL": [(issuing.der, None)],
    }
    software = {
        "Microsoft": {
            "SystemCertificates": {
                "Root": {"Certificates": {root.sha1: {"": {"Blob": (b"x", 3)}}}},
                "CA": {"Certificates": {issuing.sha1: {}}},
            },
        },
        "Policies": {
            "Microsoft": {"SystemCertificates": {"Root": {"Certificates": {issuing.sha1: {}}}}}
        },
    }
    return WindowsHost(
        stores=Crypt32Stores(FakeCrypt32(stores)),
        winreg=FakeWinreg({**REGISTRY, "SOFTWARE": software}),
        run=run or default_run,
        windir=_windows_tree(tmp_path, now),
        system_drive=tmp_path,
        hostname="IIS01",
        os_version="Windows-2022 (fake)",
    )


def test_collect_bundle_end_to_end(pki: PKI, tmp_path: Path, now: datetime) -> None:
    out = tmp_path / "out" / "bundle.zip"
    out.parent.mkdir()
    steps = collect_bundle(_host(pki, tmp_path, now), out, now=now, version="0.1.0")
    assert {s.name: s.status for s in steps} == {
        "stores": "ok",
        "physical-stores.json": "ok",
        "schannel.reg": "ok",
        "http-sslbindings.reg": "ok",
        "netsh-sslcert.txt": "ok",
        "applicationHost.config": "ok",
        "web.config": "ok",
        "logs": "ok",
        "events": "ok",
    }
    assert [p.name for p in out.parent.iterdir()] == ["bundle.zip"]  # no temporary left over
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        config = archive.read("applicationHost.config")
        manifest = json.loads(archive.read("manifest.json"))
    assert b"[redacted by certgate]" in config and b"secret" not in config
    assert "logs/iis/W3SVC1/u_ex260601.log" in names
    assert "logs/iis/W3SVC1/u_ex250101.log" not in names  # older than --log-days
    assert {"logs/events/schannel-system.evtx", "iis/sites/Default Web Site/web.config"} <= names
    assert manifest["host"] == "IIS01" and manifest["collector"] == "certgate 0.1.0 (python)"
    assert {"file": "applicationHost.config", "line": 18, "what": "password attribute"} in (
        manifest["redacted"]
    )

    loaded = load_machine(out)
    machine = loaded.machine
    assert [len(machine.store(n)) for n in ("Root", "CA", "ContosoCTL")] == [2, 1, 1]
    assert machine.store("Root").certificates[0].friendly_name == "Contoso Root"
    assert machine.schannel.client_auth_trust_mode == Setting(2, "schannel.reg:6")
    assert machine.bindings_source == "netsh-sslcert.txt"
    assert machine.binding.ctl_store_name.value == "ContosoCTL"
    assert machine.iis is not None
    assert machine.iis.effective("Default Web Site/x").negotiates_cert
    assert dict(loaded.collected)["host"] == "IIS01"
    assert manifest["bundle_format"] == 2
    assert loaded.errors == ()
    root, issuing = machine.store("Root").certificates
    assert machine.origin("Root", root.sha1).label() == "registry"
    assert machine.origin("Root", issuing.sha1).label() == "group-policy"
    assert machine.origin("CA", issuing.sha1).label() == "registry"
    assert not machine.origin("ContosoCTL", issuing.sha1).known  # not a collected store


def test_a_failing_step_is_recorded_and_the_rest_collected(
    pki: PKI, tmp_path: Path, now: datetime
) -> None:
    def broken_run(argv: Sequence[str]) -> bytes:
        raise OSError("access denied")

    out = tmp_path / "bundle.zip"
    steps = collect_bundle(_host(pki, tmp_path, now, broken_run), out, now=now)
    status = {s.name: s.status for s in steps}
    assert status["netsh-sslcert.txt"] == "failed" and status["stores"] == "ok"
    machine = load_machine(out).machine
    assert machine.bindings_source == "http-sslbindings.reg"  # the registry export stands in


def test_no_half_bundle_when_collection_crashes(pki: PKI, tmp_path: Path, now: datetime) -> None:
    host = _host(pki, tmp_path, now)

    class Exploding:
        def names(self) -> list[str]:
            raise KeyboardInterrupt

        def certificates(self, name: str) -> list[tuple[bytes, str | None]]:
            return []

    host.stores = Exploding()
    out = tmp_path / "out.zip"
    with pytest.raises(KeyboardInterrupt):
        collect_bundle(host, out, now=now)
    assert not out.exists() and not list(tmp_path.glob(".certgate-*"))


def test_a_full_disk_is_an_output_error_and_no_bundle(
    pki: PKI, tmp_path: Path, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while zipping (simulated: the zip writer's OSError, as a full disk raises it) is
    not recorded as a failed step of a bundle that goes on: it ends the run, nothing left."""
    host = _host(pki, tmp_path, now)

    def full(self: zipfile.ZipFile, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    out = tmp_path / "out.zip"
    with pytest.raises(OutputError, match="no space left on the device"):
        collect_bundle(host, out, now=now)
    assert not out.exists() and not list(tmp_path.glob(".certgate-*"))


def test_redaction_keeps_lines() -> None:
    text = b'<add userName="a"\n     password="[enc:x]" />\n<add PASSWORD = "p2"/>'
    redacted, _ = redact_config(text, "a.config")
    assert redacted.count(b"\n") == text.count(b"\n")
    assert b"[enc:x]" not in redacted and b"p2" not in redacted


def test_windows_modules_import_without_windows() -> None:
    for name in ("certgate.windows", "certgate.windows.crypt32", "certgate.windows.collect"):
        importlib.import_module(name)
    if sys.platform != "win32":
        assert not hasattr(ctypes, "windll")


def test_collected_at_is_the_given_time(pki: PKI, tmp_path: Path) -> None:
    when = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    out = tmp_path / "b.zip"
    collect_bundle(_host(pki, tmp_path, when), out, now=when)
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["collected_at"] == when.isoformat()
