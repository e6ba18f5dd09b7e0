"""The parser of ``--what-if KEY=VALUE`` strings users type: each becomes a typed change
(``core.changes``) that applies itself to a copy of a machine, touching nothing.

Keys: ``trust-mode=0|1|2``, ``send-issuer-list=0|1``, ``move=<sha1>:<Store>:<Store>``
(shell-safe; the quoted ``'move=<sha1>:<Store>-><Store>'`` works too), ``remove=<sha1>:<Store>``,
``ctl-store=<Store>|none``, ``cert-check-mode=<int>``.
"""

from __future__ import annotations

import re

from certgate.core.changes import (
    CHANGE_KEYS,
    Change,
    MoveCertificate,
    RemoveCertificate,
    SetCertCheckMode,
    SetCtlStore,
    SetSendIssuerList,
    SetTrustMode,
    normalise_thumbprint,
)

__all__ = ["WHAT_IF_KEYS", "parse_what_if"]

WHAT_IF_KEYS = CHANGE_KEYS
_MOVE_ARROW = re.compile(
    r"^(?P<sha1>[0-9A-Fa-f: ]{40,59}):(?P<source>[^>]+?)\s*->\s*(?P<target>.+)$"
)
# The shell-safe spelling: no ``>`` for bash or PowerShell to take as a redirect.
_MOVE_COLON = re.compile(
    r"^(?P<sha1>[0-9A-Fa-f: ]{40,59}):(?P<source>[A-Za-z][^:>]*):(?P<target>[A-Za-z][^:>]*)$"
)
_REMOVE = re.compile(r"^(?P<sha1>[0-9A-Fa-f: ]{40,59}):(?P<store>.+)$")
_DECIMAL = re.compile(r"[0-9]{1,9}")
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def parse_what_if(text: str) -> Change:
    """``KEY=VALUE`` as the user typed it -> a typed change; ``ValueError`` with a usable
    message otherwise (the change's own check runs when it is built)."""
    key, sep, value = text.partition("=")
    key, value = key.strip().lower(), value.strip()
    if not sep or key not in WHAT_IF_KEYS:
        raise ValueError(f"{text!r}: expected KEY=VALUE with KEY one of {', '.join(WHAT_IF_KEYS)}")
    spelling = f"{key}={value}"
    if key == "trust-mode":
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f"trust-mode must be an integer, not {value!r}")
        return SetTrustMode(int(value), spelling=spelling)
    if key == "send-issuer-list":
        if value.lower() not in _TRUE + _FALSE:
            raise ValueError(f"send-issuer-list must be 0 or 1, not {value!r}")
        return SetSendIssuerList(value.lower() in _TRUE, spelling=spelling)
    if key == "move":
        match = _move(value)
        if match is None:
            raise ValueError(
                f"move must be <sha1>:<Store>:<Store>, e.g. 0A1B...:Root:CA; not {value!r}"
            )
        return MoveCertificate(match["sha1"], match["source"], match["target"], spelling=spelling)
    if key == "remove":
        found = _REMOVE.match(value)
        if found is None or len(normalise_thumbprint(found["sha1"])) != 40:
            raise ValueError(f"remove must be <sha1>:<Store>; not {value!r}")
        return RemoveCertificate(found["sha1"], found["store"], spelling=spelling)
    if key == "ctl-store":
        return SetCtlStore(None if value.lower() == "none" else value, spelling=spelling)
    try:
        mode = int(value, 0)
    except ValueError:
        raise ValueError(f"cert-check-mode must be an integer, not {value!r}") from None
    return SetCertCheckMode(mode, spelling=spelling)


def _move(value: str) -> re.Match[str] | None:
    """The parts of a move (sha1, source, target), in either spelling, or None."""
    for pattern in (_MOVE_ARROW, _MOVE_COLON):
        match = pattern.match(value)
        if match and len(normalise_thumbprint(match["sha1"])) == 40:
            return match
    return None
