"""The typed change model (core.changes): each value checked once when built, each applies
itself to a copy of a machine, and ``--what-if`` text is parsed into these values only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from certgate.core.changes import (
    ChangeError,
    MoveCertificate,
    RemoveCertificate,
    SetCertCheckMode,
    SetCtlStore,
    SetSendIssuerList,
    SetTrustMode,
)
from certgate.core.doctor._apply import what_if_keys
from certgate.core.doctor._model import CertRef, MoveCertificates, SetSchannelValue
from certgate.core.stores import Machine, Store
from certgate.core.whatif import parse_what_if
from certgate.testing import PKI

SRC = Path(__file__).resolve().parents[1] / "src" / "certgate"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: SetTrustMode(3), "trust-mode must be 0, 1 or 2, not 3"),
        (lambda: SetTrustMode(-1), "trust-mode must be 0, 1 or 2"),
        (lambda: SetTrustMode(True), "trust-mode must be 0, 1 or 2, not True"),
        (lambda: SetSendIssuerList(2), "send-issuer-list must be 0 or 1, not 2"),
        (lambda: SetSendIssuerList("1"), "send-issuer-list must be 0 or 1"),  # type: ignore[arg-type]
        (lambda: SetSchannelValue("ClientAuthTrustMode", 5), "trust-mode must be 0, 1 or 2"),
        (lambda: SetCertCheckMode(-4), "cert-check-mode must be a 32-bit unsigned integer"),
        (lambda: SetCertCheckMode(2**32), "cert-check-mode must be a 32-bit unsigned integer"),
        (lambda: MoveCertificate("AB" * 19, "Root", "CA"), "not a SHA-1 thumbprint"),
        (lambda: MoveCertificate("AB" * 20, "Root", "C/A"), "not a certificate store name"),
        (lambda: RemoveCertificate("XY" * 20, "Root"), "not a SHA-1 thumbprint"),
        (lambda: SetCtlStore("bad\\name"), "not a certificate store name"),
    ],
)
def test_each_change_is_checked_when_built(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_schannel_changes_apply_to_a_copy() -> None:
    machine = Machine()
    trusted = SetTrustMode(2).apply(machine)
    assert trusted.schannel.client_auth_trust_mode.value == 2
    assert trusted.schannel.client_auth_trust_mode.source == "--what-if trust-mode=2"
    assert machine.schannel.client_auth_trust_mode.value != 2  # the original is untouched
    sent = SetSendIssuerList(True).apply(machine)
    assert sent.schannel.send_trusted_issuer_list.value is True


def test_binding_changes_apply_to_the_first_binding() -> None:
    machine = SetCtlStore("ClientAuthIssuer").apply(Machine())
    assert machine.binding.ctl_store_name.value == "ClientAuthIssuer"
    assert SetCtlStore(None).apply(machine).binding.ctl_store_name.value is None
    assert SetCertCheckMode(4).apply(machine).binding.cert_check_mode.value == 4
    assert str(SetCtlStore(None)) == "ctl-store=none"


def test_certificate_changes_apply_and_fail_with_value_error(pki: PKI) -> None:
    root = pki.root("Root")
    inter = root.intermediate("Issuing")
    machine = Machine((Store("Root", (root.certificate, inter.certificate)),))
    moved = MoveCertificate(inter.sha1.lower(), "Root", "CA").apply(machine)
    assert moved.store("CA").certificates == (inter.certificate,)
    removed = RemoveCertificate(inter.sha1, "Root").apply(machine)
    assert removed.store("Root").certificates == (root.certificate,)
    with pytest.raises(ValueError, match="no certificate"):
        RemoveCertificate(inter.sha1, "CA").apply(machine)
    with pytest.raises(ValueError, match="no certificate"):
        MoveCertificate(inter.sha1, "CA", "Root").apply(machine)


def test_what_if_text_becomes_the_same_typed_value() -> None:
    sha1 = "0A" * 20
    colons = ":".join(["0a"] * 20)
    assert parse_what_if("trust-mode=2") == SetTrustMode(2)
    assert parse_what_if("send-issuer-list=yes") == SetSendIssuerList(True)
    assert parse_what_if("send-issuer-list=0") == SetSendIssuerList(False)
    for text in (f"move={sha1}:Root:CA", f"move={colons}:Root -> CA", f"move={sha1}:Root->CA"):
        assert parse_what_if(text) == MoveCertificate(sha1, "Root", "CA"), text
    assert parse_what_if(f"remove={sha1}:Root") == RemoveCertificate(sha1, "Root")
    assert parse_what_if("ctl-store=NONE") == SetCtlStore(None)
    assert parse_what_if("cert-check-mode=0x4") == SetCertCheckMode(4)
    # reports echo what the user typed; a built value shows its canonical key
    assert str(parse_what_if(f"move={sha1}:Root->CA")) == f"move={sha1}:Root->CA"
    assert str(MoveCertificate(sha1.lower(), "Root", "CA")) == f"move={sha1}:Root:CA"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trust-mode=7", "trust-mode must be 0, 1 or 2"),
        ("trust-mode=two", "trust-mode must be an integer"),
        ("send-issuer-list=maybe", "send-issuer-list must be 0 or 1"),
        ("move=0A:Root:CA", "move must be <sha1>:<Store>:<Store>"),
        ("remove=nothex", "remove must be <sha1>:<Store>"),
        ("cert-check-mode=-1", "cert-check-mode must be a 32-bit unsigned integer"),
        ("cert-check-mode=x", "cert-check-mode must be an integer"),
    ],
)
def test_what_if_text_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_what_if(text)


def test_doctor_fixes_build_typed_changes() -> None:
    sha1 = "1B" * 20
    move = MoveCertificates((CertRef(sha1, "CN=Issuing"),), "Root", "CA")
    assert what_if_keys(move) == (MoveCertificate(sha1, "Root", "CA"),)
    mode = SetSchannelValue("ClientAuthTrustMode", 2)
    assert what_if_keys(mode) == (SetTrustMode(2),)
    assert what_if_keys(SetSchannelValue("SendTrustedIssuerList", 0)) == (SetSendIssuerList(False),)


def test_parse_what_if_is_only_the_user_input_parser() -> None:
    """Nothing in the product renders a typed change to text to parse it again: the parser is
    defined in core/whatif.py and called only where users type --what-if (cli/verify.py)."""
    users = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "parse_what_if" in path.read_text(encoding="utf-8")
    }
    assert users == {"core/whatif.py", "cli/verify.py"}


def test_settings_producers_record_where_the_value_came_from() -> None:
    machine = SetTrustMode(1, origin="--trust-mode").apply(Machine())
    assert machine.schannel.client_auth_trust_mode.source == "--trust-mode"
    machine = SetCertCheckMode(2, origin="settings.toml [binding]").apply(machine)
    assert machine.binding.cert_check_mode.source == "settings.toml [binding]"
    assert str(SetTrustMode(1, origin="--trust-mode")) == "trust-mode=1"


def test_change_error_names_the_problem_for_each_reader() -> None:
    with pytest.raises(ChangeError) as caught:
        SetTrustMode(2.0)  # type: ignore[arg-type]
    assert str(caught.value) == "trust-mode must be 0, 1 or 2, not 2.0"
    assert caught.value.problem == "must be 0, 1 or 2, not 2.0"  # policy/settings readers


def test_one_place_checks_the_trust_mode_range() -> None:
    """The "must be 0, 1 or 2" rule is written once, in core/changes.py; the CLI flags,
    settings.toml, the gate policy and the doctor build typed changes instead."""
    writers = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if "must be 0, 1 or 2" in path.read_text(encoding="utf-8")
    }
    assert writers == {"core/changes.py"}
    setters = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if ".with_trust_mode(" in path.read_text(encoding="utf-8")
    }
    # the registry reader records the value Windows has (after its own documented-mode check)
    assert setters == {"core/changes.py", "formats/regkeys.py"}
