"""One typed change to a machine: each value is checked once, when it is built, and knows how
to apply itself to a copy of a machine (``apply(machine) -> machine``).

``--what-if`` strings (parsed in ``core.whatif``) and the doctor's fixes build these
values; nothing renders a change to a string to parse it again. ``str(change)`` is the
``--what-if`` key that reproduces it (or the spelling the user typed), for reports.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import ClassVar

from certgate.core.settings import SchannelSettings, Setting, SslBinding
from certgate.core.stores import Machine, canonical_store_name

__all__ = [
    "CHANGE_KEYS",
    "TRUST_MODES",
    "Change",
    "ChangeError",
    "MoveCertificate",
    "RemoveCertificate",
    "SetCertCheckMode",
    "SetCtlStore",
    "SetSendIssuerList",
    "SetTrustMode",
    "thumbprint",
]

TRUST_MODES = (0, 1, 2)
_SHA1 = re.compile(r"[0-9A-F]{40}")


def thumbprint(text: str) -> str:
    """A SHA-1 thumbprint as 40 upper-case hex digits (colons and spaces dropped)."""
    return text.replace(":", "").replace(" ", "").upper()


class ChangeError(ValueError):
    """A change that cannot be built: ``problem`` reads after any name for the setting."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key} {problem}")
        self.problem = problem


@dataclass(frozen=True)
class _Change(ABC):
    key: ClassVar[str]
    # How the user spelled it (``--what-if`` text), shown in reports; not part of the value.
    spelling: str = field(default="", kw_only=True, compare=False, repr=False)
    # Where the setting comes from (``--trust-mode``, ``policy [trust]``); default the key.
    origin: str = field(default="", kw_only=True, compare=False, repr=False)

    def __str__(self) -> str:
        return self.spelling or f"{self.key}={self._value()}"

    @abstractmethod
    def _value(self) -> str:
        """The value as the what-if key spells it."""

    def _source(self) -> str:
        return self.origin or f"--what-if {self}"


@dataclass(frozen=True)
class SetTrustMode(_Change):
    """Schannel ``ClientAuthTrustMode``: 0 machine trust, 1 exclusive root, 2 exclusive CA."""

    key: ClassVar[str] = "trust-mode"
    mode: int

    def __post_init__(self) -> None:
        if type(self.mode) is not int or self.mode not in TRUST_MODES:
            raise ChangeError(self.key, f"must be 0, 1 or 2, not {self.mode!r}")

    def _value(self) -> str:
        return str(self.mode)

    def schannel(self, settings: SchannelSettings) -> SchannelSettings:
        return settings.with_trust_mode(self.mode, self._source())

    def apply(self, machine: Machine) -> Machine:
        return machine.with_schannel(self.schannel(machine.schannel))


@dataclass(frozen=True)
class SetSendIssuerList(_Change):
    """Schannel ``SendTrustedIssuerList``."""

    key: ClassVar[str] = "send-issuer-list"
    send: bool | int  # a bool, or the registry DWORD 0 or 1

    def __post_init__(self) -> None:
        if type(self.send) not in (bool, int) or self.send not in (0, 1):
            raise ChangeError(self.key, f"must be 0 or 1, not {self.send!r}")
        object.__setattr__(self, "send", bool(self.send))

    def _value(self) -> str:
        return "1" if self.send else "0"

    def schannel(self, settings: SchannelSettings) -> SchannelSettings:
        return settings.with_send_issuer_list(bool(self.send), self._source())

    def apply(self, machine: Machine) -> Machine:
        return machine.with_schannel(self.schannel(machine.schannel))


@dataclass(frozen=True)
class MoveCertificate(_Change):
    """Move one certificate (by SHA-1) from ``source`` to ``target`` (the KB 2802568 fix)."""

    key: ClassVar[str] = "move"
    sha1: str
    source: str
    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha1", _checked_sha1(self.key, self.sha1))
        for store in (self.source, self.target):
            canonical_store_name(store)

    def _value(self) -> str:
        return f"{self.sha1}:{self.source}:{self.target}"

    def apply(self, machine: Machine) -> Machine:
        return machine.moving(self.sha1, self.source, self.target)


@dataclass(frozen=True)
class RemoveCertificate(_Change):
    """Delete one certificate (by SHA-1) from ``store``."""

    key: ClassVar[str] = "remove"
    sha1: str
    store: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha1", _checked_sha1(self.key, self.sha1))
        canonical_store_name(self.store)

    def _value(self) -> str:
        return f"{self.sha1}:{self.store}"

    def apply(self, machine: Machine) -> Machine:
        store = machine.store(self.store)
        if not store.find(self.sha1):
            raise ValueError(f"no certificate {self.sha1} in store {store.name}")
        return machine.with_store(store.without(self.sha1))


@dataclass(frozen=True)
class SetCtlStore(_Change):
    """The first binding's ``SslCtlStoreName``; None removes it."""

    key: ClassVar[str] = "ctl-store"
    store: str | None

    def __post_init__(self) -> None:
        if self.store is not None:
            canonical_store_name(self.store)

    def _value(self) -> str:
        return self.store or "none"

    def binding(self, binding: SslBinding) -> SslBinding:
        name = None if self.store is None else canonical_store_name(self.store)
        return replace(binding, ctl_store_name=Setting(name, self._source()))

    def apply(self, machine: Machine) -> Machine:
        return machine.with_bindings((self.binding(machine.binding), *machine.bindings[1:]))


@dataclass(frozen=True)
class SetCertCheckMode(_Change):
    """The first binding's ``DefaultCertCheckMode`` (a bit set in a REG_DWORD)."""

    key: ClassVar[str] = "cert-check-mode"
    mode: int

    def __post_init__(self) -> None:
        if type(self.mode) is not int or not 0 <= self.mode <= 0xFFFFFFFF:
            raise ChangeError(self.key, f"must be a 32-bit unsigned integer, not {self.mode!r}")

    def _value(self) -> str:
        return str(self.mode)

    def binding(self, binding: SslBinding) -> SslBinding:
        return replace(binding, cert_check_mode=Setting(self.mode, self._source()))

    def apply(self, machine: Machine) -> Machine:
        return machine.with_bindings((self.binding(machine.binding), *machine.bindings[1:]))


Change = (
    SetTrustMode
    | SetSendIssuerList
    | MoveCertificate
    | RemoveCertificate
    | SetCtlStore
    | SetCertCheckMode
)
CHANGE_KEYS: tuple[str, ...] = tuple(
    c.key
    for c in (
        SetTrustMode,
        SetSendIssuerList,
        MoveCertificate,
        RemoveCertificate,
        SetCtlStore,
        SetCertCheckMode,
    )
)


def _checked_sha1(key: str, text: str) -> str:
    sha1 = thumbprint(text)
    if not _SHA1.fullmatch(sha1):
        raise ValueError(f"{key}: {text!r} is not a SHA-1 thumbprint (40 hex digits)")
    return sha1
