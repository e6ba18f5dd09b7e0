"""Every input certgate reads, one way in: a frozen ``Request`` naming what the user gave
(bundle, store files and folders, settings files, client certificates and chains, CRLs, typed
changes) and ``load(request)``, which returns the machine with where each part came from.

Commands are parse -> ``load`` -> core -> render; the gate's policy ``[trust]`` is a request
too. ``provenance(loaded)`` lists every setting (file:line, registry value, flag or default)
and every certificate (store file and element). The readers behind it: ``bundle`` (folders,
zips and single exported parts), ``settings`` (settings.toml), ``formats`` (certificate files).
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from certgate.inputs._load import (
        CTL_STORE,
        ClientChain,
        ClientFiles,
        Failure,
        LoadedInputs,
        Request,
        load,
    )
    from certgate.inputs._provenance import Origin, provenance, setting_origins
    from certgate.inputs._stores import StoreFiles

__all__ = [
    "CTL_STORE",
    "ClientChain",
    "ClientFiles",
    "Failure",
    "LoadedInputs",
    "Origin",
    "Request",
    "StoreFiles",
    "load",
    "provenance",
    "setting_origins",
]

# Imported on first use: ``StoreFiles`` alone (audit's streamed stores) must not pull in
# every bundle reader.
_LAZY = {
    **dict.fromkeys(
        ("CTL_STORE", "ClientChain", "ClientFiles", "Failure", "LoadedInputs", "Request", "load"),
        "certgate.inputs._load",
    ),
    **dict.fromkeys(("Origin", "provenance", "setting_origins"), "certgate.inputs._provenance"),
    "StoreFiles": "certgate.inputs._stores",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'certgate.inputs' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value
