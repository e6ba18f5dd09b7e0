"""Apply a fix's actions to a copy of a machine: the what-if.

Every action is modelled by typed changes (``core.changes``, the action's ``changes``), each
checked when built and applied with ``apply(machine)``. Where ``certgate verify --what-if``
has a key for a change (``move=``, ``trust-mode=``, ``send-issuer-list=``, ``ctl-store=``,
``cert-check-mode=``) that key is shown, so the user can rerun it.
"""

from __future__ import annotations

from certgate.core.changes import Change, SetCertCheckMode
from certgate.core.doctor._model import Action, UpdateBinding
from certgate.core.stores import Machine

__all__ = ["apply_actions", "what_if_keys"]


def what_if_keys(action: Action) -> tuple[Change, ...]:
    """The ``--what-if`` changes that model ``action`` (empty when there is no key for it)."""
    if isinstance(action, UpdateBinding):
        return _binding_keys(action)
    return tuple(c for c in action.changes if isinstance(c, Change))


def _binding_keys(action: UpdateBinding) -> tuple[Change, ...]:
    """``ctl-store=`` and ``cert-check-mode=`` act on the first binding: the same update when
    the machine has one binding."""
    change = action.change
    keys: list[Change] = [] if change.ctl_store is None else [change.ctl_store]
    if change.changes_check_mode:
        keys.append(SetCertCheckMode(action.after.cert_check_mode.value))
    return tuple(keys)


def apply_actions(machine: Machine, actions: tuple[Action, ...]) -> Machine:
    """The machine after every action's changes; ``ValueError`` when one cannot be built or
    applied."""
    for action in actions:
        for change in action.changes:
            machine = change.apply(machine)
    return machine
