"""The doctor: from a machine, sample client certificates and log events to ranked causes.

Pure (no I/O, no clock). Rules are registered in ``DIAGNOSIS_RULES`` (ids ``cause::`` and
the function's name, checked like the audit's); each yields ``Claim`` values that the engine
weighs against the logged symptoms and the windows engine's verdicts, and whose fixes it
re-judges on a copy of the machine::

    builder = SymptomBuilder()
    for event in LogScan(paths):
        builder.add(event)
    diagnosis = diagnose(machine, at, clients=[SampleClient(leaf, chain)], symptoms=builder)
    diagnosis.top.summary        # the answer in one paragraph
    diagnosis.unexplained        # symptoms no cause accounts for
"""

from certgate.core.doctor._apply import apply_actions, what_if_keys
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._engine import diagnose
from certgate.core.doctor._model import (
    Action,
    Cause,
    CertRef,
    ChangeGroupPolicy,
    Claim,
    ClientChange,
    Diagnosis,
    Evidence,
    EvidenceKind,
    Fix,
    FixCheck,
    ImportCertificates,
    Likelihood,
    Manual,
    MoveCertificates,
    MoveMappingSection,
    ObservedClient,
    SampleClient,
    SetSchannelValue,
    Strength,
    Symptom,
    UpdateBinding,
)
from certgate.core.doctor._registry import (
    DIAGNOSIS_RULES,
    DiagnosisRegistry,
    DiagnosisRule,
    RuleResult,
)
from certgate.core.doctor._symptoms import SymptomBuilder

__all__ = [
    "DIAGNOSIS_RULES",
    "Action",
    "Cause",
    "CertRef",
    "ChangeGroupPolicy",
    "Claim",
    "ClientChange",
    "Diagnosis",
    "DiagnosisRegistry",
    "DiagnosisRule",
    "DoctorContext",
    "Evidence",
    "EvidenceKind",
    "Fix",
    "FixCheck",
    "ImportCertificates",
    "Likelihood",
    "Manual",
    "MoveCertificates",
    "MoveMappingSection",
    "ObservedClient",
    "RuleResult",
    "SampleClient",
    "SetSchannelValue",
    "Strength",
    "Symptom",
    "SymptomBuilder",
    "UpdateBinding",
    "apply_actions",
    "diagnose",
    "what_if_keys",
]
