"""Certificates known only from a listing: PowerShell ``Format-List``/``Format-Table`` output or
``certutil -store`` dumps, when the admin could not export the certificates themselves.

A listing gives names, a thumbprint and validity, but no signature, key or extensions: rules can
judge what the names and dates say, and must say what they could not check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["LOCAL_TIME_MARGIN", "ListedCertificate", "normalize_dn"]

# Listings print validity in the exporting machine's local time zone, which the listing does not
# name: a decision is only made when it holds across every zone (UTC-12 to UTC+14).
LOCAL_TIME_MARGIN = timedelta(hours=14)

_RDN_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')


def normalize_dn(text: str) -> tuple[str, ...]:
    """``CN=Root CA, O=Contoso`` -> ``("cn=root ca", "o=contoso")``: Windows display order kept,
    spacing and case folded, commas inside quotes respected."""
    parts = (p.strip() for p in _RDN_SPLIT.split(text))
    return tuple(" ".join(p.split()).casefold() for p in parts if p)


@dataclass(frozen=True)
class ListedCertificate:
    """One certificate as a listing shows it. Fields a listing did not show are ``None``."""

    store: str
    thumbprint: str | None  # SHA-1, upper-case hex as Windows shows it
    subject: str | None
    issuer: str | None
    not_before: datetime | None = None  # the exporter's local time, read as UTC
    not_after: datetime | None = None
    friendly_name: str | None = None
    serial: str | None = None
    source: str = ""  # "Root.txt:12"
    listing: str = ""  # "Format-List", "Format-Table", "certutil -store"
    truncated: tuple[str, ...] = ()  # fields Format-Table cut short ("Subject", ...)
    certutil_says: tuple[str, ...] = ()  # "Signature matches Public Key", "Non-root Certificate"

    @property
    def label(self) -> str:
        name = self.subject or self.friendly_name or "(no subject shown)"
        return f"{name} [{self.thumbprint or 'no thumbprint'}]"

    @property
    def names_self_issued(self) -> bool | None:
        """Subject equals Issuer as printed; None when either is missing or cut short."""
        if self.subject is None or self.issuer is None:
            return None
        if {"Subject", "Issuer"} & set(self.truncated):
            return None
        return normalize_dn(self.subject) == normalize_dn(self.issuer)

    def expired_at(self, at: datetime) -> bool | None:
        """True/False when the answer holds in every time zone; None when it cannot be told."""
        if self.not_after is None:
            return None
        if self.not_after + LOCAL_TIME_MARGIN < at:
            return True
        if self.not_after - LOCAL_TIME_MARGIN > at:
            return False
        return None

    def not_yet_valid_at(self, at: datetime) -> bool | None:
        if self.not_before is None:
            return None
        if self.not_before - LOCAL_TIME_MARGIN > at:
            return True
        if self.not_before + LOCAL_TIME_MARGIN < at:
            return False
        return None
