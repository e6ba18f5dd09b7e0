"""Every doctor fix is built and applied as typed changes (core.changes): the changes only the
doctor's fixes make (binding parameters, imports, an IIS mapping section) are checked when
built and apply themselves, and the doctor changes a machine through nothing else."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from certgate.core.changes import (
    AddCertificates,
    BindingSwitch,
    MoveIisMapping,
    SetBindingParameters,
    SetCertCheckMode,
    SetCtlStore,
)
from certgate.core.doctor import Action, UpdateBinding, apply_actions, what_if_keys
from certgate.core.iis import IisCertificateMapping, IisConfig, LocationConfig
from certgate.core.settings import (
    CERT_CHECK_NO_REVOCATION,
    FLAG_DISABLE_HTTP2,
    FLAG_NEGOTIATE_CLIENT_CERT,
    Setting,
    SslBinding,
)
from certgate.core.stores import Machine, Store
from certgate.testing import PKI

DOCTOR = Path(__file__).resolve().parents[1] / "src" / "certgate" / "core" / "doctor"
FIRST, SECOND = SslBinding("0.0.0.0:443"), SslBinding("10.0.0.5:8443")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SetBindingParameters("", enable=(BindingSwitch.DS_MAPPER,)), "needs an endpoint"),
        (lambda: SetBindingParameters("0.0.0.0:443"), "update changes nothing"),
        (
            lambda: SetBindingParameters(
                "0.0.0.0:443",
                enable=(BindingSwitch.DISABLE_HTTP2,),
                disable=(BindingSwitch.DISABLE_HTTP2,),
            ),
            "turns one switch on or off twice",
        ),
        (
            lambda: SetBindingParameters("0.0.0.0:443", enable=("usagecheck",)),  # type: ignore[arg-type]
            "not a BindingSwitch",
        ),
        (lambda: AddCertificates("bad\\name", ()), "not a certificate store name"),
        (lambda: AddCertificates("Root", ()), "import names no certificate"),
        (lambda: MoveIisMapping("Orders", "Orders"), "is already at 'Orders'"),
        (
            lambda: UpdateBinding(
                FIRST, SetBindingParameters(SECOND.endpoint, enable=(BindingSwitch.DS_MAPPER,))
            ),
            "the change is for 10.0.0.5:8443, the binding 0.0.0.0:443",
        ),
    ],
)
def test_each_fix_change_is_checked_when_built(build: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        build()  # type: ignore[operator]


def test_binding_parameters_change_only_their_binding_and_bits() -> None:
    second = SslBinding(SECOND.endpoint, flags=Setting(FLAG_DISABLE_HTTP2, "netsh.txt:9"))
    machine = Machine(bindings=(FIRST, second))
    change = SetBindingParameters(
        SECOND.endpoint,
        enable=(BindingSwitch.NEGOTIATE_CLIENT_CERT,),
        disable=(BindingSwitch.VERIFY_REVOCATION, BindingSwitch.DISABLE_HTTP2),
    )
    after = change.apply(machine)
    assert after.bindings[0] == FIRST
    assert after.bindings[1].flags.value == FLAG_NEGOTIATE_CLIENT_CERT
    assert after.bindings[1].cert_check_mode.value == CERT_CHECK_NO_REVOCATION
    assert after.bindings[1].ctl_store_name == second.ctl_store_name  # kept
    assert machine.bindings[1] is second  # the original is untouched
    assert change.parameters == (
        ("clientcertnegotiation", "enable"),
        ("verifyclientcertrevocation", "disable"),
        ("disablehttp2", "disable"),
    )
    with pytest.raises(ValueError, match=re.escape("no binding 192.0.2.1:443 on this machine")):
        SetBindingParameters("192.0.2.1:443", ctl_store=SetCtlStore(None)).apply(machine)


def test_a_binding_update_shows_the_what_if_keys_that_reproduce_it() -> None:
    binding = SslBinding(ctl_store_name=Setting("Partner CAs", "netsh.txt:12"))
    clear = UpdateBinding(
        binding, SetBindingParameters(binding.endpoint, ctl_store=SetCtlStore(None))
    )
    assert what_if_keys(clear) == (SetCtlStore(None),)
    assert clear.change.removes_ctl_store and clear.after.ctl_store_name.value is None
    revocation = SetBindingParameters(binding.endpoint, disable=(BindingSwitch.VERIFY_REVOCATION,))
    assert what_if_keys(UpdateBinding(binding, revocation)) == (SetCertCheckMode(1),)
    negotiate = SetBindingParameters(
        binding.endpoint, enable=(BindingSwitch.NEGOTIATE_CLIENT_CERT,)
    )
    assert what_if_keys(UpdateBinding(binding, negotiate)) == ()  # no --what-if key for flags


def test_imports_and_mapping_moves_apply_to_a_copy(pki: PKI) -> None:
    root, other = pki.root("CN=Root A"), pki.root("CN=Root B")
    machine = Machine((Store("Root", (root.certificate,)),))
    added = AddCertificates("Root", (root.certificate, other.certificate)).apply(machine)
    assert added.store("Root").certificates == (root.certificate, other.certificate)
    assert machine.store("Root").certificates == (root.certificate,)
    with pytest.raises(ValueError, match="no IIS configuration to change"):
        MoveIisMapping("Orders/api", "Orders").apply(machine)
    below = LocationConfig(
        "Orders/api", "web.config", "web.config:3", iis_mapping=IisCertificateMapping()
    )
    moved = MoveIisMapping("Orders/api", "Orders").apply(
        machine.with_iis(IisConfig(locations=(below,)))
    )
    assert moved.iis is not None
    assert [(loc.path, loc.iis_mapping is not None) for loc in moved.iis.locations] == [
        ("Orders/api", False),
        ("Orders", True),
    ]


def test_every_action_is_applied_through_its_typed_changes(pki: PKI) -> None:
    for action_type in typing.get_args(Action):
        assert isinstance(getattr(action_type, "changes", None), property), action_type
    binding = SslBinding()
    update = UpdateBinding(
        binding, SetBindingParameters(binding.endpoint, enable=(BindingSwitch.DS_MAPPER,))
    )
    assert apply_actions(Machine(), (update,)) == update.change.apply(Machine())


def test_the_doctor_changes_a_machine_only_through_typed_changes() -> None:
    """No module of the doctor calls a Machine/Store setter itself: every fix's what-if is
    ``change.apply(machine)`` of a core.changes value."""
    setter = re.compile(
        r"\.(with_bindings|with_schannel|with_iis|with_store|adding|moving|without)\("
    )
    callers = sorted(
        p.name for p in DOCTOR.glob("*.py") if setter.search(p.read_text(encoding="utf-8"))
    )
    assert callers == []
