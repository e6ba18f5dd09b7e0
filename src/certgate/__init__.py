"""certgate: TLS client-certificate authentication, diagnosed, verified and enforced.

The trust engines (``verify``, ``verify_fast``, ``Verdict``, ``VerifyRequest``) are imported on
first use: they pull in OpenSSL bindings that commands such as ``certgate explain`` never need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from certgate.errors import CertgateError, InputError, UsageError

if TYPE_CHECKING:
    from certgate.core.engines import Verdict, VerifyRequest, verify, verify_fast
    from certgate.core.model import Certificate, SelfSigned
    from certgate.core.stores import Machine, Store

__version__ = "0.1.0"

__all__ = [
    "CertgateError",
    "Certificate",
    "InputError",
    "Machine",
    "SelfSigned",
    "Store",
    "UsageError",
    "Verdict",
    "VerifyRequest",
    "__version__",
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
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'certgate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
