"""Proposed changes to a machine (``--what-if KEY=VALUE``), applied without touching anything.

Keys: ``trust-mode=0|1|2``, ``send-issuer-list=0|1``, ``move=<sha1>:<Store>:<Store>``
(shell-safe; the quoted ``'move=<sha1>:<Store>-><Store>'`` works too), ``remove=<sha1>:<Store>``,
``ctl-store=<Store>|none``, ``cert-check-mode=<int>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from certgate.core.settings import Setting
from certgate.core.stores import Machine, canonical_store_name

__all__ = ["WHAT_IF_KEYS", "WhatIf", "parse_what_if"]

WHAT_IF_KEYS = ("trust-mode", "send-issuer-list", "move", "remove", "ctl-store", "cert-check-mode")
_MOVE_ARROW = re.compile(
    r"^(?P<sha1>[0-9A-Fa-f: ]{40,59}):(?P<source>[^>]+?)\s*->\s*(?P<target>.+)$"
)
# The shell-safe spelling: no ``>`` for bash or PowerShell to take as a redirect.
_MOVE_COLON = re.compile(
    r"^(?P<sha1>[0-9A-Fa-f: ]{40,59}):(?P<source>[A-Za-z][^:>]*):(?P<target>[A-Za-z][^:>]*)$"
)


def _move(value: str) -> re.Match[str] | None:
    """The parts of a move (sha1, source, target), in either spelling, or None."""
    for pattern in (_MOVE_ARROW, _MOVE_COLON):
        match = pattern.match(value)
        if match and len(_thumb(match["sha1"])) == 40:
            return match
    return None


_REMOVE = re.compile(r"^(?P<sha1>[0-9A-Fa-f: ]{40,59}):(?P<store>.+)$")


@dataclass(frozen=True)
class WhatIf:
    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.key}={self.value}"

    def apply(self, machine: Machine) -> Machine:
        """The machine after the change. ``ValueError`` when it cannot apply (no such cert)."""
        source = f"--what-if {self}"
        if self.key == "trust-mode":
            return machine.with_schannel(machine.schannel.with_trust_mode(int(self.value), source))
        if self.key == "send-issuer-list":
            sent = self.value in ("1", "true", "yes")
            return machine.with_schannel(machine.schannel.with_send_issuer_list(sent, source))
        if self.key == "move":
            match = _move(self.value)
            assert match is not None
            return machine.moving(_thumb(match["sha1"]), match["source"], match["target"])
        if self.key == "remove":
            match = _REMOVE.match(self.value)
            assert match is not None
            store = machine.store(match["store"])
            if not store.find(_thumb(match["sha1"])):
                raise ValueError(f"no certificate {match['sha1']} in store {store.name}")
            return machine.with_store(store.without(_thumb(match["sha1"])))
        binding = machine.binding
        if self.key == "ctl-store":
            name = None if self.value.lower() == "none" else canonical_store_name(self.value)
            binding = replace(binding, ctl_store_name=Setting(name, source))
        else:
            binding = replace(binding, cert_check_mode=Setting(int(self.value, 0), source))
        return machine.with_bindings((binding, *machine.bindings[1:]))


def parse_what_if(text: str) -> WhatIf:
    """``KEY=VALUE`` -> WhatIf; ``ValueError`` with a usable message otherwise."""
    key, sep, value = text.partition("=")
    key, value = key.strip().lower(), value.strip()
    if not sep or key not in WHAT_IF_KEYS:
        raise ValueError(f"{text!r}: expected KEY=VALUE with KEY one of {', '.join(WHAT_IF_KEYS)}")
    if key == "trust-mode" and value not in ("0", "1", "2"):
        raise ValueError(f"trust-mode must be 0, 1 or 2, not {value!r}")
    if key == "send-issuer-list" and value.lower() not in ("0", "1", "true", "false", "yes", "no"):
        raise ValueError(f"send-issuer-list must be 0 or 1, not {value!r}")
    if key == "move" and not _move(value):
        raise ValueError(
            f"move must be <sha1>:<Store>:<Store>, e.g. 0A1B...:Root:CA; not {value!r}"
        )
    if key == "remove" and not _REMOVE.match(value):
        raise ValueError(f"remove must be <sha1>:<Store>; not {value!r}")
    if key == "ctl-store" and value.lower() != "none":
        canonical_store_name(value)
    if key == "cert-check-mode":
        try:
            if int(value, 0) < 0:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"cert-check-mode must be a non-negative integer, not {value!r}"
            ) from None
    return WhatIf(key, value)


def _thumb(text: str) -> str:
    return text.replace(":", "").replace(" ", "").upper()
