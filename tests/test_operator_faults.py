"""Operator faults and edge inputs end with exit 2 and one line naming what is wrong (or the
documented behaviour), never a traceback, a hang, a half-written file or an overwritten input.

Disk-full cases run against a real 24 KiB tmpfs when this process may mount one (root), else
against ``RLIMIT_FSIZE`` (writes past the limit fail with EFBIG: the same error path); standard
output is tested against ``/dev/full`` and a closed pipe."""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import doctor_scenarios as sc
from certgate.cli import main
from certgate.errors import OutputError
from certgate.output import write_files
from certgate.testing import PKI
from certgate.testing.logs import iis_header, iis_line

CERTGATE = [sys.executable, "-m", "certgate"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CERTGATE, *args], check=False, capture_output=True, text=True, timeout=timeout
    )


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("certgate:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 KiB file system, or a folder with a 24 KiB file-size limit for children."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(folder)],
            check=False,
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield folder
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)


def _limited() -> None:  # for subprocesses when no tmpfs could be mounted
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (24 * 1024, 24 * 1024))


def _is_mount(folder: Path) -> bool:
    return os.path.ismount(folder)


def test_json_into_a_full_device_is_exit_2_naming_stdout() -> None:
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [*CERTGATE, "explain", "--list", "--json"],
            check=False,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        "certgate: standard output: cannot be written: no space left on the device"
    )


def test_a_closed_pipe_is_exit_2_and_no_traceback() -> None:
    process = subprocess.Popen(
        [*CERTGATE, "explain", "--list", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert one_line(err) == (
        "certgate: standard output: cannot be written: the reading end went away (broken pipe)"
    )


@pytest.mark.parametrize("limit", ["device", "rlimit"])
def test_fix_dir_on_a_full_disk_leaves_nothing(small_disk: Path, pki: PKI, limit: str) -> None:
    bundle, client = sc.seed_like(pki).write(small_disk.parent)
    target = small_disk / "fixes"
    html = small_disk / "report.html"
    rlimit = limit == "rlimit" or not _is_mount(small_disk)
    args = ["doctor", str(bundle), "--client-cert", str(client), "--fix-dir", str(target)]
    done = subprocess.run(
        [*CERTGATE, *args, "--html", str(html)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited if rlimit else None,
    )
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert str(small_disk) in line and "cannot be written" in line
    assert list(small_disk.iterdir()) == []  # neither half the fixes nor the report


def test_writer_refuses_inputs_directories_and_respects_the_umask(tmp_path: Path) -> None:
    source = tmp_path / "roots.pem"
    source.write_bytes(b"original")
    with pytest.raises(OutputError, match="it is an input of this command"):
        write_files({tmp_path / "." / "roots.pem": b"x"}, [source])
    assert source.read_bytes() == b"original"
    with pytest.raises(OutputError, match="it is a directory"):
        write_files({tmp_path: b"x"})
    old = os.umask(0o027)
    try:
        [written] = write_files({tmp_path / "new" / "report.html": b"<p>"})
    finally:
        os.umask(old)
    assert (written.stat().st_mode & 0o777, written.read_bytes()) == (0o640, b"<p>")
    assert not [p for p in written.parent.iterdir() if p.name.startswith(".")]


def test_html_over_an_input_or_a_directory_is_exit_2(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    roots = pki.root("CN=R").write_pem(tmp_path / "roots.pem")
    before = roots.read_bytes()
    assert main(["doctor", "--root", str(roots), "--html", str(roots)]) == 2
    assert "it is an input of this command" in one_line(capsys.readouterr().err)
    assert roots.read_bytes() == before
    assert main(["doctor", "--root", str(roots), "--html", str(tmp_path)]) == 2
    assert one_line(capsys.readouterr().err).endswith("cannot be written: it is a directory")


@pytest.fixture
def files(tmp_path: Path, pki: PKI) -> dict[str, Path]:
    root = pki.root("CN=R")
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.x509.subject)
        .last_update(pki.now)
        .next_update(pki.now + timedelta(days=7))
        .sign(root.key, hashes.SHA256())
    )
    (tmp_path / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "loop").symlink_to("loop")
    os.mkfifo(tmp_path / "fifo.log")
    start = datetime(2026, 6, 1, tzinfo=UTC)
    log = iis_header(when=start) + "".join(
        iis_line(
            when=start + timedelta(seconds=i),
            sc_status=403,
            sc_substatus=16,
            sc_win32_status=2148204809,
            c_ip=f"10.0.{i % 250}.{i % 7}",
        )
        for i in range(4000)
    )
    packed = gzip.compress(log.encode())
    (tmp_path / "cut.log.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "u_ex.log").write_text(log[:2000])
    return {
        "root": root.write_pem(tmp_path / "root.pem"),
        "crl": tmp_path / "crl.pem",
        "loop": tmp_path / "loop",
        "fifo": tmp_path / "fifo.log",
        "cut": tmp_path / "cut.log.gz",
        "plain": tmp_path / "u_ex.log",
        "folder": tmp_path,
    }


def test_symlink_loop_and_crl_only_store_are_exit_2(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", str(files["loop"])]) == 2
    assert "too many levels of symbolic links" in one_line(capsys.readouterr().err)
    assert main(["audit", str(files["crl"])]) == 2
    line = one_line(capsys.readouterr().err)
    assert "CRL(s) and no certificate" in line and "Root would be empty" in line
    assert main(["audit", str(files["root"]), str(files["crl"])]) == 0  # negative control


def test_a_fifo_is_refused_not_waited_on(files: dict[str, Path]) -> None:
    done = run("logs", str(files["fifo"]), timeout=30)
    assert done.returncode == 2
    assert one_line(done.stderr).endswith("not a regular file (a pipe, device or socket): not read")


def _encrypted_zip(path: Path, member: str, data: bytes) -> None:
    """A zip whose member is flagged encrypted (general purpose bit 0), as ``zip -P`` writes
    it; the content does not matter: an encrypted member must not be opened at all."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, data)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        raw[at + offset] |= 0x01
    path.write_bytes(bytes(raw))


def test_encrypted_zip_member_is_refused(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    archive = files["folder"] / "enc.zip"
    _encrypted_zip(archive, "u_ex.log", files["plain"].read_bytes())
    assert main(["logs", str(archive)]) == 2
    assert one_line(capsys.readouterr().err).endswith(
        "enc.zip!u_ex.log: encrypted zip member: not read"
    )


def test_a_cut_gz_is_read_up_to_the_damage(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", str(files["cut"]), "--json"]) == 1
    out, err = capsys.readouterr()
    assert "compressed data cut short or damaged" in err and '"events"' in out
    [item] = json.loads(out)["files"]
    assert item["error"] is None and 500 < item["events"] < 4000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schannel = 3", "schannel must be a [schannel] table"),
        ("[schannel]\nclient_auth_trust_mode = 2.0", "client_auth_trust_mode must be 0, 1 or 2"),
        ('[binding]\nendpoint = "0.0.0.0:443 & calc"', "endpoint must be IP:port"),
        ("[binding]\ncert_check_mode = 1e3", "cert_check_mode must be a 32-bit"),
    ],
)
def test_wrong_types_in_settings_toml_are_exit_2(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "settings.toml").write_text(text + "\n")
    assert main(["doctor", "--settings", str(tmp_path / "settings.toml")]) == 2
    assert message in one_line(capsys.readouterr().err)


def _drip_server(pki: PKI, folder: Path, stop: threading.Event) -> int:
    server = pki.root("CN=Drip Root").server("localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server.write_pem(folder / "s.pem"), server.write_key(folder / "s.key"))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=drip, args=(raw,), daemon=True).start()

    def drip(raw: socket.socket) -> None:
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                conn.recv(4096)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    if stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(0.25)
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    port: int = listener.getsockname()[1]
    return port


def test_probe_against_a_dripping_server_ends(tmp_path: Path, pki: PKI) -> None:
    stop = threading.Event()
    port = _drip_server(pki, tmp_path, stop)
    try:
        done = run(
            "probe", f"localhost:{port}", "--tls", "1.3", "--timeout", "1", "--json", timeout=60
        )
    finally:
        stop.set()
    assert done.returncode == 0, done.stderr
    assert '"schema": "certgate.probe/1"' in done.stdout


def test_read_only_file_system_is_exit_2_naming_the_path(
    tmp_path: Path, pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    roots = pki.root("CN=R").write_pem(tmp_path / "roots.pem")
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = os.geteuid() == 0 and (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=4k", "tmpfs", str(folder)],
            check=False,
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        if not mounted:  # no mount allowed: make the folder unwritable instead (not for root)
            folder.chmod(0o500)
        assert main(["doctor", "--root", str(roots), "--html", str(folder / "r.html")]) == 2
        line = one_line(capsys.readouterr().err)
        expected = "read-only file system" if mounted else "permission denied"
        assert line == f"certgate: {folder / 'r.html'}: cannot be written: {expected}"
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=False)
        folder.chmod(0o700)
