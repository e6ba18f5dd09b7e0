"""Apply a fix's actions to a copy of a machine: the what-if.

Where ``certgate verify --what-if`` has a key for a change (``move=``, ``trust-mode=``,
``send-issuer-list=``, ``ctl-store=``, ``cert-check-mode=``) the action is modelled by typed
changes (``core.changes``) that apply themselves, and their key is shown, so the user can rerun
it; the rest (imports, binding flags, moving an IIS mapping section) are applied directly.
"""

from __future__ import annotations

from dataclasses import replace

from certgate.core.changes import (
    Change,
    SetCertCheckMode,
    SetCtlStore,
)
from certgate.core.doctor._model import (
    Action,
    ChangeGroupPolicy,
    ImportCertificates,
    Manual,
    MoveCertificates,
    MoveMappingSection,
    SetSchannelValue,
    UpdateBinding,
)
from certgate.core.settings import (
    CERT_CHECK_CACHED_REVOCATION,
    CERT_CHECK_NO_REVOCATION,
    CERT_CHECK_NO_USAGE_CHECK,
    FLAG_DISABLE_HTTP2,
    FLAG_DISABLE_TLS13,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_USE_DS_MAPPER,
    Setting,
    SslBinding,
)
from certgate.core.stores import Machine

__all__ = ["CHECK_MODE_PARAMETERS", "FLAG_PARAMETERS", "apply_actions", "what_if_keys"]

# netsh parameter -> (DefaultCertCheckMode bit, True when "enable" sets the bit)
CHECK_MODE_PARAMETERS = {
    "verifyclientcertrevocation": (CERT_CHECK_NO_REVOCATION, False),
    "verifyrevocationwithcachedclientcertonly": (CERT_CHECK_CACHED_REVOCATION, True),
    "usagecheck": (CERT_CHECK_NO_USAGE_CHECK, False),
}
# netsh parameter -> DefaultFlags bit ("enable" sets it); names after the 2012 set [unconfirmed]
FLAG_PARAMETERS = {
    "dsmapperusage": FLAG_USE_DS_MAPPER,
    "clientcertnegotiation": FLAG_NEGOTIATE_CLIENT_CERT,
    "disablehttp2": FLAG_DISABLE_HTTP2,
    "disabletls13": FLAG_DISABLE_TLS13,
}
SOURCE = "certgate doctor what-if"


def what_if_keys(action: Action) -> tuple[Change, ...]:
    """The typed changes that model ``action`` (empty when ``--what-if`` has no key for it)."""
    if isinstance(action, MoveCertificates | ChangeGroupPolicy):
        return action.changes
    if isinstance(action, SetSchannelValue):
        return () if action.change is None else (action.change,)
    if isinstance(action, UpdateBinding):
        return _binding_keys(action)
    return ()


def _binding_keys(action: UpdateBinding) -> tuple[Change, ...]:
    changes = dict(action.changes)
    keys: list[Change] = []
    if "sslctlstorename" in changes:
        keys.append(SetCtlStore(changes["sslctlstorename"] or None))
    if CHECK_MODE_PARAMETERS.keys() & changes.keys():
        mode = updated_binding(action.binding, action.changes).cert_check_mode.value
        keys.append(SetCertCheckMode(mode))
    return tuple(keys)


def apply_actions(machine: Machine, actions: tuple[Action, ...]) -> Machine:
    """The machine after every action; ``ValueError`` when one cannot apply."""
    for action in actions:
        machine = _apply(machine, action)
    return machine


def _apply(machine: Machine, action: Action) -> Machine:
    if isinstance(action, Manual):
        return machine
    if isinstance(action, ImportCertificates):
        present = set(machine.store(action.store))
        return machine.adding(action.store, [c for c in action.certificates if c not in present])
    if isinstance(action, UpdateBinding):
        return _apply_binding(machine, action)
    if isinstance(action, MoveMappingSection):
        return _move_mapping(machine, action)
    for change in what_if_keys(action):
        machine = change.apply(machine)
    return machine


def _apply_binding(machine: Machine, action: UpdateBinding) -> Machine:
    bindings = list(machine.bindings) or [SslBinding()]
    index = next((i for i, b in enumerate(bindings) if b.endpoint == action.binding.endpoint), None)
    if index is None:
        raise ValueError(f"no binding {action.binding.endpoint} on this machine")
    bindings[index] = updated_binding(bindings[index], action.changes)
    return machine.with_bindings(tuple(bindings))


def updated_binding(binding: SslBinding, changes: tuple[tuple[str, str], ...]) -> SslBinding:
    """The binding after ``netsh http update sslcert`` with these parameters."""
    mode, flags = binding.cert_check_mode.value, binding.flags.value
    for name, value in changes:
        on = value.casefold() == "enable"
        if name in CHECK_MODE_PARAMETERS:
            bit, sets_when_on = CHECK_MODE_PARAMETERS[name]
            mode = mode | bit if on == sets_when_on else mode & ~bit
        elif name in FLAG_PARAMETERS:
            bit = FLAG_PARAMETERS[name]
            flags = flags | bit if on else flags & ~bit
        elif name == "sslctlstorename":
            binding = replace(binding, ctl_store_name=Setting(value or None, SOURCE))
        else:
            raise ValueError(f"netsh parameter {name} is not modelled")
    return replace(
        binding,
        cert_check_mode=Setting(mode, SOURCE)
        if mode != binding.cert_check_mode.value
        else binding.cert_check_mode,
        flags=Setting(flags, SOURCE) if flags != binding.flags.value else binding.flags,
    )


def _move_mapping(machine: Machine, action: MoveMappingSection) -> Machine:
    if machine.iis is None:
        raise ValueError("no IIS configuration to change")
    locations = []
    for loc in machine.iis.locations:
        if loc.path == action.path and loc.iis_mapping is not None:
            locations.append(replace(loc, iis_mapping=None))
            locations.append(
                replace(
                    loc,
                    path=action.target,
                    access_ssl_flags=None,
                    anonymous_enabled=None,
                    ad_mapping_enabled=None,
                )
            )
        else:
            locations.append(loc)
    return machine.with_iis(replace(machine.iis, locations=tuple(locations)))
