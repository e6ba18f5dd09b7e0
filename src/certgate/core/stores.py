"""Windows' named certificate stores and the Machine that holds them.

Store names follow the LocalMachine system store names (``Cert:\\LocalMachine\\<name>``).
Windows compares them case-insensitively; so do we, and we print the canonical spelling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from certgate.core._cache import cached
from certgate.core.iis import IisConfig
from certgate.core.listing import ListedCertificate
from certgate.core.model import Certificate
from certgate.core.paths import CertIndex
from certgate.core.physical import PhysicalOrigin, PhysicalStores
from certgate.core.settings import SchannelSettings, Setting, SslBinding
from certgate.core.storenames import (
    AUTH_ROOT,
    CA,
    CLIENT_AUTH_ISSUER,
    DISALLOWED,
    MY,
    ROOT,
    canonical_store_name,
)
from certgate.core.winver import WindowsVersion

__all__ = [
    "AUTH_ROOT",
    "CA",
    "CLIENT_AUTH_ISSUER",
    "DISALLOWED",
    "MY",
    "ROOT",
    "Machine",
    "Store",
    "canonical_store_name",
]

T = TypeVar("T")
_DERIVED = "_derived"  # Machine.__dict__ key of the per-machine cache
_DERIVED_LOCK = threading.Lock()


@dataclass(frozen=True)
class Store:
    """A named store: an ordered, duplicate-preserving tuple of certificates."""

    name: str
    certificates: tuple[Certificate, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", canonical_store_name(self.name))

    def __iter__(self) -> Iterator[Certificate]:
        return iter(self.certificates)

    def __len__(self) -> int:
        return len(self.certificates)

    def __contains__(self, cert: object) -> bool:
        return cert in self.index

    @cached
    def index(self) -> CertIndex:
        """The certificates by subject, built on first use and kept: a store is immutable."""
        return CertIndex(self.certificates)

    def find(self, sha1: str) -> list[Certificate]:
        wanted = sha1.replace(" ", "").replace(":", "").upper()
        return [c for c in self.certificates if c.sha1 == wanted]

    def adding(self, certs: Iterable[Certificate]) -> Store:
        return replace(self, certificates=self.certificates + tuple(certs))

    def without(self, sha1: str) -> Store:
        wanted = sha1.replace(" ", "").replace(":", "").upper()
        return replace(self, certificates=tuple(c for c in self if c.sha1 != wanted))


@dataclass(frozen=True)
class Machine:
    """A Windows machine as far as client-certificate trust goes: stores, settings, bindings.

    A store absent from ``stores`` is *unknown* (nobody exported it), which is different from
    a store known to be empty; ``store()`` returns an empty store for both, ``knows()`` tells.
    Certificates known only from a listing (no DER) are in ``listed``, not in ``stores``.
    ``bindings_source`` is None when nobody exported the HTTP.sys bindings (unknown, which is
    different from an export with no binding); ``iis`` is None when no IIS configuration was read.
    """

    stores: tuple[Store, ...] = ()
    schannel: SchannelSettings = field(default_factory=SchannelSettings)
    bindings: tuple[SslBinding, ...] = ()
    notes: tuple[str, ...] = ()
    listed: tuple[ListedCertificate, ...] = ()
    iis: IisConfig | None = None
    bindings_source: str | None = None
    physical: PhysicalStores | None = None  # None: the bundle did not record physical stores
    # The Windows version (docs/windows-model.md#os-version); value None: unknown.
    os_version: Setting[WindowsVersion | None] = field(default_factory=lambda: Setting(None))

    def __post_init__(self) -> None:
        names = [s.name for s in self.stores]
        if len(names) != len(set(names)):
            merged: dict[str, Store] = {}
            for s in self.stores:
                merged[s.name] = merged[s.name].adding(s) if s.name in merged else s
            object.__setattr__(self, "stores", tuple(merged.values()))

    def derived(self, key: Hashable, build: Callable[[Machine], T]) -> T:
        """``build(self)``, computed once per machine and kept (a machine is immutable).

        Engines keep what they derive from the stores here (anchors, issuer lists, OpenSSL
        stores), so a verification costs the same whatever the stores hold. ``key`` names the
        value; the same key must always be built by the same function.
        """
        memo: dict[Hashable, Any] | None = self.__dict__.get(_DERIVED)
        if memo is None:
            with _DERIVED_LOCK:
                memo = self.__dict__.setdefault(_DERIVED, {})
        try:
            value: T = memo[key]
        except KeyError:
            value = memo.setdefault(key, build(self))
        return value

    def knows(self, name: str) -> bool:
        wanted = canonical_store_name(name)
        return any(s.name == wanted for s in self.stores)

    def store(self, name: str) -> Store:
        wanted = canonical_store_name(name)
        for s in self.stores:
            if s.name == wanted:
                return s
        return Store(wanted)

    @property
    def binding(self) -> SslBinding:
        """The binding being judged: the first one known, else HTTP.sys defaults."""
        return self.bindings[0] if self.bindings else SslBinding()

    def with_store(self, store: Store) -> Machine:
        others = tuple(s for s in self.stores if s.name != store.name)
        return replace(self, stores=(*others, store))

    def adding(self, store_name: str, certs: Iterable[Certificate]) -> Machine:
        return self.with_store(self.store(store_name).adding(certs))

    def moving(self, sha1: str, source: str, target: str) -> Machine:
        """The machine after moving a certificate between stores (the KB 2802568 fix)."""
        moved = self.store(source).find(sha1)
        if not moved:
            raise ValueError(f"no certificate with thumbprint {sha1} in store {source}")
        machine = self.with_store(self.store(source).without(sha1))
        target_store = machine.store(target)
        if moved[0] not in target_store:
            machine = machine.with_store(target_store.adding(moved[:1]))
        return machine

    def with_schannel(self, schannel: SchannelSettings) -> Machine:
        return replace(self, schannel=schannel)

    def with_bindings(self, bindings: tuple[SslBinding, ...], source: str | None = None) -> Machine:
        return replace(self, bindings=bindings, bindings_source=source or self.bindings_source)

    def listed_in(self, name: str) -> tuple[ListedCertificate, ...]:
        wanted = canonical_store_name(name)
        return tuple(c for c in self.listed if c.store == wanted)

    def listed_store_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.store for c in self.listed))

    def with_listed(self, listed: Iterable[ListedCertificate]) -> Machine:
        return replace(self, listed=self.listed + tuple(listed))

    def with_iis(self, iis: IisConfig | None) -> Machine:
        return replace(self, iis=iis)

    def with_os_version(self, version: WindowsVersion | None, source: str) -> Machine:
        return replace(self, os_version=Setting(version, source))

    def origin(self, store: str, sha1: str) -> PhysicalOrigin:
        """Which physical store(s) ``sha1`` in ``store`` sits in (``known`` False if unrecorded)."""
        if self.physical is None:
            return PhysicalOrigin(canonical_store_name(store), sha1.upper(), known=False)
        return self.physical.origin(store, sha1)

    def noting(self, *notes: str) -> Machine:
        return replace(self, notes=self.notes + tuple(n for n in notes if n not in self.notes))
