"""What every decorator registry of rules checks when a rule registers (the audit's
``core/rules/_registry.py``, the doctor's ``core/doctor/_registry.py``), after x509-limbo's
test-case registry: an id is ``family::name``, registering one twice is refused, the
function's docstring is its explanation, and (where a registry asks for it) the id's name is
the function's name, so a rule is found from its id by reading, not by searching."""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from inspect import cleandoc

__all__ = ["checked_id", "explanation", "named_after", "unregistered"]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*::[a-z0-9][a-z0-9-]*$")


def checked_id(rule_id: str, family: str | None = None) -> str:
    """``rule_id`` when it is ``family::name`` (of ``family`` when given); else ``ValueError``."""
    if not _ID.match(rule_id):
        raise ValueError(f"rule id {rule_id!r} is not of the form family::name")
    if family is not None and not rule_id.startswith(f"{family}::"):
        raise ValueError(f"rule id {rule_id!r} is not of the family {family}::")
    return rule_id


def unregistered(rule_id: str, registered: Container[str]) -> None:
    if rule_id in registered:
        raise ValueError(f"rule {rule_id} is registered twice")


def explanation(rule_id: str, check: Callable[..., object]) -> str:
    """The rule's explanation: its docstring, which every rule must have."""
    if not check.__doc__:
        raise ValueError(f"rule {rule_id} needs a docstring: it is the explanation")
    return cleandoc(check.__doc__)


def named_after(rule_id: str, check: Callable[..., object]) -> None:
    """The id's name part must be the function's name with ``-`` for ``_``
    (``cause::missing-issuer`` is ``def missing_issuer``)."""
    name = rule_id.partition("::")[2]
    if check.__name__.replace("_", "-") != name:
        raise ValueError(
            f"rule {rule_id} is defined by {check.__name__}(): its id must be named after "
            f"the function (def {name.replace('-', '_')})"
        )
