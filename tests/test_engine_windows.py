"""Fidelity of the windows engine: each test reproduces a documented Windows behaviour and
names its source (KB article, or the section of docs/windows-model.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from certgate.core.codes import CERT_TRUST_ERRORS, CERT_TRUST_INFO, HRESULTS
from certgate.core.engines import EMITTED_CODES, Verdict, VerifyRequest, verify
from certgate.core.settings import Setting, SslBinding
from certgate.core.stores import Machine, Store
from certgate.testing import PKI, SERVER_AUTH, Issued, KeyType


class Site:
    """A client PKI (Contoso) and a server whose stores we arrange per test."""

    def __init__(self, pki: PKI) -> None:
        self.pki = pki
        self.root = pki.root("CN=Contoso Root CA,O=Contoso")
        self.misplaced = self.root.intermediate("CN=Contoso Issuing CA 01,O=Contoso", path_length=0)
        self.issuing = self.root.intermediate("CN=Contoso Issuing CA 02,O=Contoso", path_length=0)
        self.other = pki.root("CN=Fabrikam Root CA,O=Fabrikam")
        self.alice = self.issuing.client("alice")

    def machine(
        self, *, root: Sequence[Issued], ca: Sequence[Issued] = (), **stores: Sequence[Issued]
    ) -> Machine:
        parts = [Store("Root", tuple(c.certificate for c in root))]
        parts.append(Store("CA", tuple(c.certificate for c in ca)))
        parts += [
            Store(name, tuple(c.certificate for c in certs)) for name, certs in stores.items()
        ]
        return Machine(tuple(parts))

    def mixed_root(self) -> Machine:
        return self.machine(root=[self.root, self.other, self.misplaced], ca=[self.issuing])

    def clean_root(self) -> Machine:
        return self.machine(root=[self.root, self.other], ca=[self.issuing, self.misplaced])


def windows(
    leaf: Issued, machine: Machine, at: datetime, chain: tuple[Issued, ...] = (), **options: Any
) -> Verdict:
    request = VerifyRequest(
        leaf.certificate, tuple(c.certificate for c in chain), machine, at=at, **options
    )
    verdict = verify(request, ["windows"])["windows"]
    assert verdict.code in EMITTED_CODES["windows"]
    assert all(c.code.value in EMITTED_CODES["checks"] for c in verdict.reasons)
    return verdict


def mode(machine: Machine, value: int) -> Machine:
    return machine.with_schannel(machine.schannel.with_trust_mode(value, "test"))


def send_list(machine: Machine) -> Machine:
    return machine.with_schannel(machine.schannel.with_send_issuer_list(True, "test"))


def with_binding(machine: Machine, **fields: Any) -> Machine:
    return machine.with_bindings((replace(SslBinding(), **fields),))


@pytest.fixture
def site(pki: PKI) -> Site:
    return Site(pki)


def test_kb2802568_scenario1_mode0_mixed_root_gives_403_16(site: Site, now: datetime) -> None:
    """KB 2802568 scenario 1 (docs/windows-model.md#mixed-root): no list sent, mixed Root ->
    403.16, sc-win32-status 2148204809 (0x800B0109), WCF native error 0x109."""
    verdict = windows(site.alice, site.mixed_root(), now, (site.issuing,))
    assert not verdict.accepted
    assert verdict.code == "CERT_E_UNTRUSTEDROOT"
    detail = verdict.windows
    assert detail is not None
    assert (detail.hresult_hex, detail.win32_status, detail.wcf_native, detail.iis_status) == (
        "0x800B0109",
        2148204809,
        "0x109",
        "403.16",
    )
    assert detail.trust_errors == CERT_TRUST_ERRORS["CERT_TRUST_IS_UNTRUSTED_ROOT"]
    assert [c.code.value for c in verdict.reasons if c.failed] == ["not-in-issuer-list"]
    assert any(
        c.confidence.value == "inferred" and "contains a certificate" in c.text
        for c in verdict.caveats
    )


def test_kb2802568_control_clean_root_accepts(site: Site, now: datetime) -> None:
    """KB 2802568 / KB 942061 fix: the intermediate moved to CA -> 200 (control for
    scenario 1)."""
    verdict = windows(site.alice, site.clean_root(), now, (site.issuing,))
    assert verdict.accepted and verdict.code == "S_OK"
    assert verdict.windows is not None and verdict.windows.iis_status == "200"
    assert verdict.windows.trust_info & CERT_TRUST_INFO["CERT_TRUST_IS_SELF_SIGNED"]


def test_kb2802568_chain_through_listed_ca_passes(site: Site, now: datetime) -> None:
    """docs/windows-model.md#list-rule [inferred]: a chain running through a misplaced CA
    passes."""
    bob = site.misplaced.client("bob")
    assert windows(bob, site.mixed_root(), now, (site.misplaced,)).accepted


def test_kb2802568_scenario2_list_sent_gives_403_7(site: Site, now: datetime) -> None:
    """KB 2802568 scenario 2: SendTrustedIssuerList=1 -> the client cannot select -> 403.7."""
    verdict = windows(site.alice, send_list(site.mixed_root()), now, (site.issuing,))
    assert not verdict.accepted
    assert verdict.code == "E_ACCESSDENIED"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.7"
    assert verdict.windows.issuer_list_sent
    assert [c.code.value for c in verdict.reasons] == ["no-certificate"]


def test_kb2802568_scenario2_control_clean_root_list_sent(site: Site, now: datetime) -> None:
    """KB 2802568 scenario 2 control: with a clean Root the sent list names Contoso Root CA, so
    alice is selectable."""
    assert windows(site.alice, send_list(site.clean_root()), now, (site.issuing,)).accepted


def test_mode2_accepts_the_kb2802568_chain(site: Site, now: datetime) -> None:
    """docs/windows-model.md#trust-modes [secondary]: mode 2 with no CTL store uses Root as the
    trusted issuer store, so the misplaced intermediate no longer breaks client auth."""
    verdict = windows(site.alice, mode(site.mixed_root(), 2), now, (site.issuing,))
    assert verdict.accepted
    assert any(
        c.confidence.value == "secondary" and "Root serves" in c.text for c in verdict.caveats
    )
    assert verdict.windows is not None
    assert verdict.windows.trust_info & CERT_TRUST_INFO["CERT_TRUST_IS_FROM_EXCLUSIVE_TRUST_STORE"]


def test_mode2_control_foreign_root_rejected(site: Site, now: datetime) -> None:
    """Control: mode 2 still needs a chain to a CA or root in the store."""
    machine = mode(site.machine(root=[site.other], ca=[site.issuing]), 2)
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.code == "CERT_E_CHAINING"  # Contoso Root CA is nowhere on this machine


def test_mode1_with_ctl_store(site: Site, now: datetime) -> None:
    """docs/windows-model.md#trust-modes: mode 1 needs a root in the caller-specified (CTL) store;
    the CTL store also feeds the issuer list (Schannel overview,
    docs/windows-model.md#issuer-list)."""
    machine = site.machine(root=[site.root, site.other], ca=[site.issuing], SiteTrust=[site.root])
    machine = mode(with_binding(machine, ctl_store_name=Setting("SiteTrust", "test")), 1)
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.accepted
    assert verdict.windows is not None and verdict.windows.issuer_list_source == "SiteTrust"
    assert any(c.confidence.value == "inferred" and "CTL store" in c.text for c in verdict.caveats)


def test_mode1_ctl_store_without_the_root_rejects(site: Site, now: datetime) -> None:
    """Schannel overview (Exclusive Root Trust), control: the CTL store holds only another
    root -> untrusted root, 403.16."""
    machine = site.machine(root=[site.root, site.other], ca=[site.issuing], SiteTrust=[site.other])
    machine = mode(with_binding(machine, ctl_store_name=Setting("SiteTrust", "test")), 1)
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.code == "CERT_E_UNTRUSTEDROOT"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"


def test_mode2_with_ctl_store_trusts_an_intermediate(site: Site, now: datetime) -> None:
    """docs/windows-model.md#trust-modes: mode 2 lets the chain end at an intermediate CA in the
    store (CERT_TRUST_IS_CA_TRUSTED [inferred])."""
    machine = site.machine(root=[site.other], ca=[], SiteTrust=[site.issuing])
    machine = mode(with_binding(machine, ctl_store_name=Setting("SiteTrust", "test")), 2)
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.accepted
    assert verdict.windows is not None
    assert verdict.windows.trust_info & CERT_TRUST_INFO["CERT_TRUST_IS_CA_TRUSTED"]


def test_expired_client_certificate_gives_403_17(site: Site, now: datetime) -> None:
    """docs/windows-model.md#iis-substatus [inferred mapping]: CERT_E_EXPIRED -> 403.17."""
    old = site.issuing.client("carol", expired=True)
    verdict = windows(old, site.clean_root(), now, (site.issuing,))
    assert verdict.code == "CERT_E_EXPIRED"
    assert verdict.windows is not None
    assert (verdict.windows.iis_status, verdict.windows.wcf_native) == ("403.17", "0x101")
    assert verdict.windows.trust_errors == CERT_TRUST_ERRORS["CERT_TRUST_IS_NOT_TIME_VALID"]


def test_revoked_client_certificate_gives_403_13(site: Site, now: datetime) -> None:
    """docs/windows-model.md#iis-substatus: a revoked certificate -> CRYPT_E_REVOKED -> 403.13."""
    crl = site.issuing.crl([site.alice])
    verdict = windows(site.alice, site.clean_root(), now, (site.issuing,), crls=(crl,))
    assert verdict.code == "CRYPT_E_REVOKED"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.13"
    assert verdict.windows.win32_status == 2148081680


def test_revocation_control_crl_without_the_client(site: Site, now: datetime) -> None:
    crl = site.issuing.crl([site.issuing.client("mallory")])
    assert windows(site.alice, site.clean_root(), now, (site.issuing,), crls=(crl,)).accepted


def test_revocation_not_checked_when_cert_check_mode_says_so(site: Site, now: datetime) -> None:
    """docs/windows-model.md#netsh-show-sslcert: DefaultCertCheckMode bit 1 turns revocation
    checking off."""
    crl = site.issuing.crl([site.alice])
    machine = with_binding(site.clean_root(), cert_check_mode=Setting(1, "test"))
    assert windows(site.alice, machine, now, (site.issuing,), crls=(crl,)).accepted


def test_chain_through_a_disallowed_ca(site: Site, now: datetime) -> None:
    """A CA in the Disallowed store: TRUST_E_EXPLICIT_DISTRUST, a CERT_CHAIN_POLICY_STATUS
    error (learn.microsoft.com ns-wincrypt-cert_chain_policy_status;
    CERT_TRUST_IS_EXPLICIT_DISTRUST)."""
    machine = site.clean_root().with_store(Store("Disallowed", (site.issuing.certificate,)))
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.code == "TRUST_E_EXPLICIT_DISTRUST"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"
    assert verdict.windows.trust_errors & CERT_TRUST_ERRORS["CERT_TRUST_IS_EXPLICIT_DISTRUST"]


def test_disallowed_control_other_certificate(site: Site, now: datetime) -> None:
    machine = site.clean_root().with_store(Store("Disallowed", (site.misplaced.certificate,)))
    assert windows(site.alice, machine, now, (site.issuing,)).accepted


def test_wrong_usage_and_the_no_usage_check_flag(site: Site, now: datetime) -> None:
    """netsh http usagecheck / HTTP_SERVICE_CONFIG_SSL_PARAM (docs/windows-model.md#usage-check):
    CERT_E_WRONG_USAGE, 403.16, unless DefaultCertCheckMode has 0x10000."""
    server_only = site.issuing.client("svc", eku=(SERVER_AUTH,))
    verdict = windows(server_only, site.clean_root(), now, (site.issuing,))
    assert verdict.code == "CERT_E_WRONG_USAGE"
    relaxed = with_binding(site.clean_root(), cert_check_mode=Setting(0x10000, "test"))
    assert windows(server_only, relaxed, now, (site.issuing,)).accepted


def test_sha1_chain_is_accepted_with_the_weak_signature_bit(site: Site, now: datetime) -> None:
    """Windows still accepts SHA-1 client chains; CAPI flags CERT_TRUST_HAS_WEAK_SIGNATURE."""
    legacy = site.issuing.client("legacy", hash="sha1")
    verdict = windows(legacy, site.clean_root(), now, (site.issuing,))
    assert verdict.accepted
    assert [c.code.value for c in verdict.reasons] == ["weak-signature"]


class LongNames:
    """Enough self-signed roots with long names to push the issuer list past 16 KB."""

    def __init__(self, pki: PKI, count: int = 70) -> None:
        key = pki.key(KeyType.P256)
        self.roots = [
            pki.root(f"CN=Filler Root {i:03d},OU={'x' * 200},O=Filler", key=key)
            for i in range(count)
        ]


def test_issuer_list_over_16kb_truncates_and_breaks_late_roots(site: Site, now: datetime) -> None:
    """KB 933430 / KB 2880390 (docs/windows-model.md#issuer-list-size, [secondary] +
    [unconfirmed] accounting): the list is cut at 16 KB; a client whose root falls past the cut
    cannot be selected when the list is sent (403.7); when it is not, the outcome depends on the
    Windows version (KB 2880390 is Server 2012 only)."""
    filler = LongNames(site.pki).roots
    machine = site.machine(root=[*filler, site.root], ca=[site.issuing])
    verdict = windows(site.alice, send_list(machine), now, (site.issuing,))
    assert verdict.windows is not None and verdict.windows.iis_status == "403.7"
    assert any(c.confidence.value == "secondary" and "16 KB" in c.text for c in verdict.caveats)
    assert any(c.confidence.value == "unconfirmed" for c in verdict.caveats)
    silent = windows(site.alice, machine, now, (site.issuing,))
    # No list sent and the version unknown: it depends on the version (KB 2880390 is 2012 only)
    assert silent.accepted and "depends on the Windows version" in silent.message


def test_issuer_list_over_16kb_control_root_inside_the_cut(site: Site, now: datetime) -> None:
    filler = LongNames(site.pki).roots
    machine = site.machine(root=[site.root, *filler], ca=[site.issuing])
    assert windows(site.alice, send_list(machine), now, (site.issuing,)).accepted


def test_every_windows_code_is_a_known_hresult() -> None:
    """The knowledge-base contract: windows codes are names from codes.HRESULTS."""
    assert EMITTED_CODES["windows"] <= set(HRESULTS)


def test_missing_intermediate_is_cert_e_chaining(site: Site, now: datetime) -> None:
    """docs/windows-model.md#hresults: a chain that cannot be built -> CERT_E_CHAINING (partial
    chain)."""
    machine = site.machine(root=[site.root])
    verdict = windows(site.alice, machine, now)
    assert verdict.code == "CERT_E_CHAINING"
    assert verdict.windows is not None
    assert verdict.windows.trust_errors == CERT_TRUST_ERRORS["CERT_TRUST_IS_PARTIAL_CHAIN"]
