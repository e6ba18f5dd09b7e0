"""Probing a live server's client-certificate authentication: the values and verdicts.

The network side lives in ``certgate.tls``; everything here is pure.
"""

from certgate.core.probe.findings import describe_attempt, probe_findings
from certgate.core.probe.handshake import RequestFields, parse_certificate_request
from certgate.core.probe.http import answer_complete, build_request, parse_answer
from certgate.core.probe.model import (
    Alert,
    Attempt,
    Basis,
    CertificateRequest,
    ClientCertificate,
    HttpAnswer,
    Outcome,
    PageKind,
    PathResult,
    ProbeCode,
    ProbeError,
    ProbeFinding,
    ProbeResult,
    Requirement,
    Selection,
    Stage,
    TargetInfo,
    TlsVersion,
    VersionResult,
)
from certgate.core.probe.verdict import path_requirement, path_result, refusal_basis, selection

__all__ = [
    "Alert",
    "Attempt",
    "Basis",
    "CertificateRequest",
    "ClientCertificate",
    "HttpAnswer",
    "Outcome",
    "PageKind",
    "PathResult",
    "ProbeCode",
    "ProbeError",
    "ProbeFinding",
    "ProbeResult",
    "RequestFields",
    "Requirement",
    "Selection",
    "Stage",
    "TargetInfo",
    "TlsVersion",
    "VersionResult",
    "answer_complete",
    "build_request",
    "describe_attempt",
    "parse_answer",
    "parse_certificate_request",
    "path_requirement",
    "path_result",
    "probe_findings",
    "refusal_basis",
    "selection",
]
