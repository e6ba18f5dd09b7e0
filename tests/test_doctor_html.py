"""The HTML report in a real headless browser (Debian's chromium, installed by .ci/run): it
renders (a screenshot that is not blank), carries the answer, draws its SVGs, references
nothing external, and its copy button works (the page's #selftest hook clicks it)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from certgate.cli import main
from certgate.demo import build_seed_case
from servers import need

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _chromium() -> None:
    need("chromium")  # a skip on a developer machine without it, a failure in CI


def browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, raw scanlines incl. filter bytes) of a non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, width, height = 8, b"", 0, 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunk = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    return width, height, zlib.decompress(idat)


def distinct_bytes(path: Path) -> int:
    _, _, raw = png_pixels(path.read_bytes())
    return len(set(raw))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    case = build_seed_case(folder)
    html = folder / "report.html"
    code = main(
        [
            "doctor",
            str(case.folder),
            "--client-cert",
            str(case.client),
            "--at",
            case.at.isoformat(),
            "--html",
            str(html),
            "--json",
        ]
    )
    assert code == 1
    return html


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text)
    assert "<link" not in text and "@import" not in text
    assert text.count("<svg") >= 3  # chain, stores, timeline
    # public sources, printed with their address (not linked: nothing outside is referenced)
    assert "KB 2802568 (https://support.microsoft.com/help/2802568)" in text


def test_renders_in_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = browser(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    blank = tmp_path / "blank.png"
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>")
    browser(tmp_path, f"--screenshot={blank}", "--window-size=1200,1600", empty.as_uri())
    assert distinct_bytes(blank) < 8  # negative control: a blank page
    assert distinct_bytes(shot) > 50


def test_dom_has_the_answer_and_the_copy_button_works(report: Path, tmp_path: Path) -> None:
    result = browser(
        tmp_path, "--virtual-time-budget=5000", "--dump-dom", report.as_uri() + "#selftest"
    )
    dom = result.stdout
    assert "Root cause: Non-self-signed certificates in LocalMachine\\Root" in dom, result.stderr
    for text in (
        "KB 2802568",
        "1,204 HttpsClientCertificateInvalid 0x109 events",
        "move-root-to-ca.ps1",
        "[inferred]",
        "Log timeline",
    ):
        assert text in dom, text
    match = re.search(r'data-selftest="copied:(\w+):(\d+)"', dom)
    assert match, dom[:500]
    assert int(match.group(2)) > 500  # the whole script was the copied text
    assert 'data-copied="' in dom


def test_negative_control_selftest_hook_only_on_request(report: Path, tmp_path: Path) -> None:
    result = browser(tmp_path, "--virtual-time-budget=3000", "--dump-dom", report.as_uri())
    assert "Root cause" in result.stdout and 'data-selftest="' not in result.stdout
