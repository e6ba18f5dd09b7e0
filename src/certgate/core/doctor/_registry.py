"""The diagnosis registry, and what its rules share: symptom code sets, setting evidence.

A diagnosis rule is a function decorated with ``@DIAGNOSIS_RULES.rule(id, title=...)``: its id
is ``cause::`` and its function's name (``cause::missing-issuer`` is ``def missing_issuer``),
its docstring the explanation, its title the cause's; it yields ``Claim`` values, one per
cause it finds on the machine. The checks are the audit registry's (``core/rule_ids.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from certgate.core.confidence import Confidence
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import Claim, Evidence, EvidenceKind
from certgate.core.rule_ids import checked_id, explanation, named_after, unregistered
from certgate.core.settings import Setting
from certgate.core.stores import Machine

__all__ = [
    "CHAINING",
    "DIAGNOSIS_RULES",
    "NOT_SELECTABLE",
    "REBOOT",
    "UNTRUSTED",
    "DiagnosisRegistry",
    "DiagnosisRule",
    "RuleResult",
    "setting_evidence",
    "setting_source",
]

DiagnosisCheckFn = Callable[[DoctorContext], Iterable[Claim]]


@dataclass(frozen=True)
class RuleResult:
    """One rule run on one machine: the claims it made, or why it made none (``error``: the
    rule failed, so nothing is known; never turned into a cause)."""

    rule: DiagnosisRule
    claims: tuple[Claim, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class DiagnosisRule:
    id: str  # cause::<the function's name>
    title: str  # the title of every cause it finds
    explanation: str  # the function's docstring
    references: tuple[str, ...]
    check: DiagnosisCheckFn = field(repr=False)

    def run(self, ctx: DoctorContext) -> RuleResult:
        """Fail closed: a check that raises claims nothing and says so."""
        try:
            return RuleResult(self, tuple(self.check(ctx)))
        except Exception as exc:
            problem = f"internal error while checking, result unknown: {type(exc).__name__}: {exc}"
            return RuleResult(self, error=problem)


class DiagnosisRegistry:
    """Diagnosis rules in registration order; registering refuses an id that is malformed,
    of another family, taken, or not the function's name, and a rule without a docstring."""

    def __init__(self, family: str = "cause") -> None:
        self.family = family
        self._rules: dict[str, DiagnosisRule] = {}

    def __iter__(self) -> Iterator[DiagnosisRule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> DiagnosisRule:
        return self._rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def rule(
        self, rule_id: str, *, title: str, references: Iterable[str] = ()
    ) -> Callable[[DiagnosisCheckFn], DiagnosisCheckFn]:
        checked_id(rule_id, self.family)
        if not title.strip():
            raise ValueError(f"rule {rule_id} needs a title")

        def register(check: DiagnosisCheckFn) -> DiagnosisCheckFn:
            unregistered(rule_id, self._rules)
            named_after(rule_id, check)
            self._rules[rule_id] = DiagnosisRule(
                rule_id, title, explanation(rule_id, check), tuple(references), check
            )
            return check

        return register

    def unregister(self, rule_id: str) -> None:
        """Remove a rule (tests that register one of their own)."""
        del self._rules[rule_id]

    def run(self, ctx: DoctorContext) -> list[RuleResult]:
        return [rule.run(ctx) for rule in self]


DIAGNOSIS_RULES = DiagnosisRegistry("cause")
REBOOT = "Schannel reads this value at start-up: reboot the server for it to take effect."


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
