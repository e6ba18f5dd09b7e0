"""The gate's pure core: policy values, identity mapping, the judge and its answers."""

from certgate.core.gate.decision import Decision, GateCode
from certgate.core.gate.judge import Judge, judge_once
from certgate.core.gate.mapping import MappingConfig, MappingResult, map_identity
from certgate.core.gate.policy import (
    AnswerFormat,
    ClientCertMode,
    HintSource,
    Limits,
    Location,
    Policy,
)

__all__ = [
    "AnswerFormat",
    "ClientCertMode",
    "Decision",
    "GateCode",
    "HintSource",
    "Judge",
    "Limits",
    "Location",
    "MappingConfig",
    "MappingResult",
    "Policy",
    "judge_once",
    "map_identity",
]
