"""What every diagnosis rule looks at: the machine, the time, sample clients and symptoms.

The audit of the machine and the windows engine's verdict for each sample client certificate
are computed once, when first asked for, and shared by the rules (which reuse the audit's
findings as evidence instead of re-checking the stores).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from certgate.core._cache import cached
from certgate.core.audit import AuditReport, audit
from certgate.core.doctor._model import ObservedClient, SampleClient, Symptom
from certgate.core.engines import Verdict, VerifyRequest, verify
from certgate.core.rules import Finding
from certgate.core.stores import Machine

__all__ = ["DoctorContext"]


@dataclass(frozen=True)
class DoctorContext:
    machine: Machine
    at: datetime
    clients: tuple[SampleClient, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    observed: tuple[ObservedClient, ...] = ()

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("the diagnosis time must be timezone-aware")

    @cached
    def audit(self) -> AuditReport:
        return audit(self.machine, self.at)

    @cached
    def verdicts(self) -> tuple[tuple[SampleClient, Verdict], ...]:
        """The windows engine's judgement of every sample client certificate."""
        return tuple((client, self.judge(client)) for client in self.clients)

    def judge(self, client: SampleClient, machine: Machine | None = None) -> Verdict:
        request = VerifyRequest(client.leaf, client.chain, machine or self.machine, at=self.at)
        return verify(request, ["windows"])["windows"]

    def findings(self, *rule_ids: str) -> list[Finding]:
        """The audit's findings of these rules: the evidence rules build on."""
        return [f for f in self.audit.findings if f.rule in rule_ids]

    def symptoms_with(self, codes: Iterable[str]) -> list[Symptom]:
        """Symptoms carrying any of ``codes``."""
        wanted = frozenset(codes)
        return [s for s in self.symptoms if wanted.intersection(s.codes)]

    def seen(self, codes: Iterable[str]) -> int:
        """How many logged events carry any of ``codes``."""
        return sum(s.count for s in self.symptoms_with(codes))

    def rejected(self, codes: Iterable[str]) -> list[tuple[SampleClient, Verdict]]:
        """Sample clients the windows engine rejects with one of these HRESULT names."""
        wanted = frozenset(codes)
        return [(c, v) for c, v in self.verdicts if not v.accepted and v.code in wanted]

    def with_machine(self, machine: Machine) -> DoctorContext:
        return replace(self, machine=machine)
