"""Hypothesis fuzzing of every log parser: damaged input is reported or ignored, never a crash."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgate.core.events import LogEvent
from certgate.errors import InputError
from certgate.logs import FORMATS
from certgate.logs._io import open_text
from certgate.logs._registry import FileContext
from certgate.logs.winevent import EVTX_MAGIC
from certgate.testing import logs as samples

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)

SEEDS: dict[str, bytes] = {
    "svclog": (samples.svclog_cert_invalid(T0) + samples.svclog_security_fault(T0)).encode(),
    "iis-w3c": samples.iis_client_cert_failures(T0, 2).encode(),
    "freb": samples.freb_file(T0).encode(),
    "iis-pasted": (
        b"IIS log:\r\nPOST /CertificateRegistrationSvc/Certificate/Verify - 443 -<IP_address>"
        b"\r\nNDES_Plugin - 403 16 2148204809 453\r\n<pre>... 403 13 2148081683 ...</pre>\r\n"
    ),
    "httperr": samples.httperr_log([(T0, "10.0.0.9", 0, "SslHandshakeFailed")]).encode(),
    "windows-events-xml": (
        samples.schannel_event(T0, 36887, alert=48) + samples.capi2_chain_event(T0)
    ).encode(),
    "sysnet": samples.sysnet_client_certificate(T0, "CN=client01").encode(),
    "nginx": samples.nginx_error_line(
        T0, "client SSL certificate verify error: (20:unable to get local issuer certificate)"
    ).encode(),
    "apache": samples.apache_error_line(
        T0, "AH02039: Certificate Verification: Error (20): unable to get local issuer certificate"
    ).encode(),
    "evtx": samples.evtx_file(
        [samples.schannel_event(T0, 36887, alert=48), samples.capi2_chain_event(T0, record_id=2)]
    ),
}


def test_every_format_has_a_fuzz_seed() -> None:
    assert set(SEEDS) == set(FORMATS)


def run(format_id: str, data: bytes) -> tuple[list[LogEvent], FileContext]:
    stream, head, _note = open_text(io.BytesIO(data))
    ctx = FileContext("fuzz", head=head)
    try:
        events = list(FORMATS[format_id].parse(stream, ctx))
    except InputError:
        events = []
    for event in events:
        assert event.format in FORMATS and event.source == "fuzz"
        assert event.time is None or event.time.tzinfo is not None
        assert all(":" in code for code in event.codes)
    return events, ctx


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        position = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["insert", "delete", "truncate", "flip"]))
        if action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=20))
        elif action == "delete":
            del data[position : position + draw(st.integers(min_value=1, max_value=40))]
        elif action == "truncate":
            del data[position:]
        elif data:
            data[min(position, len(data) - 1)] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("format_id", sorted(SEEDS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parser_survives_mutations(format_id: str, data: st.DataObject) -> None:
    run(format_id, data.draw(mutated(SEEDS[format_id])))


@pytest.mark.parametrize("format_id", sorted(SEEDS))
@settings(max_examples=40, deadline=None)
@given(blob=st.binary(max_size=600))
def test_parser_survives_random_bytes(format_id: str, blob: bytes) -> None:
    run(format_id, blob)


def test_evtx_magic_with_garbage_is_refused() -> None:
    events, _ctx = run("evtx", EVTX_MAGIC + bytes(5000))
    assert events == []


@pytest.mark.parametrize("format_id", sorted(SEEDS))
def test_unmutated_seed_yields_events(format_id: str) -> None:
    """Negative control for the fuzz tests: the seeds themselves are valid input."""
    events, ctx = run(format_id, SEEDS[format_id])
    assert events and ctx.skipped == 0
