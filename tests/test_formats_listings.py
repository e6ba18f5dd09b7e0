"""Listings: Format-List *, Format-Table, certutil -store; dates in several cultures."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.model import Certificate
from certgate.errors import InputError
from certgate.formats.listings import looks_like_listing, parse_listing
from certgate.testing import PKI
from certgate.testing.listings import certutil_store, format_list, format_table


@pytest.fixture
def chain(pki: PKI) -> tuple[Certificate, Certificate]:
    root = pki.root("Contoso Root CA")
    return root.certificate, root.intermediate("Contoso Issuing CA").certificate


def _minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def test_format_list_utf16_identifies_each_certificate(chain: tuple[Certificate, ...]) -> None:
    root, issuing = chain
    data = format_list([root, issuing]).encode("utf-16")  # PowerShell 5.1 `>` writes UTF-16LE
    listing = parse_listing(data, "Root.txt")
    assert listing.kind == "Format-List" and listing.recovered == ()
    first, second = listing.listed
    assert (first.store, first.thumbprint, first.subject) == ("Root", root.sha1, str(root.subject))
    assert first.not_after == root.not_after and first.not_before == root.not_before
    assert first.names_self_issued is True
    assert second.issuer == str(issuing.issuer) and second.names_self_issued is False
    assert first.source == "Root.txt:2" and second.source.startswith("Root.txt:")


def test_wrapped_values_are_joined(pki: PKI) -> None:
    long_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso Pharmaceuticals, Ltd."),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Client Authentication Services"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Very Long Issuing CA 2024"),
        ]
    )
    cert = pki.root(long_name).certificate
    listing = parse_listing(format_list([cert], width=60).encode(), "x.txt")
    assert listing.listed[0].subject == str(cert.subject)


def test_full_rawdata_recovers_the_certificate(chain: tuple[Certificate, ...]) -> None:
    root, _ = chain
    listing = parse_listing(format_list([root], full_rawdata=True).encode(), "x.txt")
    assert listing.listed == ()
    ((store, cert),) = listing.recovered
    assert store == "Root" and cert == root


def test_rawdata_that_disagrees_with_the_thumbprint_is_not_trusted(
    chain: tuple[Certificate, ...],
) -> None:
    root, issuing = chain
    text = format_list([root], full_rawdata=True).replace(root.sha1, issuing.sha1)
    listing = parse_listing(text.encode(), "x.txt")
    assert listing.recovered == () and listing.listed[0].thumbprint == issuing.sha1
    assert "differs from Thumbprint" in listing.warnings[0].message


def test_store_comes_from_ps_parent_path_else_file_name(chain: tuple[Certificate, ...]) -> None:
    root, _ = chain
    assert (
        parse_listing(format_list([root], "CA").encode(), "x.txt", "Root").listed[0].store == "CA"
    )
    no_parent = format_list([root], parent=False).encode()
    assert parse_listing(no_parent, "Root.txt", "Root").listed[0].store == "Root"
    with pytest.raises(InputError, match="does not say which store"):
        parse_listing(no_parent, "listing.txt")


def test_current_user_records_are_skipped(chain: tuple[Certificate, ...]) -> None:
    root, issuing = chain
    text = format_list([root]) + format_list([issuing]).replace("LocalMachine", "CurrentUser")
    listing = parse_listing(text.encode(), "x.txt")
    assert [c.thumbprint for c in listing.listed] == [root.sha1]
    assert "CurrentUser store skipped" in listing.warnings[0].message


@pytest.mark.parametrize("culture", ["en-US", "en-GB", "de-DE", "iso"])
def test_format_table_with_dates(pki: PKI, culture: str) -> None:
    early = datetime(2024, 1, 20, 15, 30, 5, tzinfo=UTC)  # day 20 fixes the en-GB order
    cert = pki.root("Dated Root", not_before=early, not_after=datetime(2034, 3, 4, 8, tzinfo=UTC))
    columns = ("Thumbprint", "Subject", "Issuer", "NotBefore", "NotAfter")
    text = format_table([cert.certificate], columns=columns, culture=culture)
    (listed,) = parse_listing(text.encode(), "Root.txt").listed
    assert listed.thumbprint == cert.sha1 and listed.store == "Root"
    assert listed.not_before == early
    assert listed.not_after == datetime(2034, 3, 4, 8, 0, tzinfo=UTC)


def test_ambiguous_day_month_without_evidence_stays_unknown(pki: PKI) -> None:
    start, end = datetime(2024, 3, 4, tzinfo=UTC), datetime(2030, 5, 6, tzinfo=UTC)
    cert = pki.root("Ambiguous", not_before=start, not_after=end)
    columns = ("Thumbprint", "NotAfter", "NotBefore")
    text = format_table([cert.certificate], columns=columns, culture="en-GB")
    listing = parse_listing(text.encode(), "Root.txt")
    assert listing.listed[0].not_after is None
    assert "validity unknown" in listing.warnings[0].message


def test_truncated_table_cells_are_not_compared(chain: tuple[Certificate, ...]) -> None:
    root, issuing = chain
    text = format_table(
        [root, issuing], columns=("Thumbprint", "Subject", "Issuer"), truncate_at=20
    )
    listed = parse_listing(text.encode(), "Root.txt").listed
    assert all(c.names_self_issued is None for c in listed)
    assert listed[0].truncated == ("Subject", "Issuer")


def test_certutil_store_dump(chain: tuple[Certificate, ...]) -> None:
    root, issuing = chain
    listing = parse_listing(certutil_store([root, issuing]).encode(), "dump.txt")
    assert listing.kind == "certutil -store"
    first, second = listing.listed
    assert first.store == "Root" and first.thumbprint == root.sha1
    assert first.certutil_says == (
        "Signature matches Public Key",
        "Root Certificate: Subject matches Issuer",
    )
    assert second.certutil_says == ("Non-root Certificate",)
    assert second.names_self_issued is False
    assert first.not_after == _minute(root.not_after)
    assert first.serial == root.serial_hex.lower()


def test_certutil_failure_is_reported() -> None:
    text = (
        'Root "Trusted Root Certification Authorities"\r\n'
        "CertUtil: -store command FAILED: 0x80070002\r\n"
    )
    with pytest.raises(InputError, match="certutil reported"):
        parse_listing(text.encode(), "dump.txt")


def test_text_without_certificates_is_refused() -> None:
    with pytest.raises(InputError, match="no certificate found"):
        parse_listing(b"Name : value\r\nOther : thing\r\n", "Root.txt", "Root")


def test_detection(chain: tuple[Certificate, ...]) -> None:
    root, _ = chain
    assert looks_like_listing(format_list([root]))
    assert looks_like_listing(certutil_store([root]))
    assert looks_like_listing(format_table([root]))
    assert not looks_like_listing("SSL Certificate bindings:\r\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_fuzz_listing(text: str) -> None:
    with contextlib.suppress(InputError):
        parse_listing(text.encode("utf-8", "surrogatepass"), "fuzz.txt", "Root")


_ROWS = st.sampled_from(
    [
        "Thumbprint   : 00112233445566778899AABBCCDDEEFF00112233",
        "Subject      : CN=a, O=b",
        "Issuer       : CN=a",
        "NotAfter     : 13/13/2020 25:61:00",
        "NotBefore    : 2/3/2020 4:05:06 PM",
        "RawData      : {48, 130, 1}",
        "PSParentPath : Microsoft.PowerShell.Security\\Certificate::LocalMachine\\??",
        "  continued",
        "",
        "================ Certificate 0 ================",
        "Cert Hash(sha1): 00 11",
        "Thumbprint Subject",
        "---------- -------",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ROWS, max_size=30))
def test_fuzz_listing_rows(rows: list[str]) -> None:
    with contextlib.suppress(InputError):
        parse_listing("\r\n".join(rows).encode(), "fuzz.txt", "Root")
