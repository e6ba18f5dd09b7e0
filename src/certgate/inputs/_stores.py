"""Store files the user named (``--root``, ``--add CA=...``, a policy's ``[trust.stores]``) into
the stores of a machine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from certgate.core.stores import Machine, Store, canonical_store_name
from certgate.errors import InputError
from certgate.formats import Loaded, PasswordPrompt, load_file, load_paths

__all__ = ["StoreFiles", "load_store", "machine_from_loaded"]


@dataclass(frozen=True)
class StoreFiles:
    """Files and folders to load into one named store (checked as a store name when built)."""

    store: str
    paths: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "store", canonical_store_name(self.store))


def load_store(
    files: StoreFiles,
    *,
    password: bytes | None = None,
    prompt: PasswordPrompt | None = None,
    on_file: Callable[[str], None] | None = None,
    each: bool = False,
) -> tuple[Loaded, list[InputError]]:
    """Everything in ``files``. By default one bad file among several is a warning and all bad
    raise (``load_paths``); with ``each`` every bad file is returned as an error instead."""
    errors: list[InputError] = []
    if each:
        loaded = Loaded()
        for path in files.paths:
            try:
                loaded += load_file(path, password=password, prompt=prompt, on_file=on_file)
            except InputError as exc:
                errors.append(exc)
    else:
        loaded = load_paths(files.paths, password=password, prompt=prompt, on_file=on_file)
    if loaded.crls and not loaded.certificates:  # a CRL alone would audit as an empty store
        errors.append(
            InputError(
                ", ".join(files.paths),
                f"{len(loaded.crls)} CRL(s) and no certificate: a CRL is not a certificate store "
                f"(verify takes CRLs with --crl), so {files.store} would be empty",
            )
        )
    if errors and not each:
        raise errors[0]
    return loaded, errors


def machine_from_loaded(stores: dict[str, Loaded], base: Machine | None = None) -> Machine:
    machine = base or Machine()
    for name, loaded in stores.items():
        machine = machine.with_store(
            Store(name, machine.store(name).certificates).adding(loaded.certificates)
        )
    return machine
