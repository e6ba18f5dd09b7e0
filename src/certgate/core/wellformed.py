"""Is a certificate well-formed enough to judge? Defects every engine rejects, with a code.

A hostile or broken certificate must give a verdict, never a crash: a duplicated extension
(RFC 5280 §4.2: "MUST NOT include more than one instance of a particular extension"), an
extension that does not parse (a name constraint whose iPAddress is not 8 or 32 octets, a
truncated keyUsage...), a serial that is zero, negative or longer than 20 octets (§4.1.2.2),
and sizes no real PKI reaches. Each is found here once, before any other check looks at the
certificate, so no later check meets a value it cannot read.

Trust anchors are judged by their name and key (RFC 5280 §6.1.1 d): a Root certificate with
a negative serial, which real stores hold, is not refused for it (``anchor=True``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cryptography import x509

from certgate.core._cache import remembered
from certgate.core.codes import CheckCode
from certgate.core.model import Certificate

__all__ = ["MAX_CERTIFICATE_BYTES", "MAX_NAME_BYTES", "MAX_SERIAL_OCTETS", "Defect", "defects"]

MAX_CERTIFICATE_BYTES = 64 * 1024  # real certificates with hundreds of SANs stay under 16 KB
MAX_NAME_BYTES = 4096  # a subject or issuer name; ub-name and friends are far below it
MAX_SERIAL_OCTETS = 20  # RFC 5280 §4.1.2.2


@dataclass(frozen=True)
class Defect:
    code: CheckCode
    message: str


def defects(cert: Certificate, *, anchor: bool = False) -> tuple[Defect, ...]:
    """What makes ``cert`` unfit to judge, first the worst; empty when it is well-formed.
    Worked out once per certificate (and ``anchor``)."""
    return remembered(cert, ("defects", anchor), lambda: _defects(cert, anchor))


def _defects(cert: Certificate, anchor: bool) -> tuple[Defect, ...]:
    found: list[Defect] = []
    if cert.x509 is None:
        detail = cert.parse_issues[0] if cert.parse_issues else "unparseable"
        found.append(Defect(CheckCode.MALFORMED, f"malformed certificate: {detail}"))
    if len(cert.der) > MAX_CERTIFICATE_BYTES:
        found.append(
            Defect(
                CheckCode.OVERSIZE,
                f"the certificate is {len(cert.der):,} bytes, over the "
                f"{MAX_CERTIFICATE_BYTES:,}-byte limit",
            )
        )
    for role, name in (("subject", cert.subject), ("issuer", cert.issuer)):
        if len(name.der) > MAX_NAME_BYTES:
            found.append(
                Defect(
                    CheckCode.OVERSIZE,
                    f"the {role} name is {len(name.der):,} bytes, over the {MAX_NAME_BYTES:,}-byte "
                    "limit",
                )
            )
    found += _extension_defects(cert)
    if not anchor:
        found += _serial_defects(cert)
    return tuple(found)


def _extension_defects(cert: Certificate) -> list[Defect]:
    problem: Exception | None = None
    if cert.x509 is not None:
        try:
            cert.x509.extensions  # noqa: B018 - parse every extension now
        except Exception as exc:  # ValueError, DuplicateExtension, UnsupportedGeneralNameType
            problem = exc
    counts = Counter(oid for oid, _ in cert.extensions)  # the lenient reader's view too
    twice = sorted(oid for oid, n in counts.items() if n > 1)
    if twice or isinstance(problem, x509.DuplicateExtension):
        shown = ", ".join(twice) or str(problem)
        return [
            Defect(
                CheckCode.DUPLICATE_EXTENSION,
                f"extension {shown} appears more than once (RFC 5280 §4.2 forbids it)",
            )
        ]
    if problem is not None:
        return [Defect(CheckCode.MALFORMED_EXTENSION, f"an extension does not parse: {problem}")]
    return []


def _serial_defects(cert: Certificate) -> list[Defect]:
    serial = cert.serial
    if serial <= 0:
        what = "zero" if serial == 0 else "negative"
        return [
            Defect(
                CheckCode.BAD_SERIAL,
                f"the serial number is {what} ({cert.serial_hex}); RFC 5280 §4.1.2.2 requires "
                "a positive integer",
            )
        ]
    octets = serial.bit_length() // 8 + 1  # DER INTEGER content length of a positive value
    if octets > MAX_SERIAL_OCTETS:
        return [
            Defect(
                CheckCode.BAD_SERIAL,
                f"the serial number is {octets} octets, over RFC 5280's {MAX_SERIAL_OCTETS}",
            )
        ]
    return []
