"""The values the knowledge base is made of: entries, their causes and references, matches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from certgate.core.confidence import Confidence

__all__ = ["Confidence", "Entry", "LikelyCause", "Match", "MatchKind", "Reference", "source_url"]


_RFC = re.compile(r"^RFC (\d{3,5})(?: §(\d+(?:\.\d+)*))?$")
_GITHUB = re.compile(r"^github:([\w.-]+/[\w.-]+)/(\S+)$")
_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("kb", re.compile(r"^KB \d{6,7}$")),  # a Microsoft Knowledge Base article
    ("rfc", _RFC),
    ("url", re.compile(r"^https://[^\s/]+\.[a-z]{2,}(?:/\S*)?$")),
    ("github", _GITHUB),  # a source file: github:owner/repo/path
    ("man", re.compile(r"^man [\w.-]+\(\d\w*\)$")),  # a manual page: man openssl-verify(1)
    ("project", re.compile(r"^(?:README\.md|docs/[\w./-]+\.md)(?:#[\w-]+)?$")),  # certgate's docs
)


@dataclass(frozen=True)
class Reference:
    """Where a fact comes from, in one of a few known forms (see ``Reference.parse``)."""

    text: str
    kind: str

    @classmethod
    def parse(cls, text: str) -> Reference:
        """``KB 2802568``, ``RFC 8446 §6.2``, ``https://...``, ``github:owner/repo/path``,
        ``man openssl-verify(1)`` or a certgate doc (``docs/windows-model.md#mixed-root``,
        ``README.md#...``); anything else is a ``ValueError``."""
        for kind, pattern in _FORMS:
            if pattern.match(text):
                return cls(text, kind)
        raise ValueError(f"reference {text!r} is not a known form (KB n, RFC n §x, https://...)")

    @property
    def url(self) -> str | None:
        if self.kind == "url":
            return self.text
        if self.kind == "kb":  # Microsoft's redirect to the article, wherever it lives now
            return f"https://support.microsoft.com/help/{self.text.split()[1]}"
        if self.kind == "rfc" and (rfc := _RFC.match(self.text)):
            anchor = f"#section-{rfc.group(2)}" if rfc.group(2) else ""
            return f"https://www.rfc-editor.org/rfc/rfc{rfc.group(1)}{anchor}"
        if self.kind == "github" and (source := _GITHUB.match(self.text)):
            return f"https://github.com/{source.group(1)}/blob/HEAD/{source.group(2)}"
        return None

    def __str__(self) -> str:
        return self.text


def source_url(text: str) -> str | None:
    """Where a reader opens a cited source (``KB 2802568``, ``RFC 8446 §4.6.2``, a URL, a
    ``github:`` file); None for the project's own docs and free text ("Schannel event 36885")."""
    try:
        return Reference.parse(text).url
    except ValueError:
        return None


@dataclass(frozen=True)
class LikelyCause:
    """One likely cause, ranked by its position, with how to confirm it."""

    text: str
    confirm: str
    confidence: Confidence


@dataclass(frozen=True)
class Entry:
    """One code: what it means, what causes it (most likely first), how to fix it.

    ``id`` is ``<family>:<code>`` (``hresult:CERT_E_UNTRUSTEDROOT``, ``iis:403.16``);
    ``name`` is the canonical symbolic name; ``value`` the number the code stands for, when it
    has one (HRESULT, alert, event id, OpenSSL verify code, CERT_TRUST bit); ``forms`` how that
    number gets printed, as (label, text) pairs; ``messages`` the exact texts the software
    prints, which free-text lookup finds inside pasted log lines.
    """

    id: str
    family: str
    code: str
    name: str
    summary: str
    meaning: str
    causes: tuple[LikelyCause, ...]
    fixes: tuple[str, ...]
    references: tuple[Reference, ...]
    confidence: Confidence
    aliases: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    value: int | None = None
    forms: tuple[tuple[str, str], ...] = ()
    group: str = ""  # the enum or field within the family: SslPolicyErrors, dwInfoStatus, ...
    common: bool = False  # seen often in client-certificate failures: ranks first when ambiguous

    def describe(self) -> str:
        """One line: ``CERT_E_UNTRUSTEDROOT (0x800B0109): <summary>``, ``IIS 403.16: ...``."""
        label = self.name
        if label[:1].isdigit() and self.family in _NUMBER_LABELS:
            label = f"{_NUMBER_LABELS[self.family]} {label}"
        shown = self.forms[0][1] if self.forms and self.forms[0][1] != self.name else None
        return f"{label} ({shown}): {self.summary}" if shown else f"{label}: {self.summary}"


# What a bare number is, for families whose names are numbers.
_NUMBER_LABELS = {
    "iis": "IIS",
    "schannel": "Schannel event",
    "capi2": "CAPI2 event",
    "nginx": "nginx",
}


class MatchKind(StrEnum):
    """How a piece of the input matched an entry."""

    ID = "id"  # hresult:CERT_E_UNTRUSTEDROOT
    NAME = "name"  # the canonical name or an alias: PartialChain, CERT_E_UNTRUSTEDROOT
    HEX = "hex"  # 0x800B0109, or 800B0109 as CAPI2 prints it
    UNSIGNED = "unsigned"  # 2148204809, as IIS logs sc-win32-status
    SIGNED = "signed"  # -2146762487, as .NET prints HResult
    LOW_WORD = "low-word"  # 0x109, as self-hosted WCF prints "native error code"
    STATUS = "status"  # 403.16, or 403 16 as the IIS log has it
    EVENT = "event"  # event 36885, EventID 262159
    ALERT = "alert"  # alert 48, "alert code is 46", "SSL alert number 42"
    VERIFY_CODE = "verify-code"  # "error 20 at 0 depth lookup", "(20:unable to ...)"
    TRUST_BITS = "trust-bits"  # one bit of a combined CERT_TRUST_* value
    MESSAGE = "message"  # a known message text inside the input
    NUMBER = "number"  # a bare number that could be several things


@dataclass(frozen=True)
class Match:
    """One reading of the input. ``rank`` 1 is the most likely; ``why`` says how it matched
    and, when the input is ambiguous, why this reading ranks where it does."""

    entry: Entry
    kind: MatchKind
    text: str  # the part of the input that matched
    why: str
    score: int  # 0-100; ranks matches, comparable within one lookup only
    rank: int = 0
