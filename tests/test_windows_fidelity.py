"""Windows fidelity: each scenario of docs/windows-fidelity.md, with the public source that
documents its outcome in the test's docstring (docs/windows-model.md gives the rule)."""

from __future__ import annotations

from datetime import datetime

import pytest

from certgate.core.settings import Setting
from certgate.core.stores import Machine, Store
from certgate.core.winver import parse_windows_version
from certgate.testing import PKI, Issued
from test_engine_windows import LongNames, Site, mode, send_list, windows, with_binding

SSIS_CERTS = (
    "https://learn.microsoft.com/en-us/sql/integration-services/scale-out/"
    "deal-with-certificates-in-ssis-scale-out"
)
SCHANNEL_OVERVIEW = (
    "https://learn.microsoft.com/en-us/windows-server/security/tls/"
    "what-s-new-in-tls-ssl-schannel-ssp-overview"
)


@pytest.fixture
def site(pki: PKI) -> Site:
    return Site(pki)


@pytest.mark.parametrize("trust_mode", [0, 1])
def test_self_signed_client_in_root_is_accepted(
    site: Site, pki: PKI, now: datetime, trust_mode: int
) -> None:
    """SSIS Scale Out (learn.microsoft.com deal-with-certificates-in-ssis-scale-out): a
    self-signed worker certificate installed in the master's Root is trusted; the leaf counts
    as part of the chain for the issuer-list rule (docs/windows-model.md#list-rule)."""
    worker = pki.issue("CN=SSIS Worker 01", issuer=None, eku=("1.3.6.1.5.5.7.3.2",))
    machine = mode(site.machine(root=[site.root, worker]), trust_mode)
    verdict = windows(worker, machine, now)
    assert verdict.accepted, verdict.message
    assert verdict.windows is not None and verdict.windows.iis_status == "200"
    best = verdict.paths[0].checks
    passed = [c.message for c in best if c.kind.value == "trusted-issuer-list" and not c.failed]
    assert len(passed) == 1 and "itself in the trusted-issuer list" in passed[0]


def test_self_signed_client_not_in_root_is_untrusted(site: Site, pki: PKI, now: datetime) -> None:
    """Control (KB 942061 cause 1: the issuing root is not in LocalMachine\\Root): a self-signed
    client certificate that is not in Root -> CERT_E_UNTRUSTEDROOT, 403.16."""
    worker = pki.issue("CN=SSIS Worker 02", issuer=None, eku=("1.3.6.1.5.5.7.3.2",))
    verdict = windows(worker, site.clean_root(), now)
    assert verdict.code == "CERT_E_UNTRUSTEDROOT"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"


@pytest.mark.parametrize("exported", [True, False])
def test_empty_ctl_store_falls_through_to_client_auth_issuer(
    site: Site, now: datetime, exported: bool
) -> None:
    """Schannel overview ("If no certificates exist in the application-defined store, then
    Schannel checks the Client Authentication Issuers store"): an empty or missing CTL store is
    not the list source (docs/windows-model.md#issuer-list)."""
    stores: dict[str, list[Issued]] = {"SiteTrust": []} if exported else {}
    machine = site.machine(
        root=[site.root, site.other], ca=[site.issuing], ClientAuthIssuer=[site.root], **stores
    )
    machine = with_binding(machine, ctl_store_name=Setting("SiteTrust", "test"))
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.accepted
    assert verdict.windows is not None
    assert verdict.windows.issuer_list_source == "ClientAuthIssuer"
    assert any("falls through" in c.text for c in verdict.caveats)


def test_empty_ctl_store_and_empty_client_auth_issuer_use_root(site: Site, now: datetime) -> None:
    """Schannel overview ("If no certificate is found in either store, the Trusted Roots store
    is checked"): with an empty CTL store and ClientAuthIssuer empty, Root is the source, so the
    KB 2802568 mixed-Root failure applies again."""
    machine = with_binding(
        site.mixed_root().with_store(Store("SiteTrust")),
        ctl_store_name=Setting("SiteTrust", "test"),
    )
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.windows is not None and verdict.windows.issuer_list_source == "Root"
    assert verdict.code == "CERT_E_UNTRUSTEDROOT"


def test_mode_rules_are_labelled_inferred(site: Site, now: datetime) -> None:
    """The per-mode check texts are certgate's reading of the Schannel overview, not Microsoft's
    words: they are [inferred], never [confirmed] (docs/windows-model.md#trust-modes)."""
    for trust_mode in (0, 1, 2):
        verdict = windows(site.alice, mode(site.clean_root(), trust_mode), now, (site.issuing,))
        rules = [c for c in verdict.caveats if "Trust (mode" in c.text]
        assert rules and all(c.confidence.value == "inferred" for c in rules)
        assert not any(
            c.confidence.value == "confirmed" and ("contain" in c.text or "trusted by" in c.text)
            for c in verdict.caveats
        )


def test_send_list_marks(site: Site, now: datetime) -> None:
    """403.7 is logged ``403 7 5``: sc-win32-status is the Win32 code of E_ACCESSDENIED
    (docs/windows-model.md#sc-win32-status)."""
    verdict = windows(site.alice, send_list(site.mixed_root()), now, (site.issuing,))
    assert verdict.windows is not None
    assert (verdict.windows.iis_status, verdict.windows.win32_status) == ("403.7", 5)


def _over_16kb(site: Site, version: str | None) -> Machine:
    filler = LongNames(site.pki).roots
    machine = site.machine(root=[*filler, site.root], ca=[site.issuing])
    if version is None:
        return machine
    return machine.with_os_version(parse_windows_version(version), "test")


def test_root_over_16kb_on_2012_breaks_trust_without_a_sent_list(site: Site, now: datetime) -> None:
    """KB 2880390 (Windows Server 2012 / Windows 8, hotfix): a Root store past 16 KB breaks
    client-certificate authentication whatever SendTrustedIssuerList says
    (docs/windows-model.md#issuer-list-size)."""
    verdict = windows(site.alice, _over_16kb(site, "2012"), now, (site.issuing,))
    assert verdict.code == "CERT_E_UNTRUSTEDROOT"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"
    assert any("KB 2880390" in c.text for c in verdict.caveats)


def test_root_over_16kb_on_2019_only_cuts_the_sent_list(site: Site, now: datetime) -> None:
    """KB 2880390 is documented for 2012 only; on 2019 with SendTrustedIssuerList=0 (the
    default, TLS registry settings) nothing is sent and the client is accepted; with the list
    sent, a client whose root falls past the cut cannot select (KB 933430: 403.7)."""
    machine = _over_16kb(site, "2019")
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.accepted and "depends" not in verdict.message
    sent = windows(site.alice, send_list(machine), now, (site.issuing,))
    assert sent.windows is not None and sent.windows.iis_status == "403.7"


def test_root_over_16kb_with_unknown_version_says_it_depends(site: Site, now: datetime) -> None:
    """Unknown version: the verdict says the outcome depends on it (KB 2880390, 2012 only)."""
    verdict = windows(site.alice, _over_16kb(site, None), now, (site.issuing,))
    assert "depends on the Windows version" in verdict.message
    assert "CERT_E_UNTRUSTEDROOT" in verdict.message
    assert any(
        c.confidence.value == "unconfirmed" and "version is unknown" in c.text
        for c in verdict.caveats
    )
