"""certgate: TLS client-certificate authentication, diagnosed, verified and enforced.

The public API is exactly ``__all__`` (tests/test_exported_members.py keeps it equal to the
list the README teaches); everything else is internal and may change. Names are imported on
first use: the engines pull in OpenSSL bindings and the gate Twisted, which commands such as
``certgate explain`` never need. Test helpers are ``certgate.testing``; the demo ``certgate.demo``.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from certgate.errors import CertgateError, InputError, UsageError

if _typing.TYPE_CHECKING:
    from certgate.asgi import ClientCertMiddleware
    from certgate.core.doctor import SampleClient, SymptomBuilder, diagnose
    from certgate.core.engines import Verdict, VerifyRequest, verify, verify_fast
    from certgate.core.gate import Judge, judge_once
    from certgate.core.kb import describe, knowledge_base
    from certgate.core.logsummary import summarise
    from certgate.core.model import Certificate, SelfSigned
    from certgate.core.stores import Machine, Store
    from certgate.gate.client import ClientIdentity, fetch
    from certgate.gate.config import load_policy
    from certgate.gate.runner import running_gate
    from certgate.logs import LogScan, read_events

__version__ = "0.1.0"

__all__ = [
    "CertgateError",
    "Certificate",
    "ClientCertMiddleware",
    "ClientIdentity",
    "InputError",
    "Judge",
    "LogScan",
    "Machine",
    "SampleClient",
    "SelfSigned",
    "Store",
    "SymptomBuilder",
    "UsageError",
    "Verdict",
    "VerifyRequest",
    "__version__",
    "describe",
    "diagnose",
    "fetch",
    "judge_once",
    "knowledge_base",
    "load_policy",
    "read_events",
    "running_gate",
    "summarise",
    "verify",
    "verify_fast",
]

_LAZY = {
    "Certificate": "certgate.core.model",
    "SelfSigned": "certgate.core.model",
    "Machine": "certgate.core.stores",
    "Store": "certgate.core.stores",
    "Verdict": "certgate.core.engines",
    "VerifyRequest": "certgate.core.engines",
    "verify": "certgate.core.engines",
    "verify_fast": "certgate.core.engines",
    "SampleClient": "certgate.core.doctor",
    "SymptomBuilder": "certgate.core.doctor",
    "diagnose": "certgate.core.doctor",
    "describe": "certgate.core.kb",
    "knowledge_base": "certgate.core.kb",
    "LogScan": "certgate.logs",
    "read_events": "certgate.logs",
    "summarise": "certgate.core.logsummary",
    "ClientCertMiddleware": "certgate.asgi",
    "load_policy": "certgate.gate.config",
    "running_gate": "certgate.gate.runner",
    "ClientIdentity": "certgate.gate.client",
    "fetch": "certgate.gate.client",
    "Judge": "certgate.core.gate",
    "judge_once": "certgate.core.gate",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'certgate' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value
