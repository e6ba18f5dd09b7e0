"""The names of Windows' certificate stores, as Windows compares them (case-insensitively)
and as certgate prints them (the canonical spelling). Kept apart from ``stores`` so that
``physical`` can use them without importing the Machine."""

from __future__ import annotations

import re

__all__ = [
    "AUTH_ROOT",
    "CA",
    "CLIENT_AUTH_ISSUER",
    "DISALLOWED",
    "MY",
    "ROOT",
    "canonical_store_name",
]

ROOT = "Root"
CA = "CA"
CLIENT_AUTH_ISSUER = "ClientAuthIssuer"
DISALLOWED = "Disallowed"
MY = "My"
AUTH_ROOT = "AuthRoot"

_SYSTEM_STORES: tuple[str, ...] = (
    ROOT,
    CA,
    CLIENT_AUTH_ISSUER,
    DISALLOWED,
    MY,
    AUTH_ROOT,
    "TrustedPeople",
)
_SYSTEM_STORES += ("TrustedPublisher", "Remote Desktop", "WebHosting", "SmartCardRoot")
_WELL_KNOWN = {name.casefold(): name for name in _SYSTEM_STORES}
# Display names (certlm.msc, PowerShell -Path) people type instead of the system name.
_ALIASES = {
    "trusted root certification authorities": ROOT,
    "trustedroot": ROOT,
    "intermediate": CA,
    "intermediate certification authorities": CA,
    "intermediateca": CA,
    "client authentication issuers": CLIENT_AUTH_ISSUER,
    "untrusted certificates": DISALLOWED,
    "untrusted": DISALLOWED,
    "personal": MY,
    "third-party root certification authorities": AUTH_ROOT,
}
_VALID_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")


def canonical_store_name(name: str) -> str:
    """``root`` -> ``Root``, ``Intermediate`` -> ``CA``; custom CTL store names kept as given."""
    cleaned = name.strip()
    if cleaned.lower().startswith("cert:\\localmachine\\"):
        cleaned = cleaned[len("cert:\\localmachine\\") :]
    folded = cleaned.casefold()
    if folded in _WELL_KNOWN:
        return _WELL_KNOWN[folded]
    if folded in _ALIASES:
        return _ALIASES[folded]
    if not _VALID_NAME.match(cleaned):
        raise ValueError(f"{name!r} is not a certificate store name")
    return cleaned
