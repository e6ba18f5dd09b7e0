"""The event model, code mapping and summary: pure, no files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from OpenSSL._util import lib as openssl_lib

from certgate.core.codes import (
    HRESULTS,
    X509_V_ERRORS,
    hresult_from_low_word,
    x509_v_name,
)
from certgate.core.events import LogEvent, code_name, native_error_codes
from certgate.core.logsummary import SummaryBuilder, summarise

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def event(when: datetime | None, *codes: str, **fields: object) -> LogEvent:
    return LogEvent(source="a.log", format="iis-w3c", time=when, line=1, codes=codes, **fields)  # type: ignore[arg-type]


def test_low_word_0x109_is_untrusted_root_and_marked_inferred() -> None:
    value, codes, notes = native_error_codes("0x109")
    assert value == 0x800B0109
    assert codes == ("hresult:CERT_E_UNTRUSTEDROOT",)
    assert notes and notes[0].startswith("[inferred]")


def test_full_hresult_is_not_inferred() -> None:
    assert native_error_codes("0x800B0109") == (0x800B0109, ("hresult:CERT_E_UNTRUSTEDROOT",), ())


def test_unknown_or_ambiguous_low_word_maps_to_nothing() -> None:
    assert native_error_codes("0x7777") == (None, (), ())
    assert native_error_codes("zz") == (None, (), ())
    # 0x320 is the low word of both SEC_E_ and SEC_I_INCOMPLETE_CREDENTIALS: not a candidate.
    assert hresult_from_low_word(0x320) is None


def test_every_cert_and_trust_low_word_is_unambiguous() -> None:
    for name, value in HRESULTS.items():
        if name.startswith(("CERT_E_", "TRUST_E_")):
            assert hresult_from_low_word(value & 0xFFFF) == name


def test_openssl_table_matches_the_linked_openssl() -> None:
    checked = 0
    for name, number in X509_V_ERRORS.items():
        if hasattr(openssl_lib, name):
            assert getattr(openssl_lib, name) == number, name
            checked += 1
    assert checked >= 50
    assert x509_v_name(20) == "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
    assert x509_v_name(9999) is None


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("hresult:CERT_E_UNTRUSTEDROOT", "CERT_E_UNTRUSTEDROOT"),
        ("iis:403.16", "403.16"),
        ("wcf:HttpsClientCertificateInvalid", "HttpsClientCertificateInvalid"),
        ("tls-alert:48", "unknown_ca (48)"),
        ("schannel:36887", "Schannel event 36887"),
        ("capi2:11", "CAPI2 event 11"),
    ],
)
def test_code_names_are_meaningful_without_the_knowledge_base(code: str, name: str) -> None:
    assert code_name(code) == name


def test_event_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event(datetime(2024, 3, 5))


def test_event_location_and_json_shape() -> None:
    item = event(T0, "iis:403.16", status=403, substatus=16)
    data = item.to_dict()
    assert data["time"] == "2024-03-05T10:00:00Z"
    assert data["codes"] == ["iis:403.16"]
    assert data["location"] == "a.log:1"
    by_offset = LogEvent(source="t.svclog", format="svclog", offset=42)
    assert by_offset.location == "t.svclog@42"
    assert LogEvent(source="s.evtx", format="evtx", record=7).location == "s.evtx#7"


def test_summary_groups_first_last_and_meaning() -> None:
    events = [
        event(T0 + timedelta(minutes=5), "iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT"),
        event(T0, "iis:403.16", client_ip="10.0.0.9"),
        event(T0 + timedelta(minutes=9), "iis:403.7", client_ip="10.0.0.9"),
        event(None, "iis:403.16", subject="CN=a", thumbprint="AB"),
        event(T0, notes=("[inferred] x",)),
    ]
    summary = summarise(events, describe=lambda code: "meaning of " + code)
    first = summary.groups[0]
    assert (first.code, first.count, first.name) == ("iis:403.16", 3, "403.16")
    assert first.first.time == T0 and first.last.time == T0 + timedelta(minutes=5)
    assert first.meaning == "meaning of iis:403.16"
    assert [g.code for g in summary.groups] == [
        "iis:403.16",
        "hresult:CERT_E_UNTRUSTEDROOT",
        "iis:403.7",
    ]
    assert summary.first == T0 and summary.last == T0 + timedelta(minutes=9)
    assert (summary.events, summary.untimed, summary.uncoded) == (5, 1, 1)
    assert summary.client_ips == (("10.0.0.9", 2),)
    assert summary.subjects == (("CN=a", 1),) and summary.thumbprints == (("AB", 1),)
    assert summary.notes == ("[inferred] x",)
    assert sum(bucket.count for bucket in summary.histogram) == 4


def test_summary_without_describe_has_no_meaning() -> None:
    summary = summarise([event(T0, "iis:403.16")])
    assert summary.groups[0].meaning is None


def test_histogram_coarsens_over_long_ranges_and_fills_gaps() -> None:
    builder = SummaryBuilder()
    for day in range(0, 400, 3):
        builder.add(event(T0 + timedelta(days=day), "iis:403.16"))
    summary = builder.build()
    assert summary.bucket_seconds >= 7 * 86400
    assert sum(bucket.count for bucket in summary.histogram) == builder.events
    starts = [bucket.start for bucket in summary.histogram]
    assert all(b - a == timedelta(seconds=summary.bucket_seconds) for a, b in pairwise(starts))


def test_histogram_of_a_short_burst_is_per_minute() -> None:
    summary = summarise([event(T0 + timedelta(seconds=s), "iis:403.16") for s in range(0, 600, 7)])
    assert summary.bucket_seconds == 60
    assert len(summary.histogram) == 10


def test_log_format_registry_refuses_duplicates_bad_ids_and_missing_docs() -> None:
    from certgate.logs import FORMATS
    from certgate.logs._registry import log_format

    def parse(stream: object, ctx: object) -> object:
        """Doc."""
        return iter(())

    with pytest.raises(ValueError, match="registered twice"):
        log_format("svclog", detect=lambda head: False)(parse)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower-case"):
        log_format("Bad Id", detect=lambda head: False)
    undocumented = lambda stream, ctx: iter(())  # noqa: E731
    with pytest.raises(ValueError, match="docstring"):
        log_format("undocumented", detect=lambda head: False)(undocumented)
    assert "undocumented" not in FORMATS
    assert {f.title for f in FORMATS.values()} and all(f.description for f in FORMATS.values())
