"""Every input certgate reads, one way in: a frozen ``Request`` naming what the user gave
(bundle, store files and folders, settings files, client certificates and chains, CRLs, typed
changes) and ``load(request)``, which returns the machine with where each part came from.

Commands are parse -> ``load`` -> core -> render; the gate's policy ``[trust]`` is a request
too. ``provenance(loaded)`` lists every setting (file:line, registry value, flag or default)
and every certificate (store file and element). The readers behind it: ``bundle`` (folders,
zips and single exported parts), ``settings`` (settings.toml), ``formats`` (certificate files).
"""

from __future__ import annotations

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
