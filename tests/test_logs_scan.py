"""The IIS W3C fast path (buffered windows, needle pre-filter, SIMD line counting, one pass
for NUL bytes and directives, per-#Fields event fields) against a slow reference that reads
every line one by one."""

from __future__ import annotations

import dataclasses
import gzip
import io
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgate.core.events import LogEvent
from certgate.errors import InputError
from certgate.logs import LogScan, _scan, iis
from certgate.logs._io import open_text, walk_inputs
from certgate.logs._registry import FileContext
from certgate.testing import logs as samples

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
Outcome = tuple[list[LogEvent], int, list[str], dict[str, int], list[str]]


def reference(data: bytes) -> Outcome:
    """Every line, in order, split and numbered the obvious way; rows are read when they hold
    `` 403`` or `` 500 `` (the reader's documented pre-filter), directives always."""
    ctx = FileContext("log")
    header = iis._Header()
    events: list[LogEvent] = []
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    for number, text in enumerate(lines, start=1):
        raw = text.rstrip(b"\r")
        if b"\x00" in raw:
            continue
        if raw.startswith(b"#"):
            header.read(iis._decode(raw, ctx))
            continue
        if b" 403" not in raw and b" 500 " not in raw:
            continue
        line = iis._decode(raw, ctx)
        values = iis._row(line, header, number, ctx, iis._w3c_fallback)  # every field
        if values is None:
            continue
        event = iis._w3c_event(values, header.day, "log", number, line)
        if event is not None:
            events.append(event)
        else:
            iis._count_other_row(values, ctx)
    return events, ctx.skipped, [str(p) for p in ctx.problems], ctx.other, ctx.notes


def fast(path: Path) -> Outcome:
    """What ``certgate logs`` does with the file (a plain file or a .gz stream)."""
    errors: list[InputError] = []
    (item,) = walk_inputs([str(path)], errors.append)
    with item.open() as raw:
        stream, head, _note = open_text(raw)
        ctx = FileContext("log", item.disk_path, head=head)
        events = list(iis.parse_w3c(stream, ctx))
    assert not errors
    return events, ctx.skipped, [str(p) for p in ctx.problems], ctx.other, ctx.notes


def both_ways(tmp_path: Path, data: bytes) -> tuple[Outcome, Outcome]:
    plain = tmp_path / "u_ex.log"
    plain.write_bytes(data)
    packed = tmp_path / "u_ex.log.gz"
    packed.write_bytes(gzip.compress(data, compresslevel=1))
    return fast(plain), fast(packed)


# -- generated logs -----------------------------------------------------------------------

STATUSES = [
    (200, 0, 0),
    (403, 16, 2148204809),
    (403, 13, 2148081683),
    (403, 7, 5),
    (403, 0, 5),
    (403, 14, 0),
    (500, 0, 50),
    (500, 19, 13),
    (500, 0, 2147942450),
    (404, 0, 2),
]
# Values that put a needle where no status is: the pre-filter's false hits.
DECOYS = ["/403", "x 403", "4031", "/a/500 b", "-", "403", "500"]
CUSTOM = ["crypt-thumbprint", "cs(X-Client-Subject)", "cs-host", "s-computername"]
FIELD_SETS = st.one_of(
    st.just(samples.IIS_DEFAULT_FIELDS),
    st.permutations(samples.IIS_DEFAULT_FIELDS).map(tuple),
    st.lists(st.sampled_from(CUSTOM), unique=True, max_size=3).flatmap(
        lambda extra: st.permutations(
            [
                *("date", "time", "c-ip", "cs-uri-stem", "sc-status", "sc-substatus"),
                *("sc-win32-status", "time-taken", *extra),
            ]
        ).map(tuple)
    ),
)


@st.composite
def w3c_row(draw: st.DrawFn, fields: tuple[str, ...], when: datetime) -> str:
    status, substatus, win32 = draw(st.sampled_from(STATUSES))
    values: dict[str, object] = {
        "sc_status": status,
        "sc_substatus": substatus,
        "sc_win32_status": win32,
        "when": when,
        "time_taken": draw(st.sampled_from([15, 403, 500])),
        "cs_uri_stem": draw(st.sampled_from(["/Svc/Service.svc", "/403/x", "/500"])),
        "c_ip": draw(st.sampled_from(["10.0.0.9", "[::1]", "<IP_address>", "-"])),
        "crypt_thumbprint": draw(st.sampled_from(["AB:CD:EF", "-"])),
        "cs_X_Client_Subject": draw(st.sampled_from(["CN=client01", "-"])),
        "cs_host": draw(st.sampled_from(["www.example.com", "-"])),
        "s_computername": draw(st.sampled_from(["WEB01", "-"])),
        "cs_uri_query": draw(st.sampled_from(["a=1", "-"])),
    }
    line = samples.iis_line(fields, **values).rstrip("\r\n")
    damage = draw(st.sampled_from(["none"] * 6 + ["drop", "extra", "decoy"]))
    cells = line.split(" ")
    if damage == "drop":
        cells.pop(draw(st.integers(0, len(cells) - 1)))
    elif damage == "extra":
        cells.append(draw(st.sampled_from(DECOYS)))
    elif damage == "decoy":
        return "junk " + draw(st.sampled_from(DECOYS)) + " line"
    return " ".join(cells)


@st.composite
def w3c_log(draw: st.DrawFn) -> bytes:
    eol = draw(st.sampled_from(["\r\n", "\n"]))
    lines: list[str] = []
    when = T0
    for block in range(draw(st.integers(1, 3))):
        fields = draw(FIELD_SETS)
        if block > 0 or draw(st.booleans()):  # the first block may come without #Fields
            if draw(st.booleans()):
                lines.append("#Software: Microsoft Internet Information Services 10.0")
                lines.append(f"#Date: {when:%Y-%m-%d %H:%M:%S}")
            lines.append("#Fields: " + " ".join(fields))
        else:
            fields = samples.IIS_DEFAULT_FIELDS
        for _ in range(draw(st.integers(0, 12))):
            when += timedelta(seconds=draw(st.integers(0, 90)))
            lines.append(draw(w3c_row(fields, when)) if draw(st.integers(0, 9)) else "")
    text = eol.join(lines) + eol
    cut = draw(st.sampled_from(["whole", "no-final-eol", "cut-last-line"]))
    if cut == "no-final-eol":
        text = text.removesuffix(eol)
    elif cut == "cut-last-line" and len(text) > 20:
        text = text[: len(text) - draw(st.integers(1, 20))]
    bom = "\ufeff" if draw(st.integers(0, 5)) == 0 else ""
    return (bom + text).encode()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=w3c_log(), chunk=st.sampled_from([64, 257, 4096, 8 << 20]))
def test_fast_path_equals_line_by_line_reference(tmp_path: Path, data: bytes, chunk: int) -> None:
    expected = reference(data)
    original = _scan.CHUNK
    _scan.CHUNK = chunk
    try:
        plain, packed = both_ways(tmp_path, data)
    finally:
        _scan.CHUNK = original
    assert plain == expected
    assert packed == expected


def test_generated_log_has_events_other_rows_and_skips(tmp_path: Path) -> None:
    """Negative control for the fuzz test: the generator makes every kind of outcome."""
    fields = ("date", "time", "c-ip", "sc-status", "sc-substatus", "sc-win32-status", "x-403")
    rows = [
        "#Fields: " + " ".join(samples.IIS_DEFAULT_FIELDS),
        samples.iis_line(sc_status=403, sc_substatus=16, sc_win32_status=2148204809).strip(),
        samples.iis_line(sc_status=403, sc_substatus=0, sc_win32_status=5).strip(),
        samples.iis_line(time_taken=403).strip(),
        "junk 403 line",
        "#Fields: " + " ".join(fields),
        "2024-03-05 10:00:01 10.0.0.9 500 0 50 -",
    ]
    data = ("\r\n".join(rows) + "\r\n").encode()
    events, skipped, problems, other, _notes = reference(data)
    assert [(e.line, e.codes[0]) for e in events] == [(2, "iis:403.16"), (7, "iis:500.0")]
    assert other == {
        "IIS 403.0 rows (not a client-certificate failure)": 1,
        "IIS 200.0 rows (not a client-certificate failure)": 1,
    }
    assert skipped == 1 and problems == ["line 5: 3 values for 15 #Fields: junk 403 line"]
    assert both_ways(tmp_path, data) == (reference(data), reference(data))


def test_long_log_across_many_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of lines over hundreds of windows, fields changing mid-file, CRLF."""
    monkeypatch.setattr(_scan, "CHUNK", 1000)
    reordered = tuple(reversed(samples.IIS_DEFAULT_FIELDS))
    parts = [samples.iis_client_cert_failures(T0, 300, ok_between=5)]
    parts.append(samples.iis_header(reordered, T0))
    for i in range(300):
        parts.append(
            samples.iis_line(
                reordered,
                when=T0 + timedelta(seconds=i),
                sc_status=500,
                sc_substatus=0,
                sc_win32_status=50,
            )
        )
    data = "".join(parts).encode()
    expected = reference(data)
    assert len(expected[0]) == 600 and expected[0][-1].line == data.count(b"\n")
    assert both_ways(tmp_path, data) == (expected, expected)


@pytest.mark.parametrize("marks", [3, 500])
def test_hash_signs_inside_rows_and_directives_after_them(tmp_path: Path, marks: int) -> None:
    """``#`` in a row is no directive; past a few per window the automaton finds the rest."""
    row = samples.iis_line(cs_uri_stem="/a#b", cs_User_Agent="x#" * marks).strip()
    reordered = tuple(reversed(samples.IIS_DEFAULT_FIELDS))
    data = "\n".join(
        [
            "#Fields: " + " ".join(samples.IIS_DEFAULT_FIELDS),
            row,
            samples.iis_line(sc_status=403, sc_substatus=16, sc_win32_status=0).strip(),
            "#Fields: " + " ".join(reordered),
            samples.iis_line(reordered, sc_status=403, sc_substatus=7, sc_win32_status=5).strip(),
            "#Date: 2024-03-06 00:00:00",
            samples.iis_line(
                reordered,
                cs_uri_stem="/#",
                cs_User_Agent="#" * marks,
                sc_status=403,
                sc_substatus=14,
            ).strip(),
        ]
    ).encode()
    expected = reference(data)
    assert [e.line for e in expected[0]] == [3, 5]
    assert expected[3] == {"IIS 403.14 rows (not a client-certificate failure)": 1}
    assert both_ways(tmp_path, data) == (expected, expected)


def test_lines_with_nul_bytes_are_skipped_and_reported(tmp_path: Path) -> None:
    good = samples.iis_client_cert_failures(T0, 2)
    data = good.replace("GET", "G\x00T", 1).encode()
    for events, skipped, problems, _other, _notes in both_ways(tmp_path, data):
        assert [e.line for e in events] == [8, 12]
        assert skipped == 1 and "binary data" in problems[0]


def test_utf16_file_is_read_through_the_transcoder(tmp_path: Path) -> None:
    text = samples.iis_client_cert_failures(T0, 3)
    path = tmp_path / "u_ex.log"
    path.write_bytes(text.encode("utf-16"))
    events, *_ = fast(path)
    assert [e.line for e in events] == [8, 12, 16]
    assert fast(path) == reference(text.encode())


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class _Trickle(io.RawIOBase):
    """Standard input as a pipe delivers it: a few bytes per read."""

    def __init__(self, data: bytes, size: int) -> None:
        self._parts = _chunks(data, size)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        part = next(self._parts, b"")
        buffer[: len(part)] = part
        return len(part)


@pytest.mark.parametrize("size", [1, 7, 100])
def test_trickling_stream_reads_like_the_file(size: int) -> None:
    data = samples.iis_client_cert_failures(T0, 4).encode()
    stream, head, _note = open_text(_Trickle(data, size))  # type: ignore[arg-type]
    ctx = FileContext("log", head=head)
    events = list(iis.parse_w3c(stream, ctx))
    assert (events, ctx.skipped, [str(p) for p in ctx.problems], ctx.other, ctx.notes) == (
        reference(data)
    )


def test_log_event_init_behaves_as_the_dataclass_one() -> None:
    """LogEvent's one-update __init__: same values, equality, hashing, errors, immutability."""
    when = T0
    by_name = LogEvent(source="x", format="iis-w3c", time=when, line=5, codes=("iis:403.16",))
    by_position = LogEvent("x", "iis-w3c", when, 5, codes=("iis:403.16",))
    assert by_name == by_position and hash(by_name) == hash(by_position)
    assert by_name.offset is None and by_name.notes == () and by_name.raw == ""
    assert dataclasses.replace(by_name, line=6).line == 6
    assert pickle.loads(pickle.dumps(by_name)) == by_name
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_name.line = 7  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing required argument 'format'"):
        LogEvent(source="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'lines'"):
        LogEvent("x", "f", lines=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values for argument 'source'"):
        LogEvent("x", "f", source="y")  # type: ignore[misc]
    with pytest.raises(ValueError, match="timezone-aware"):
        LogEvent("x", "f", time=datetime(2024, 3, 5))


def test_reading_an_iis_log_loads_no_xml_zip_or_evtx_library(tmp_path: Path) -> None:
    """Start-up is part of every scan: the XML, zip and EVTX readers load only when needed."""
    path = tmp_path / "u_ex.log"
    path.write_text(samples.iis_client_cert_failures(T0, 2))
    code = (
        "import sys; from certgate.logs import read_events; "
        f"events, _ = read_events([{str(path)!r}]); assert len(events) == 2; "
        "print(sorted(m for m in ('lxml', 'zipfile', 'evtx', 'tempfile', 'html') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_damaged_zip_member_is_reported_not_raised(tmp_path: Path) -> None:
    """zipfile's error is caught although zipfile is imported only once a zip is opened."""
    path = tmp_path / "logs.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("u_ex.log", samples.iis_client_cert_failures(T0, 40))
    data = bytearray(path.read_bytes())
    data[data.index(b"Mozilla") + 3000] ^= 0xFF  # the member's data no longer matches its CRC
    path.write_bytes(bytes(data))
    scan = LogScan([path])
    list(scan)
    (result,) = scan.files
    assert result.error is not None and "CRC" in result.error


def test_caches_never_keep_long_values() -> None:
    """A hostile log's megabyte-long cells are read each time, not kept in the row caches."""
    from certgate.core import events

    long = "4" * 100_000
    before = (iis._judged.cache_info().currsize, iis._at.cache_info().currsize)
    addresses = events._cached_address.cache_info().currsize
    assert iis._judge(long, "16", "0") is None
    assert iis._time({"date": long, "time": "10:00:00"}, None) is None
    assert events.client_address("1" * 1000) is None
    assert iis._certificate_kinds("x-" * 1000 + "thumbprint") == ("thumbprint",)
    assert (iis._judged.cache_info().currsize, iis._at.cache_info().currsize) == before
    assert events._cached_address.cache_info().currsize == addresses
    assert iis._judge("403", "16", "2148204809") is not None  # short ones are judged as ever
