"""Where a certificate of a logical store comes from: its physical store(s).

``Cert:\\LocalMachine\\Root`` is a collection of physical stores opened together (Microsoft,
"System Store Locations", learn.microsoft.com/windows/win32/seccrypto/system-store-locations):
the machine's own registry store (``.Default``), Group Policy (``.GroupPolicy``), Active
Directory's enterprise store (``.Enterprise``) and, for Root only, the third-party roots
(``.AuthRoot``) and smart-card roots (``.SmartCard``). Each lives under its own registry key,
one sub-key per certificate named by its SHA-1 thumbprint (``PHYSICAL_STORE_KEYS``).

Why it matters: a certificate that Group Policy puts into Root comes back at the next policy
refresh after any local move or delete (TechNet cc783813: "added to the Trusted Root
Certification Authorities store of all computers within the scope of Group Policy the next time
it is refreshed"), so the fix belongs in the GPO. See docs/physical-stores.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from certgate.core.storenames import CA, CLIENT_AUTH_ISSUER, ROOT, canonical_store_name

__all__ = [
    "COLLECTED_STORES",
    "GPO_PATHS",
    "PHYSICAL_STORE_KEYS",
    "PhysicalOrigin",
    "PhysicalStore",
    "PhysicalStores",
]


class PhysicalStore(StrEnum):
    """A physical store of a LocalMachine system store (the Windows name in the comment)."""

    REGISTRY = "registry"  # .Default: set on this machine (certlm.msc, Import-Certificate)
    GROUP_POLICY = "group-policy"  # .GroupPolicy: delivered by a GPO
    ENTERPRISE = "enterprise"  # .Enterprise: published in Active Directory
    AUTH_ROOT = "auth-root"  # .AuthRoot: third-party roots (Windows root update)
    SMART_CARD = "smart-card"  # .SmartCard: smart-card roots


# The logical stores whose origin the collectors record.
COLLECTED_STORES = (ROOT, CA, CLIENT_AUTH_ISSUER)

_HKLM = "HKEY_LOCAL_MACHINE\\SOFTWARE"


def _key(physical: PhysicalStore, store: str) -> str | None:
    """The registry key (under HKLM) holding ``store``'s certificates in ``physical``."""
    if physical is PhysicalStore.REGISTRY:
        return f"{_HKLM}\\Microsoft\\SystemCertificates\\{store}\\Certificates"
    if physical is PhysicalStore.GROUP_POLICY:
        return f"{_HKLM}\\Policies\\Microsoft\\SystemCertificates\\{store}\\Certificates"
    if physical is PhysicalStore.ENTERPRISE:
        return f"{_HKLM}\\Microsoft\\EnterpriseCertificates\\{store}\\Certificates"
    if store != ROOT:
        return None
    if physical is PhysicalStore.AUTH_ROOT:
        return f"{_HKLM}\\Microsoft\\SystemCertificates\\AuthRoot\\Certificates"
    return f"{_HKLM}\\Microsoft\\SystemCertificates\\SmartCardRoot\\Certificates"


PHYSICAL_STORE_KEYS: Mapping[tuple[str, PhysicalStore], str] = {
    (store, physical): key
    for store in COLLECTED_STORES
    for physical in PhysicalStore
    if (key := _key(physical, store)) is not None
}

# Group Policy Management Editor: where a GPO keeps the certificates of each logical store.
_PKP = (
    "Computer Configuration / Policies / Windows Settings / Security Settings / Public Key Policies"
)
GPO_PATHS: Mapping[str, str] = {
    ROOT: f"{_PKP} / Trusted Root Certification Authorities",
    CA: f"{_PKP} / Intermediate Certification Authorities",
    CLIENT_AUTH_ISSUER: f"{_PKP} / Client Authentication Issuers",
}


@dataclass(frozen=True)
class PhysicalOrigin:
    """The physical stores a certificate of a logical store sits in; ``known`` is False for a
    bundle that did not record it (an older bundle, or a store the collector did not look at)."""

    store: str
    sha1: str
    physical: tuple[PhysicalStore, ...] = ()
    known: bool = True

    @property
    def from_group_policy(self) -> bool:
        return PhysicalStore.GROUP_POLICY in self.physical

    @property
    def from_enterprise(self) -> bool:
        return PhysicalStore.ENTERPRISE in self.physical

    @property
    def local(self) -> bool:
        return PhysicalStore.REGISTRY in self.physical

    def label(self) -> str:
        if not self.known:
            return "origin unknown"
        if not self.physical:
            return "in no physical store recorded"
        return ", ".join(p.value for p in self.physical)


@dataclass(frozen=True)
class PhysicalStores:
    """What a collector recorded: for each collected logical store, the physical stores of
    every certificate in it. ``stores`` lists the logical stores examined."""

    stores: tuple[str, ...] = ()
    entries: Mapping[tuple[str, str], tuple[PhysicalStore, ...]] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def build(
        cls,
        stores: Iterable[str],
        entries: Iterable[tuple[str, str, Iterable[PhysicalStore]]],
        source: str = "",
    ) -> PhysicalStores:
        merged: dict[tuple[str, str], set[PhysicalStore]] = {}
        for store, sha1, physical in entries:
            key = (canonical_store_name(store), _thumbprint(sha1))
            merged.setdefault(key, set()).update(physical)
        ordered = {k: tuple(p for p in PhysicalStore if p in v) for k, v in merged.items()}
        names = tuple(dict.fromkeys(canonical_store_name(s) for s in stores))
        return cls(names, ordered, source)

    def origin(self, store: str, sha1: str) -> PhysicalOrigin:
        name, thumbprint = canonical_store_name(store), _thumbprint(sha1)
        if name not in self.stores:
            return PhysicalOrigin(name, thumbprint, known=False)
        return PhysicalOrigin(name, thumbprint, self.entries.get((name, thumbprint), ()))


def _thumbprint(text: str) -> str:
    return text.replace(" ", "").replace(":", "").upper()
