"""What the gate answers: allow with an identity, or deny the way IIS would, with the reason."""

from __future__ import annotations

from dataclasses import dataclass

from certgate.core.codes import HRESULTS, GateCode, hresult_forms, kb_id
from certgate.core.gate.mapping import MappingResult
from certgate.core.model import Certificate

__all__ = ["Decision", "GateCode"]


@dataclass(frozen=True)
class Decision:
    """One answer. ``status``/``substatus`` as IIS logs them; ``code`` names the cause:
    an HRESULT name (``CERT_E_UNTRUSTEDROOT``) or a ``GateCode``; ``explain`` is the
    knowledge-base id ``certgate explain`` takes."""

    status: int
    substatus: int
    code: str
    explain: str
    reason: str
    hresult: int = 0
    caveats: tuple[str, ...] = ()
    certificate: Certificate | None = None
    mapping: MappingResult | None = None

    @property
    def allowed(self) -> bool:
        return self.status < 400

    @property
    def iis_status(self) -> str:
        return f"{self.status}.{self.substatus}" if self.substatus else str(self.status)

    @property
    def hresult_hex(self) -> str:
        return hresult_forms(self.hresult).hex

    @property
    def win32_status(self) -> int:
        """``sc-win32-status`` as IIS logs it: the Win32 code of a FACILITY_WIN32 HRESULT
        (``403 7 5``), else the unsigned decimal (``403 16 2148204809``)."""
        return hresult_forms(self.hresult).win32_status

    @property
    def identity(self) -> str | None:
        return self.mapping.identity if self.mapping is not None and self.allowed else None


def allow(certificate: Certificate | None, mapping: MappingResult | None) -> Decision:
    return Decision(200, 0, "S_OK", "", "", 0, (), certificate, mapping)


def gate_deny(
    iis_status: str,
    code: GateCode,
    reason: str,
    hresult_name: str,
    *,
    caveats: tuple[str, ...] = (),
    certificate: Certificate | None = None,
    mapping: MappingResult | None = None,
) -> Decision:
    """A denial for one of the gate's own reasons, explained by its knowledge-base entry."""
    explain = kb_id("certgate", code.value)
    return deny(
        iis_status,
        code.value,
        explain,
        reason,
        hresult_name,
        caveats=caveats,
        certificate=certificate,
        mapping=mapping,
    )


def deny(
    iis_status: str,
    code: str,
    explain: str,
    reason: str,
    hresult_name: str,
    *,
    caveats: tuple[str, ...] = (),
    certificate: Certificate | None = None,
    mapping: MappingResult | None = None,
) -> Decision:
    status, _, sub = iis_status.partition(".")
    return Decision(
        int(status),
        int(sub or 0),
        code,
        explain,
        reason,
        HRESULTS[hresult_name],
        caveats,
        certificate,
        mapping,
    )
