"""``make demo``: the support case behind certgate, built and diagnosed on any machine.

An IIS server whose LocalMachine\\Root holds an intermediate CA next to real roots: every
client certificate gets 403.16. The demo writes that store as a Windows .sst export and
audits it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from certgate.cli import main
from certgate.testing import PKI, Issued, KeyType, sst_bundle

__all__ = ["build_demo_store", "run"]


def build_demo_store(folder: Path) -> Path:
    """Write ``Root.sst``: three genuine roots plus one misplaced intermediate."""
    pki = PKI()
    contoso = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
    issuing = contoso.intermediate("CN=Contoso Issuing CA 01,O=Contoso Ltd,C=US", path_length=0)
    others = [
        pki.root("CN=Fabrikam Root CA,O=Fabrikam Inc,C=US", key=KeyType.P256),
        pki.root("CN=Northwind Root CA,O=Northwind Traders,C=GB"),
    ]
    entries: list[tuple[Issued, str]] = [(contoso, "Contoso Root CA")]
    entries += [(root, root.name) for root in others]
    entries.append((issuing, "Contoso Issuing CA 01"))  # the mistake: an intermediate in Root
    path = folder / "Root.sst"
    path.write_bytes(sst_bundle([(item.x509, name) for item, name in entries]))
    return path


def run(argv: list[str] | None = None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="certgate-demo-"))
    store = build_demo_store(folder)
    print(f"Demo: an IIS server's Trusted Root store, exported as {store}")
    print(f"$ certgate audit {store}\n")
    code = main(["audit", str(store), *(argv or [])])
    return 0 if code in (0, 1) else code  # finding the planted problem is the demo's success


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
