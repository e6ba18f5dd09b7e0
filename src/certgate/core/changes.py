"""One typed change to a machine: each value is checked once, when it is built, and knows how
to apply itself to a copy of a machine (``apply(machine) -> machine``).

``--what-if`` strings (parsed in ``core.whatif``) and the doctor's fixes build these
values; nothing renders a change to a string to parse it again. ``str(change)`` is the
``--what-if`` key that reproduces it (or the spelling the user typed), for reports.
``Change`` is the changes that have such a key; ``MachineChange`` adds the ones only the
doctor's fixes make (import certificates, update a binding's switches, move an IIS mapping
section), which ``--what-if`` has no key for.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import ClassVar

from certgate.core.model import Certificate
from certgate.core.settings import (
    CERT_CHECK_CACHED_REVOCATION,
    CERT_CHECK_NO_REVOCATION,
    CERT_CHECK_NO_USAGE_CHECK,
    FLAG_DISABLE_HTTP2,
    FLAG_DISABLE_TLS13,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_USE_DS_MAPPER,
    SchannelSettings,
    Setting,
    SslBinding,
)
from certgate.core.stores import Machine, canonical_store_name

__all__ = [
    "CHANGE_KEYS",
    "TRUST_MODES",
    "AddCertificates",
    "BindingSwitch",
    "Change",
    "ChangeError",
    "MachineChange",
    "MoveCertificate",
    "MoveIisMapping",
    "RemoveCertificate",
    "SetBindingParameters",
    "SetCertCheckMode",
    "SetCtlStore",
    "SetSendIssuerList",
    "SetTrustMode",
    "normalise_thumbprint",
]

TRUST_MODES = (0, 1, 2)
_SHA1 = re.compile(r"[0-9A-F]{40}")


def normalise_thumbprint(text: str) -> str:
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


class BindingSwitch(StrEnum):
    """An on/off parameter of ``netsh http add|update sslcert`` (its netsh name)."""

    VERIFY_REVOCATION = "verifyclientcertrevocation"
    CACHED_REVOCATION_ONLY = "verifyrevocationwithcachedclientcertonly"
    USAGE_CHECK = "usagecheck"
    DS_MAPPER = "dsmapperusage"
    NEGOTIATE_CLIENT_CERT = "clientcertnegotiation"
    DISABLE_HTTP2 = "disablehttp2"
    DISABLE_TLS13 = "disabletls13"

    @property
    def check_mode(self) -> bool:
        """True for a ``DefaultCertCheckMode`` bit, False for a ``DefaultFlags`` bit."""
        return self in _CHECK_MODE_BITS


# switch -> (DefaultCertCheckMode bit, True when "enable" sets the bit)
_CHECK_MODE_BITS = {
    BindingSwitch.VERIFY_REVOCATION: (CERT_CHECK_NO_REVOCATION, False),
    BindingSwitch.CACHED_REVOCATION_ONLY: (CERT_CHECK_CACHED_REVOCATION, True),
    BindingSwitch.USAGE_CHECK: (CERT_CHECK_NO_USAGE_CHECK, False),
}
# switch -> DefaultFlags bit ("enable" sets it); names after the 2012 set [unconfirmed]
_FLAG_BITS = {
    BindingSwitch.DS_MAPPER: FLAG_USE_DS_MAPPER,
    BindingSwitch.NEGOTIATE_CLIENT_CERT: FLAG_NEGOTIATE_CLIENT_CERT,
    BindingSwitch.DISABLE_HTTP2: FLAG_DISABLE_HTTP2,
    BindingSwitch.DISABLE_TLS13: FLAG_DISABLE_TLS13,
}


@dataclass(frozen=True)
class SetBindingParameters:
    """``netsh http update sslcert`` on the binding at ``endpoint``: switches turned on or
    off, and the CTL store set or removed (``ctl_store``; None leaves it as it is). Every
    other setting of the binding is kept."""

    endpoint: str
    enable: tuple[BindingSwitch, ...] = ()
    disable: tuple[BindingSwitch, ...] = ()
    ctl_store: SetCtlStore | None = None
    origin: str = field(default="", kw_only=True, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, str) or not self.endpoint:
            raise ChangeError("binding", f"needs an endpoint, not {self.endpoint!r}")
        switches = (*self.enable, *self.disable)
        for switch in switches:
            if not isinstance(switch, BindingSwitch):
                raise TypeError(f"{switch!r} is not a BindingSwitch")
        if len(set(switches)) != len(switches):
            raise ChangeError("binding", "turns one switch on or off twice")
        if self.ctl_store is not None and not isinstance(self.ctl_store, SetCtlStore):
            raise TypeError(f"ctl_store must be a SetCtlStore or None, not {self.ctl_store!r}")
        if not switches and self.ctl_store is None:
            raise ChangeError("binding", "update changes nothing")

    @property
    def parameters(self) -> tuple[tuple[str, str], ...]:
        """The change as netsh parameters, in order (``("clientcertnegotiation", "enable")``,
        ``("sslctlstorename", "")`` to remove the CTL store): for reports and scripts."""
        switched = [(s.value, "enable") for s in self.enable]
        switched += [(s.value, "disable") for s in self.disable]
        if self.ctl_store is not None:
            switched.append(("sslctlstorename", self.ctl_store.store or ""))
        return tuple(switched)

    @property
    def removes_ctl_store(self) -> bool:
        return self.ctl_store is not None and self.ctl_store.store is None

    @property
    def changes_check_mode(self) -> bool:
        return any(s.check_mode for s in (*self.enable, *self.disable))

    def binding(self, binding: SslBinding) -> SslBinding:
        """``binding`` after the update (the values the netsh script writes back)."""
        mode, flags = binding.cert_check_mode.value, binding.flags.value
        source = self.origin or "netsh http update sslcert"
        for switch, on in [(s, True) for s in self.enable] + [(s, False) for s in self.disable]:
            if switch in _CHECK_MODE_BITS:
                bit, sets_when_on = _CHECK_MODE_BITS[switch]
                mode = mode | bit if on == sets_when_on else mode & ~bit
            else:
                flags = flags | _FLAG_BITS[switch] if on else flags & ~_FLAG_BITS[switch]
        if self.ctl_store is not None:
            binding = replace(binding, ctl_store_name=Setting(self.ctl_store.store, source))
        if mode != binding.cert_check_mode.value:
            binding = replace(binding, cert_check_mode=Setting(mode, source))
        if flags != binding.flags.value:
            binding = replace(binding, flags=Setting(flags, source))
        return binding

    def apply(self, machine: Machine) -> Machine:
        bindings = list(machine.bindings) or [SslBinding()]
        index = next((i for i, b in enumerate(bindings) if b.endpoint == self.endpoint), None)
        if index is None:
            raise ValueError(f"no binding {self.endpoint} on this machine")
        bindings[index] = self.binding(bindings[index])
        return machine.with_bindings(tuple(bindings))


@dataclass(frozen=True)
class AddCertificates:
    """Import certificates into ``store``; those already there are left as they are."""

    store: str
    certificates: tuple[Certificate, ...]

    def __post_init__(self) -> None:
        canonical_store_name(self.store)
        if not self.certificates:
            raise ChangeError("import", "names no certificate")
        for certificate in self.certificates:
            if not isinstance(certificate, Certificate):
                raise TypeError(f"{certificate!r} is not a Certificate")

    def apply(self, machine: Machine) -> Machine:
        present = set(machine.store(self.store))
        return machine.adding(self.store, [c for c in self.certificates if c not in present])


@dataclass(frozen=True)
class MoveIisMapping:
    """Set ``iisClientCertificateMappingAuthentication`` at ``target`` (site level) instead of
    ``path`` (below site level, where IIS ignores it)."""

    path: str
    target: str

    def __post_init__(self) -> None:
        if self.path == self.target:
            raise ChangeError("mapping section", f"is already at {self.path!r}")

    def apply(self, machine: Machine) -> Machine:
        if machine.iis is None:
            raise ValueError("no IIS configuration to change")
        locations = []
        for loc in machine.iis.locations:
            if loc.path == self.path and loc.iis_mapping is not None:
                locations.append(replace(loc, iis_mapping=None))
                locations.append(
                    replace(
                        loc,
                        path=self.target,
                        access_ssl_flags=None,
                        anonymous_enabled=None,
                        ad_mapping_enabled=None,
                    )
                )
            else:
                locations.append(loc)
        return machine.with_iis(replace(machine.iis, locations=tuple(locations)))


MachineChange = Change | SetBindingParameters | AddCertificates | MoveIisMapping


def _checked_sha1(key: str, text: str) -> str:
    sha1 = normalise_thumbprint(text)
    if not _SHA1.fullmatch(sha1):
        raise ValueError(f"{key}: {text!r} is not a SHA-1 thumbprint (40 hex digits)")
    return sha1
