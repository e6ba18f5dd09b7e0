"""Windows fidelity: each scenario of docs/windows-fidelity.md, with the public source that
documents its outcome in the test's docstring (docs/windows-model.md gives the rule)."""

from __future__ import annotations

from datetime import datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from certgate.core.audit import audit
from certgate.core.codes import (
    CERT_TRUST_INFO,
    HRESULTS,
    hresult_from_win32_status,
    iis_status_for,
)
from certgate.core.doctor import diagnose
from certgate.core.gate.decision import Decision
from certgate.core.iis import IisConfig, LocationConfig
from certgate.core.kb import knowledge_base
from certgate.core.settings import Setting
from certgate.core.stores import Machine, Store
from certgate.core.winver import parse_windows_version
from certgate.testing import PKI, SERVER_AUTH, Issued
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


def _misplaced_finding(machine: Machine, now: datetime) -> tuple[str, str]:
    [finding] = [f for f in audit(machine, now).findings if f.rule == "root::not-self-signed"]
    return finding.severity.value, finding.message


def test_mixed_root_is_an_error_only_where_root_is_the_list_source(
    site: Site, now: datetime
) -> None:
    """KB 2802568 + Schannel overview: the mixed Root rejects every client whose chain misses
    the misplaced CA only when Root is the list source and the mode is 0 or 1
    (docs/windows-model.md#mixed-root); otherwise it is a warning saying what it affects."""
    severity, message = _misplaced_finding(site.mixed_root(), now)
    assert severity == "error" and "every client certificate whose chain" in message
    populated = site.mixed_root().with_store(Store("ClientAuthIssuer", (site.root.certificate,)))
    severity, message = _misplaced_finding(populated, now)
    assert severity == "warning" and "comes from ClientAuthIssuer" in message
    assert "every client certificate whose chain" not in message
    severity, message = _misplaced_finding(mode(site.mixed_root(), 2), now)
    assert severity == "warning" and "Exclusive CA Trust" in message


def test_client_auth_issuer_populated_with_a_mixed_root_accepts(site: Site, now: datetime) -> None:
    """Schannel overview: a non-empty ClientAuthIssuer is the list source, so a mixed Root no
    longer shapes the list: alice's chain contains Contoso Root CA, listed there -> accepted."""
    populated = site.mixed_root().with_store(Store("ClientAuthIssuer", (site.root.certificate,)))
    verdict = windows(site.alice, populated, now, (site.issuing,))
    assert verdict.accepted
    assert verdict.windows is not None
    assert verdict.windows.issuer_list_source == "ClientAuthIssuer"


def _iis(flags: int) -> IisConfig:
    where = "applicationHost.config"
    location = LocationConfig("Default Web Site", where, where, Setting(flags, where))
    return IisConfig(locations=(location,))


def test_not_selectable_needs_ssl_require_cert(site: Site, now: datetime) -> None:
    """IIS <access sslFlags> (learn.microsoft.com/iis/configuration/system.webserver/security/
    access): 403.7 needs SslRequireCert; with SslNegotiateCert alone the request goes on
    anonymously; clients that ignore the issuer list (curl, OpenSSL, Java) send the certificate
    anyway and get the trust verdict (docs/windows-model.md#send-trusted-issuer-list)."""
    machine = send_list(site.mixed_root())
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.code == "E_ACCESSDENIED"
    texts = [c.text for c in verdict.caveats]
    assert any("curl, OpenSSL, Java" in t and "CERT_E_UNTRUSTEDROOT (403.16)" in t for t in texts)
    assert any("needs SslRequireCert" in t and "not given" in t for t in texts)
    accept_only = windows(site.alice, machine.with_iis(_iis(0x28)), now, (site.issuing,))
    assert any("goes on anonymously instead of 403.7" in c.text for c in accept_only.caveats)
    required = windows(site.alice, machine.with_iis(_iis(0x68)), now, (site.issuing,))
    assert any("requires one" in c.text for c in required.caveats)


def test_revoked_client_says_which_hresult_is_undocumented(site: Site, now: datetime) -> None:
    """KB 943891 (403.13 client certificate revoked); HTTP_SSL_CLIENT_CERT_INFO lists
    CERT_E_REVOKED while CERT_CHAIN_POLICY_STATUS reports CRYPT_E_REVOKED: which one HTTP.sys
    reports is undocumented, so the verdict says so and both read as 403.13
    (docs/windows-model.md#revocation)."""
    crl = site.issuing.crl([site.alice])
    verdict = windows(site.alice, site.clean_root(), now, (site.issuing,), crls=(crl,))
    assert verdict.code == "CRYPT_E_REVOKED"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.13"
    assert any(
        c.confidence.value == "unconfirmed" and "CERT_E_REVOKED" in c.text for c in verdict.caveats
    )
    assert iis_status_for(HRESULTS["CERT_E_REVOKED"]) == "403.13"
    found = knowledge_base().lookup("403 13 2148204812")
    assert {"iis:403.13", "hresult:CERT_E_REVOKED"} <= {m.entry.id for m in found}


def _with_aia(site: Site, name: str) -> Issued:
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://pki.contoso.test/issuing02.crt"),
            )
        ]
    )
    return site.issuing.client(name, extra_extensions=[(aia, False)])


def test_missing_intermediate_with_aia(site: Site, now: datetime) -> None:
    """CryptoAPI fetches a missing issuer from the AIA caIssuers URL unless HTTP.sys sets
    CERT_CHECK_NO_AIA (HTTP_SERVICE_CONFIG_SSL_PARAM, DefaultSslCertCheckMode 0x10); offline,
    certgate reports CERT_E_CHAINING and says what the fetch would change
    (docs/windows-model.md#aia)."""
    bob = _with_aia(site, "bob")
    machine = site.machine(root=[site.root])
    verdict = windows(bob, machine, now)
    assert verdict.code == "CERT_E_CHAINING"
    [aia] = [c for c in verdict.caveats if "AIA" in c.text]
    assert "http://pki.contoso.test/issuing02.crt" in aia.text and "S_OK (200)" in aia.text
    off = windows(bob, with_binding(machine, cert_check_mode=Setting(0x10, "test")), now)
    assert any("CERT_CHECK_NO_AIA (0x10)" in c.text for c in off.caveats)


def test_missing_intermediate_without_aia(site: Site, now: datetime) -> None:
    """No caIssuers URL: Windows cannot fetch the issuer; CERT_E_CHAINING
    (CERT_TRUST_IS_PARTIAL_CHAIN), 403.16 (docs/windows-model.md#aia)."""
    verdict = windows(site.alice, site.machine(root=[site.root]), now)
    assert verdict.code == "CERT_E_CHAINING"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"
    assert any("no AIA caIssuers URL" in c.text for c in verdict.caveats)


def test_mode1_with_the_root_only_in_ca_is_untrusted(site: Site, now: datetime) -> None:
    """Schannel overview, Exclusive Root Trust: the chain must end at a root in the
    caller-specified store (Root here: no CTL store, ClientAuthIssuer empty [secondary]); a root
    that sits only in the Intermediate (CA) store is no trust anchor -> CERT_E_UNTRUSTEDROOT."""
    machine = mode(site.machine(root=[site.other], ca=[site.issuing, site.root]), 1)
    verdict = windows(site.alice, machine, now, (site.issuing,))
    assert verdict.code == "CERT_E_UNTRUSTEDROOT"
    assert verdict.windows is not None and verdict.windows.iis_status == "403.16"


def test_mode1_with_a_clean_root_accepts(site: Site, now: datetime) -> None:
    """Schannel overview, Exclusive Root Trust with a clean Root serving as the trusted store
    [secondary; unconfirmed for mode 1]: the chain ends at Contoso Root CA, which is also in
    the issuer list -> 200."""
    verdict = windows(site.alice, mode(site.clean_root(), 1), now, (site.issuing,))
    assert verdict.accepted
    assert any("Root serves" in c.text for c in verdict.caveats)


def test_mode2_with_the_issuing_ca_in_client_auth_issuer(site: Site, now: datetime) -> None:
    """Schannel overview, Exclusive CA Trust: the chain may end at an intermediate CA in the
    caller-specified store; with no CTL store certgate takes ClientAuthIssuer [unconfirmed]."""
    machine = site.machine(root=[site.other], ClientAuthIssuer=[site.issuing])
    verdict = windows(site.alice, mode(machine, 2), now, (site.issuing,))
    assert verdict.accepted
    assert verdict.windows is not None
    assert verdict.windows.trust_info & CERT_TRUST_INFO["CERT_TRUST_IS_CA_TRUSTED"]
    assert any(c.confidence.value == "unconfirmed" for c in verdict.caveats)


def test_mode2_with_the_issuing_ca_misplaced_in_root(site: Site, now: datetime) -> None:
    """SSIS Scale Out troubleshooting ("HTTP request forbidden": set ClientAuthTrustMode=2 when
    non-self-signed certificates must stay in Root): the chain ends at the CA in Root -> 200."""
    machine = site.machine(root=[site.other, site.issuing])
    verdict = windows(site.alice, mode(machine, 2), now, (site.issuing,))
    assert verdict.accepted
    assert verdict.windows is not None
    assert verdict.windows.trust_info & CERT_TRUST_INFO["CERT_TRUST_IS_CA_TRUSTED"]
    assert windows(site.alice, machine, now, (site.issuing,)).code == "CERT_E_CHAINING"


def test_ca_restricted_to_server_eku(site: Site, now: datetime) -> None:
    """A CA whose own EKU excludes clientAuth restricts its chain (CryptoAPI intersects EKUs
    along the chain [secondary]; docs/windows-model.md#usage-check) -> CERT_E_WRONG_USAGE,
    403.16; with Usage Check off (DefaultSslCertCheckMode 0x10000) -> 200."""
    server_ca = site.root.intermediate("CN=Contoso Web CA,O=Contoso", eku=(SERVER_AUTH,))
    carol = server_ca.client("carol")
    machine = site.machine(root=[site.root], ca=[server_ca])
    verdict = windows(carol, machine, now, (server_ca,))
    assert verdict.code == "CERT_E_WRONG_USAGE"
    assert verdict.windows is not None and verdict.windows.win32_status == 2148204816
    relaxed = with_binding(machine, cert_check_mode=Setting(0x10000, "test"))
    assert windows(carol, relaxed, now, (server_ca,)).accepted


def test_leaf_without_eku_is_valid_for_client_auth(site: Site, now: datetime) -> None:
    """RFC 5280 §4.2.1.12 / CryptoAPI: a certificate without an EKU extension is valid for any
    usage, so Usage Check passes (docs/windows-model.md#usage-check)."""
    plain = site.issuing.client("dave", eku=())
    assert plain.certificate.extended_key_usage is None
    assert windows(plain, site.clean_root(), now, (site.issuing,)).accepted


def test_gate_decisions_log_sc_win32_status_as_iis_does() -> None:
    """docs/windows-model.md#sc-win32-status: the gate's W3C lines use the Win32 code for a
    FACILITY_WIN32 HRESULT (403 7 5) and the unsigned value for others (403 16 2148204809)."""
    no_cert = Decision(403, 7, "E_ACCESSDENIED", "iis:403.7", "no certificate", 0x80070005)
    untrusted = Decision(
        403, 16, "CERT_E_UNTRUSTEDROOT", "hresult:CERT_E_UNTRUSTEDROOT", "untrusted", 0x800B0109
    )
    assert (no_cert.win32_status, untrusted.win32_status) == (5, 2148204809)
    assert hresult_from_win32_status(5) == 0x80070005
    assert hresult_from_win32_status(2147942450) == hresult_from_win32_status(50) == 0x80070032


@pytest.mark.parametrize(("version", "expected"), [("2012", True), ("2019", False), (None, True)])
def test_doctor_16kb_cause_follows_the_windows_version(
    site: Site, now: datetime, version: str | None, expected: bool
) -> None:
    """KB 2880390 is documented for Windows Server 2012 / Windows 8 only: with no list sent,
    the doctor names the 16 KB cause on 2012 and when the version is unknown (saying so), not
    on 2019 (docs/windows-model.md#issuer-list-size)."""
    causes = list(diagnose(_over_16kb(site, version), now).causes)
    found = [c for c in causes if c.id == "cause::issuer-list-too-large"]
    assert bool(found) is expected
    if version is None:
        assert "version is unknown" in found[0].summary


def test_not_selectable_has_no_wcf_native_code(site: Site, now: datetime) -> None:
    """.NET reference source, HttpsChannelListener: with no client certificate self-hosted WCF
    traces HttpsClientCertificateNotPresent (262160) with no native error code, not "0x5"
    (docs/windows-model.md#wcf-native-error)."""
    verdict = windows(site.alice, send_list(site.mixed_root()), now, (site.issuing,))
    assert verdict.windows is not None and verdict.windows.wcf_native is None
    assert "262160" in verdict.windows.wcf_text
