"""The diagnosis registry and what its rules share: symptom code sets, setting evidence."""

from __future__ import annotations

from typing import Any

from certgate.core.confidence import Confidence
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import Claim, Evidence, EvidenceKind
from certgate.core.rules import Hit, Registry
from certgate.core.settings import Setting
from certgate.core.stores import Machine

__all__ = [
    "CHAINING",
    "DIAGNOSIS_RULES",
    "NOT_SELECTABLE",
    "REBOOT",
    "UNTRUSTED",
    "hit",
    "setting_evidence",
    "setting_source",
]

DIAGNOSIS_RULES: Registry[DoctorContext] = Registry("diagnosis")
REBOOT = "Schannel reads this value at start-up: reboot the server for it to take effect."


def hit(claim: Claim) -> Hit:
    """A rule's result: the claim rides in ``Hit.detail``."""
    return Hit(claim.summary, detail=claim)


# What each failure leaves in logs and verdicts (knowledge-base ids).
_CHAIN_TRACES = frozenset({"wcf:HttpsClientCertificateInvalid", "capi2:11", "capi2:30"})
UNTRUSTED = _CHAIN_TRACES | {
    "iis:403.16",
    "hresult:CERT_E_UNTRUSTEDROOT",
    "hresult:SEC_E_UNTRUSTED_ROOT",
    "cert-trust:CERT_TRUST_IS_UNTRUSTED_ROOT",
    "certgate:untrusted-root",
    "certgate:not-in-issuer-list",
    "schannel:36877",
    "tls-alert:48",
}
NOT_SELECTABLE = frozenset(
    {
        "iis:403.7",
        "wcf:HttpsClientCertificateNotPresent",
        "certgate:no-certificate",
        "hresult:E_ACCESSDENIED",
    }
)
CHAINING = UNTRUSTED | {
    "hresult:CERT_E_CHAINING",
    "cert-trust:CERT_TRUST_IS_PARTIAL_CHAIN",
    "certgate:missing-issuer",
}
_MODES = {0: "Machine Trust", 1: "Exclusive Root Trust", 2: "Exclusive CA Trust"}


def setting_source(setting: Setting[Any], machine: Machine) -> str:
    """Where a SCHANNEL value came from, or why the Windows default was assumed."""
    if setting.source:
        return setting.source
    exported = machine.schannel.source
    if exported:
        return f"not set in {exported}"
    return "the SCHANNEL key was not exported"


def setting_evidence(machine: Machine, name: str) -> Evidence:
    schannel = machine.schannel
    if name == "ClientAuthTrustMode":
        mode = schannel.client_auth_trust_mode
        setting: Setting[Any] = mode
        text = f"ClientAuthTrustMode={mode.value} ({_MODES.get(mode.value, 'unknown mode')})"
        source = setting_source(mode, machine)
    else:
        sent = schannel.send_trusted_issuer_list
        text = f"SendTrustedIssuerList={int(sent.value)} (the issuer list is " + (
            "sent)" if sent.value else "not sent)"
        )
        source = setting_source(sent, machine)
        setting = sent
    default = ": the Windows default" if setting.is_default else ""
    return Evidence(EvidenceKind.SETTING, text + default, source, Confidence.CONFIRMED)
