"""certgate: TLS client-certificate authentication, diagnosed, verified and enforced."""

from certgate.core.engines import Verdict, VerifyRequest, verify, verify_fast
from certgate.core.model import Certificate, SelfSigned
from certgate.core.stores import Machine, Store
from certgate.errors import CertgateError, InputError, UsageError

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
