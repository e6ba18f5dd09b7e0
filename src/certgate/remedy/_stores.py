"""The file-store equivalent of moving certificates between stores: the same change made to
store files (PEM bundles, .sst exports), for servers whose trust store *is* a file, and to check
a fix before touching Windows. Idempotent: applying it to its own output changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from pathlib import Path

from certgate.core.model import Certificate
from certgate.formats import load_file
from certgate.formats.sst import dump_sst

__all__ = ["cleaned_name", "move_between", "move_in_files", "pem_text", "store_bytes"]


def pem_text(certs: Iterable[Certificate]) -> bytes:
    out = []
    for cert in certs:
        body = base64.b64encode(cert.der).decode()
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        out.append(
            "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
        )
    return "".join(out).encode()


def store_bytes(certs: Sequence[Certificate], fmt: str) -> bytes:
    """``pem`` or ``sst`` (friendly names kept), certificates in the given order."""
    if fmt == "sst":
        return dump_sst([(c.der, c.friendly_name) for c in certs])
    return pem_text(certs)


def move_between(
    source: Sequence[Certificate], target: Sequence[Certificate], sha1s: Iterable[str]
) -> tuple[list[Certificate], list[Certificate]]:
    """(source without the certificates, target with them once): order otherwise kept."""
    wanted = {s.upper() for s in sha1s}
    moved = [c for c in source if c.sha1 in wanted]
    kept = [c for c in source if c.sha1 not in wanted]
    present = {c.sha1 for c in target}
    added = list(target)
    for cert in moved:
        if cert.sha1 not in present:
            added.append(cert)
            present.add(cert.sha1)
    return kept, added


def move_in_files(source: Path, target: Path | None, sha1s: Iterable[str]) -> tuple[bytes, bytes]:
    """The new contents of two store files after the move, in each file's own format."""
    source_certs = list(load_file(source).certificates)
    target_certs = list(load_file(target).certificates) if target and target.exists() else []
    kept, added = move_between(source_certs, target_certs, sha1s)
    return (
        store_bytes(kept, _format(source)),
        store_bytes(added, _format(target or source)),
    )


def _format(path: Path) -> str:
    return "sst" if path.suffix.casefold() == ".sst" else "pem"


def cleaned_name(path: Path) -> Path:
    """``roots.pem`` -> ``roots.cleaned.pem``: written beside the original, never over it."""
    return path.with_name(f"{path.stem}.cleaned{path.suffix}")
