"""Rules over machines and evidence, registered by decorator (see ``_registry``)."""

from certgate.core.rules import listed as _listed  # noqa: F401  (registers its rules)
from certgate.core.rules._registry import (
    CertSummary,
    Finding,
    Hit,
    Registry,
    Rule,
    Severity,
    sort_key,
)
from certgate.core.rules.audit import AUDIT_RULES, AuditContext

__all__ = [
    "AUDIT_RULES",
    "AuditContext",
    "CertSummary",
    "Finding",
    "Hit",
    "Registry",
    "Rule",
    "Severity",
    "sort_key",
]
