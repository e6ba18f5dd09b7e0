"""The values a diagnosis is made of: evidence, symptoms, fixes and their what-if, causes.

A rule of the diagnosis registry yields ``Claim`` values; the engine turns claims into ranked
``Cause`` objects (titled by the rule), adds the log evidence and the what-if of each fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from certgate.core.changes import (
    AddCertificates,
    MachineChange,
    MoveCertificate,
    MoveIisMapping,
    SetBindingParameters,
    SetSendIssuerList,
    SetTrustMode,
)
from certgate.core.confidence import Confidence
from certgate.core.engines import Verdict
from certgate.core.logsummary import LogSummary, Occurrence
from certgate.core.model import Certificate
from certgate.core.settings import SslBinding
from certgate.core.stores import Machine
from certgate.exitcode import ExitCode

__all__ = [
    "Action",
    "Cause",
    "CertRef",
    "ChangeGroupPolicy",
    "Claim",
    "ClientChange",
    "Diagnosis",
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
    "SampleClient",
    "SetSchannelValue",
    "Strength",
    "Symptom",
    "UpdateBinding",
]


class EvidenceKind(StrEnum):
    CERTIFICATE = "certificate"  # a certificate in a store, or the sample client certificate
    SETTING = "setting"  # a registry value (or the Windows default assumed)
    BINDING = "binding"  # an HTTP.sys SSL binding
    IIS = "iis"  # IIS configuration
    LOG = "log"  # log lines
    VERDICT = "verdict"  # the windows engine's judgement of a client certificate
    UNKNOWN = "unknown"  # something the bundle did not say


@dataclass(frozen=True)
class Evidence:
    """One fact behind a cause, with where it came from and how sure the fact is."""

    kind: EvidenceKind
    text: str
    source: str | None = None  # "schannel.reg:4", "default", "Root.sst", "service.svclog"
    confidence: Confidence = Confidence.CONFIRMED
    sha1: str | None = None
    lines: tuple[str, ...] = ()  # log locations: first and last occurrence

    def __str__(self) -> str:
        mark = "" if self.confidence is Confidence.CONFIRMED else f" [{self.confidence.value}]"
        where = f" ({self.source})" if self.source else ""
        return f"{self.text}{where}{mark}"


class Strength(StrEnum):
    """How directly the machine itself proves a claim (before any corroboration)."""

    PROVEN = "proven"  # the configuration or certificate says so
    LIKELY = "likely"  # the configuration makes it very probable
    POSSIBLE = "possible"  # circumstantial, or a part of the machine is unknown


class Likelihood(StrEnum):
    """A cause's confidence once symptoms and client verdicts are weighed."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# -- what a fix does, as data (rendered to scripts outside the core) -------------------------
# Each action carries what a script needs (subjects, registry names, the binding as read) and
# ``changes``: the typed changes (core.changes) the what-if applies to a copy of the machine.
# A change is checked when it is built; one built from bundle data that fails its check makes
# that fix's what-if an error, never the rule.


@dataclass(frozen=True)
class CertRef:
    """A certificate a fix acts on; ``certificate`` is None when it is known only from a
    listing (scripts need the thumbprint alone; a what-if needs the certificate)."""

    sha1: str
    subject: str
    certificate: Certificate | None = None


@dataclass(frozen=True)
class MoveCertificates:
    certificates: tuple[CertRef, ...]
    source: str
    target: str

    @property
    def changes(self) -> tuple[MoveCertificate, ...]:
        """The typed change of each move (``ValueError`` for a certificate with no SHA-1)."""
        return tuple(MoveCertificate(c.sha1, self.source, self.target) for c in self.certificates)


@dataclass(frozen=True)
class ChangeGroupPolicy:
    """Move certificates from ``source`` to ``target`` in the GPO(s) that deliver them: a local
    move is undone at the next policy refresh (docs/physical-stores.md)."""

    certificates: tuple[CertRef, ...]
    source: str
    target: str

    @property
    def changes(self) -> tuple[MoveCertificate, ...]:
        """What the policy change does to the machine: the same moves."""
        return tuple(MoveCertificate(c.sha1, self.source, self.target) for c in self.certificates)


@dataclass(frozen=True)
class ImportCertificates:
    store: str
    certificates: tuple[Certificate, ...]

    @property
    def changes(self) -> tuple[AddCertificates]:
        return (AddCertificates(self.store, self.certificates),)


@dataclass(frozen=True)
class SetSchannelValue:
    name: str  # ClientAuthTrustMode, SendTrustedIssuerList
    value: int
    remove: tuple[str, ...] = ()  # misspelled value names to delete
    reboot: bool = True

    def __post_init__(self) -> None:
        self.change  # noqa: B018 - checked once, when the fix is built

    @property
    def change(self) -> SetTrustMode | SetSendIssuerList | None:
        """The typed change for the values a what-if models (None for any other name)."""
        name = self.name.casefold()
        if name == "clientauthtrustmode":
            return SetTrustMode(self.value)
        if name == "sendtrustedissuerlist":
            return SetSendIssuerList(self.value)
        return None

    @property
    def changes(self) -> tuple[SetTrustMode | SetSendIssuerList, ...]:
        return () if self.change is None else (self.change,)


@dataclass(frozen=True)
class UpdateBinding:
    """``netsh http update sslcert`` for ``binding`` (as read: the script writes every other
    setting back) with ``change``."""

    binding: SslBinding
    change: SetBindingParameters

    def __post_init__(self) -> None:
        if self.change.endpoint != self.binding.endpoint:
            raise ValueError(
                f"the change is for {self.change.endpoint}, the binding {self.binding.endpoint}"
            )

    @property
    def changes(self) -> tuple[SetBindingParameters]:
        return (self.change,)

    @property
    def after(self) -> SslBinding:
        """The binding as the script leaves it."""
        return self.change.binding(self.binding)


@dataclass(frozen=True)
class MoveMappingSection:
    """Set ``iisClientCertificateMappingAuthentication`` at ``target`` (site level) instead of
    ``path`` (below site level, where IIS ignores it)."""

    path: str
    target: str

    @property
    def changes(self) -> tuple[MoveIisMapping]:
        return (MoveIisMapping(self.path, self.target),)


@dataclass(frozen=True)
class Manual:
    """A step no script can take for the user (the client side, IIS Manager)."""

    text: str

    @property
    def changes(self) -> tuple[MachineChange, ...]:
        return ()


Action = (
    MoveCertificates
    | ChangeGroupPolicy
    | ImportCertificates
    | SetSchannelValue
    | UpdateBinding
    | MoveMappingSection
    | Manual
)


@dataclass(frozen=True)
class Fix:
    """One way to remove a cause: its actions are the scripts and, applied to a copy of the
    machine, the what-if (a fix made only of ``Manual`` steps is not modelled)."""

    id: str  # stable: move-to-intermediate, trust-mode-2, ...
    title: str
    actions: tuple[Action, ...]
    preferred: bool = False
    reboot: bool = False
    notes: tuple[str, ...] = ()
    label: str = ""  # A, B, ... within its cause (set by the engine)


@dataclass(frozen=True)
class ClientChange:
    """A client certificate's windows verdict before and after a fix."""

    sha1: str
    subject: str
    before: str  # IIS status: 403.16, 200, ...
    before_code: str  # HRESULT name
    after: str
    after_code: str

    @property
    def accepted_after(self) -> bool:
        return self.after == "200"


@dataclass(frozen=True)
class FixCheck:
    """The what-if of one fix: the machine copy re-judged."""

    fix: str  # the fix id
    label: str
    modelled: bool  # False: no machine change models this fix (a client-side fix)
    cause_gone: bool = False  # the cause's rule no longer fires on the changed machine
    clients: tuple[ClientChange, ...] = ()
    error: str = ""  # the change could not be applied

    @property
    def works(self) -> bool:
        """The cause is gone and every judged client certificate is accepted."""
        return (
            self.modelled
            and not self.error
            and self.cause_gone
            and all(c.accepted_after for c in self.clients)
        )


@dataclass(frozen=True)
class Claim:
    """What a diagnosis rule asserts about one cause on this machine (its title is the
    rule's): the engine completes and ranks it."""

    summary: str
    evidence: tuple[Evidence, ...]
    explains: frozenset[str]  # knowledge-base ids of the symptoms this cause produces
    fixes: tuple[Fix, ...] = ()
    strength: Strength = Strength.PROVEN
    key: str = ""  # tells two claims of one rule apart (a store, a path); "" for one per rule
    # certgate check codes (``certgate:<code>``) a sample client's verdict shows when this
    # cause is what rejects it: that verdict corroborates the claim.
    verdict_codes: frozenset[str] = frozenset()
    # How sure the rule itself is that this machine state produces the failure: a link that is
    # this project's reading ([inferred]) or unverified ([unconfirmed]) is never "high".
    rule_confidence: Confidence = Confidence.CONFIRMED


@dataclass(frozen=True)
class Symptom:
    """Log events with the same codes: what the user saw, counted and located."""

    codes: tuple[str, ...]  # knowledge-base ids, the event's primary code first
    label: str  # "HttpsClientCertificateInvalid 0x109", "IIS 403.16 / 2148204809"
    count: int
    first: Occurrence
    last: Occurrence
    sources: tuple[str, ...]
    meaning: str | None = None
    likely: tuple[str, ...] = ()  # the knowledge base's likely causes, most likely first

    @property
    def key(self) -> str:
        return " + ".join(self.codes)


@dataclass(frozen=True)
class ObservedClient:
    """A client certificate as a log shows it (never the certificate itself)."""

    subject: str | None
    issuer: str | None
    thumbprint: str | None
    count: int
    location: str


@dataclass(frozen=True)
class SampleClient:
    """A sample client certificate with the chain it sends."""

    leaf: Certificate
    chain: tuple[Certificate, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Cause:
    id: str  # the rule id: cause::root-not-self-signed
    title: str
    confidence: Likelihood
    score: int
    summary: str
    evidence: tuple[Evidence, ...]
    fixes: tuple[Fix, ...]
    what_if: tuple[FixCheck, ...]
    explains: tuple[str, ...]  # keys of the symptoms it accounts for
    references: tuple[str, ...] = ()
    explanation: str = ""
    key: str = ""
    basis: tuple[str, ...] = ()  # why this confidence, one reason per line (docs/confidence.md)


@dataclass(frozen=True)
class Diagnosis:
    at: datetime
    causes: tuple[Cause, ...]
    symptoms: tuple[Symptom, ...]
    unexplained: tuple[Symptom, ...]
    clients: tuple[tuple[SampleClient, Verdict], ...] = ()
    observed: tuple[ObservedClient, ...] = ()
    notes: tuple[str, ...] = ()  # what the machine did not say, and the defaults assumed
    errors: tuple[str, ...] = ()  # rules that failed: said, never turned into a cause
    timeline: LogSummary | None = None
    machine: Machine = field(default_factory=Machine)
    unread: tuple[str, ...] = ()  # inputs that could not be read: "path: why"
    set_aside: tuple[str, ...] = ()  # log records read but not client-certificate evidence

    @property
    def top(self) -> Cause | None:
        return self.causes[0] if self.causes else None

    @property
    def verdict(self) -> str:
        """``causes-found``, ``symptoms-unexplained`` (the logs show failures no cause
        explains), ``incomplete`` (nothing found, but some evidence could not be read) or
        ``no-cause-found``."""
        if self.causes:
            return "causes-found"
        if self.unexplained:
            return "symptoms-unexplained"
        return "incomplete" if self.unread else "no-cause-found"

    @property
    def exit_code(self) -> ExitCode:
        """The doctor's exit code for this diagnosis (``certgate doctor`` and each server of
        ``certgate fleet doctor``): 1 a cause or failures no cause explains, else 3 a rule
        failed, else 0 (``incomplete`` included: what was unread is listed, and nothing at all
        read is refused before a diagnosis exists)."""
        if self.causes or self.unexplained:
            return ExitCode.FINDINGS
        return ExitCode.INTERNAL if self.errors else ExitCode.OK
