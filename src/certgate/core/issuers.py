"""The trusted-issuer list Schannel derives from a machine's stores (Windows Server 2012+).

Sources, in order (docs/windows-model.md#issuer-list, [confirmed]): the binding's CTL store
when it holds certificates; else ClientAuthIssuer when it holds certificates; else Root. An
empty or missing CTL store falls through ("If no certificates exist in the application-defined
store, then Schannel checks the Client Authentication Issuers store"). When the Root store mixes
self-signed and non-self-signed certificates, only the non-self-signed ones form the list: the
KB 2802568 mechanism. The list's wire size is capped at 16 KB (KB 933430, event 36885).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from certgate.core.model import Certificate, SelfSigned
from certgate.core.stores import CLIENT_AUTH_ISSUER, ROOT, Machine, canonical_store_name

__all__ = [
    "ISSUER_LIST_LIMIT",
    "MIXED_ROOT",
    "IssuerList",
    "IssuerListSummary",
    "counts_as_self_signed",
    "issuer_list_bytes",
    "issuer_list_source",
    "trusted_issuer_list",
]

ISSUER_LIST_LIMIT = 16 * 1024


@dataclass(frozen=True)
class IssuerList:
    """What Schannel would treat as trusted issuers, and why."""

    source: str  # the store the list comes from
    reason: str  # why that store
    certificates: tuple[Certificate, ...]
    reduced: tuple[Certificate, ...] = ()  # self-signed roots dropped by the mixed-Root rule
    size: int = 0  # bytes in a TLS CertificateRequest [inferred accounting, see issuer_list_bytes]

    @property
    def mixed_root(self) -> bool:
        """True when the KB 2802568 reduction applied (Root mixes self-signed and others)."""
        return bool(self.reduced)

    @property
    def over_limit(self) -> bool:
        return self.size > ISSUER_LIST_LIMIT

    def summary(self) -> IssuerListSummary:
        return IssuerListSummary(
            self.source, self.reason, len(self.certificates), self.size, self.mixed_root
        )


@dataclass(frozen=True)
class IssuerListSummary:
    """The list's source, reason, CA count and size, without the certificates (what an audit
    reports; a streamed audit works it out from its per-store tallies)."""

    source: str
    reason: str
    count: int
    size: int
    mixed_root: bool = False

    @property
    def over_limit(self) -> bool:
        return self.size > ISSUER_LIST_LIMIT


def issuer_list_bytes(certs: tuple[Certificate, ...]) -> int:
    """Σ (2-byte length + DER subject) over the list: the certificate_authorities encoding.

    That the 16 KB cap counts exactly these bytes is [unconfirmed]
    (docs/windows-model.md#issuer-list-size).
    """
    return sum(2 + len(c.subject.der) for c in certs)


def trusted_issuer_list(machine: Machine) -> IssuerList:
    """The machine's list, worked out once per machine and kept."""
    return machine.derived(trusted_issuer_list, _issuer_list)


def _issuer_list(machine: Machine) -> IssuerList:
    source, reason = issuer_list_source(
        machine, lambda name: len(machine.store(name)), machine.knows
    )
    certs = _unique(machine.store(source).certificates)
    if source != ROOT:
        return _listed(source, reason, certs)
    others = tuple(c for c in certs if not counts_as_self_signed(c))
    if others and len(others) < len(certs):
        kept_out = tuple(c for c in certs if counts_as_self_signed(c))
        return _listed(ROOT, reason + MIXED_ROOT, others, reduced=kept_out)
    return _listed(ROOT, reason, certs)


MIXED_ROOT = (
    "; it mixes self-signed and non-self-signed certificates, so only the non-self-signed ones "
    "are trusted issuers"
)


def issuer_list_source(
    machine: Machine, count: Callable[[str], int], knows: Callable[[str], bool]
) -> tuple[str, str]:
    """(the store the list comes from, why), before Root's mixed-store reduction (the caller
    appends ``MIXED_ROOT`` to the reason when it applies). ``count(name)``: how many
    certificates store ``name`` holds; ``knows(name)``: whether it was exported at all (a
    streamed audit answers both from its tallies, not from ``machine``'s stores)."""
    binding = machine.binding
    ctl = binding.ctl_store_name.value
    skipped = ""
    if ctl:
        name = canonical_store_name(ctl)
        where = binding.ctl_store_name.source or "binding"
        if count(name):
            return name, f"the binding names CTL store {name} ({where})"
        state = "is empty" if knows(ctl) else "was not exported (taken as empty)"
        skipped = f"the binding's CTL store {name} {state}, so Schannel falls through; "
    if count(CLIENT_AUTH_ISSUER):
        return CLIENT_AUTH_ISSUER, f"{skipped}ClientAuthIssuer holds certificates"
    return ROOT, f"{skipped}Root is used (no CTL store certificates, ClientAuthIssuer empty)"


def _listed(
    source: str,
    reason: str,
    certs: tuple[Certificate, ...],
    reduced: tuple[Certificate, ...] = (),
) -> IssuerList:
    return IssuerList(source, reason, certs, reduced=reduced, size=issuer_list_bytes(certs))


def counts_as_self_signed(cert: Certificate) -> bool:
    """Self-signed for the issuer-list rule.

    A certificate whose names match but whose signature we cannot check (MD2 roots, still in
    Microsoft's root list) counts as self-signed when its key identifiers do not contradict it:
    Windows verifies MD2 and would see it as self-signed [inferred]. One that verifiably fails
    its own signature does not count.
    """
    if cert.self_signed is SelfSigned.YES:
        return True
    if cert.self_signed is SelfSigned.UNKNOWN:
        aki = cert.authority_key_identifier
        return aki is None or aki == cert.subject_key_identifier
    return False


def _unique(certs: tuple[Certificate, ...]) -> tuple[Certificate, ...]:
    return tuple(dict.fromkeys(certs))
