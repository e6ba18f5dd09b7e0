"""Inputs (folders, .gz, .zip, encodings) and the streaming pre-filters across chunk boundaries."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.logs import LogScan, _scan, read_events
from certgate.logs._registry import FileContext
from certgate.testing import logs as samples

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def svclog(count: int = 3) -> str:
    return "\r\n".join(samples.svclog_cert_invalid(T0 + timedelta(seconds=i)) for i in range(count))


def test_gzip_zip_and_nested_folders(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "trace.svclog.gz").write_bytes(gzip.compress(svclog(2).encode()))
    with zipfile.ZipFile(tmp_path / "a" / "logs.zip", "w") as archive:
        archive.writestr("W3SVC1/u_ex240305.log", samples.iis_client_cert_failures(T0, 3))
        archive.writestr(
            "W3SVC1/old.log.gz", gzip.compress(samples.iis_client_cert_failures(T0, 1).encode())
        )
        archive.writestr("readme/", "")
    (tmp_path / "a" / "plain.svclog").write_text(svclog(1))
    events, files = read_events([tmp_path])
    summary = [(f.path.removeprefix(f"{tmp_path}/"), f.format, f.events) for f in files]
    assert summary == [
        ("a/logs.zip!W3SVC1/u_ex240305.log", "iis-w3c", 3),
        ("a/logs.zip!W3SVC1/old.log.gz", "iis-w3c", 1),
        ("a/plain.svclog", "svclog", 1),
        ("a/b/trace.svclog.gz", "svclog", 2),
    ]
    assert len(events) == 7
    assert all(f.error is None for f in files)


def test_one_bad_file_among_many_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    (tmp_path / "good.svclog").write_text(svclog(2))
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(svclog(2).encode())[:-30])
    scan = LogScan([tmp_path, tmp_path / "missing.log"])
    events = list(scan)
    by_name = {Path(f.path).name: f for f in scan.files}
    assert by_name["good.svclog"].events == 2 and len(events) >= 2
    assert "zip" in (by_name["bad.zip"].error or "")
    assert by_name["empty.log"].error == "file is empty"
    assert by_name["missing.log"].error == "no such file or folder"
    cut = by_name["cut.gz"]  # read up to the damage, with a warning (issue 12)
    assert cut.error is None and cut.events == 1
    assert "compressed data cut short" in cut.problems[-1].message


def test_utf8_bom_and_utf16_be(tmp_path: Path) -> None:
    (tmp_path / "bom.log").write_bytes(
        b"\xef\xbb\xbf" + samples.iis_client_cert_failures(T0, 1).encode()
    )
    (tmp_path / "be.xml").write_bytes(samples.schannel_event(T0, 36887, alert=48).encode("utf-16"))
    events, files = read_events([tmp_path / "bom.log", tmp_path / "be.xml"])
    assert [f.format for f in files] == ["iis-w3c", "windows-events-xml"]
    assert len(events) == 2


def test_forced_format_and_time_window(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text(samples.iis_client_cert_failures(T0, 6, interval=timedelta(minutes=1)))
    scan = LogScan(
        [path], format="iis-w3c", since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4)
    )
    assert [e.time for e in scan] == [T0 + timedelta(minutes=m) for m in (2, 3, 4)]
    scan = LogScan([path], format="svclog")
    assert list(scan) == []
    assert len(list(LogScan(str(path)))) == 6  # a single path, not an iterable of characters


@pytest.mark.parametrize("chunk", [64, 97, 1000, 4096])
def test_records_straddling_chunk_boundaries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunk: int
) -> None:
    monkeypatch.setattr(_scan, "CHUNK", chunk)
    records = list(samples.svclog_bench_records(60, 7, T0))
    (tmp_path / "a.svclog").write_text("\r\n".join(records))
    (tmp_path / "u.log").write_text(samples.iis_client_cert_failures(T0, 9))
    (tmp_path / "e.xml").write_text(
        "".join(samples.schannel_event(T0, 36887, alert=a) for a in (40, 42, 48))
    )
    events, files = read_events([tmp_path])
    assert [f.events for f in files] == [8, 3, 9]
    assert all(f.skipped == 0 for f in files)
    assert [e.line for e in events if e.format == "iis-w3c"] == [8 + 4 * i for i in range(9)]


def test_oversized_record_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_scan, "CHUNK", 256)
    monkeypatch.setattr(_scan, "MAX_RECORD", 2000)
    huge = samples.svclog_cert_invalid(T0).replace("Keep-Alive", "K" * 5000)
    (tmp_path / "big.svclog").write_text(huge + "\r\n" + svclog(2))
    events, files = read_events([tmp_path / "big.svclog"])
    assert len(events) == 2 and files[0].skipped >= 1
    assert "longer than" in files[0].problems[0].message


def test_overlong_line_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_scan, "CHUNK", 128)
    monkeypatch.setattr(_scan, "MAX_LINE", 1000)
    content = samples.iis_client_cert_failures(T0, 2).replace("Mozilla", "M" * 3000, 1)
    (tmp_path / "long.log").write_text(content)
    events, files = read_events([tmp_path / "long.log"])
    assert len(events) == 2 and files[0].skipped == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([b"x Certificate y\n", b"\n", b"#h\n", b"abc", b"Certif", b"icate\n"]),
        max_size=40,
    ),
    st.integers(min_value=8, max_value=64),
)
def test_matching_lines_is_chunk_size_invariant(parts: list[bytes], chunk: int) -> None:
    data = b"".join(parts)

    def run(size: int) -> list[tuple[int, int, bytes]]:
        original = _scan.CHUNK
        _scan.CHUNK = size
        try:
            ctx = FileContext("mem")
            return list(
                _scan.matching_lines(io.BytesIO(data), (b"Certificate",), ctx, headers=True)
            )
        finally:
            _scan.CHUNK = original

    expected = [
        (number, sum(len(line) + 1 for line in data.split(b"\n")[: number - 1]), line)
        for number, line in enumerate(data.split(b"\n"), start=1)
        if b"Certificate" in line or line.startswith(b"#")
    ]
    assert run(chunk) == expected
    assert run(1 << 16) == expected
