"""Turn what the user named on the command line into a Machine: files assigned to stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from certgate.core.stores import Machine, Store, canonical_store_name
from certgate.errors import InputError
from certgate.formats import Loaded, PasswordPrompt, load_paths

__all__ = ["StoreInputs", "build_machine"]


@dataclass(frozen=True)
class StoreInputs:
    """Paths to load into one named store."""

    store: str
    paths: tuple[str, ...]


def build_machine(
    inputs: Sequence[StoreInputs],
    *,
    base: Machine | None = None,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
    on_file: Callable[[str], None] | None = None,
) -> tuple[Machine, Loaded]:
    """Load every input into its store; return the machine and everything loaded."""
    machine = base or Machine()
    everything = Loaded()
    for item in inputs:
        if not item.paths:
            continue
        name = canonical_store_name(item.store)
        loaded = load_paths(item.paths, password=password, prompt=prompt, on_file=on_file)
        if loaded.crls and not loaded.certificates:  # a CRL alone would audit as an empty store
            raise InputError(
                ", ".join(item.paths),
                f"{len(loaded.crls)} CRL(s) and no certificate: a CRL is not a certificate store "
                f"(verify takes CRLs with --crl), so {name} would be empty",
            )
        machine = machine.with_store(machine.store(name).adding(loaded.certificates))
        everything += loaded
    return machine, everything


def machine_from_loaded(stores: dict[str, Loaded], base: Machine | None = None) -> Machine:
    machine = base or Machine()
    for name, loaded in stores.items():
        machine = machine.with_store(
            Store(name, machine.store(name).certificates).adding(loaded.certificates)
        )
    return machine
