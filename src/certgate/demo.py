"""``make demo``: the support case behind certgate, built and diagnosed on any machine.

An IIS server whose LocalMachine\\Root holds an intermediate CA next to real roots: every
client certificate gets 403.16. The demo writes that store as a Windows .sst export and
audits it.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from certgate.cli import main
from certgate.testing import PKI, Issued, KeyType, pkcs7_bundle, sst_bundle

__all__ = ["DemoMachine", "build_demo_machine", "build_demo_store", "run"]


def _demo_pki(pki: PKI) -> tuple[Issued, Issued, list[tuple[Issued, str]]]:
    contoso = pki.root("CN=Contoso Root CA,O=Contoso Ltd,C=US")
    issuing = contoso.intermediate("CN=Contoso Issuing CA 01,O=Contoso Ltd,C=US", path_length=0)
    others = [
        pki.root("CN=Fabrikam Root CA,O=Fabrikam Inc,C=US", key=KeyType.P256),
        pki.root("CN=Northwind Root CA,O=Northwind Traders,C=GB"),
    ]
    entries: list[tuple[Issued, str]] = [(contoso, "Contoso Root CA")]
    entries += [(root, root.name) for root in others]
    entries.append((issuing, "Contoso Issuing CA 01"))  # the mistake: an intermediate in Root
    return contoso, issuing, entries


def build_demo_store(folder: Path) -> Path:
    """Write ``Root.sst``: three genuine roots plus one misplaced intermediate."""
    _, _, entries = _demo_pki(PKI())
    path = folder / "Root.sst"
    path.write_bytes(sst_bundle([(item.x509, name) for item, name in entries]))
    return path


@dataclass(frozen=True)
class DemoMachine:
    folder: Path  # the machine bundle: Root.sst, CA.p7b
    client: Path  # client.pem: the user's certificate
    chain: Path  # chain.pem: the intermediate the client sends with it
    misplaced_sha1: str  # the intermediate sitting in Root
    key: Path  # client.key: the client certificate's private key (live requests to the gate)


def build_demo_machine(folder: Path, pki: PKI | None = None) -> DemoMachine:
    """Write a machine bundle for ``certgate verify``: the KB 2802568 server, and a client.

    The server's Root holds genuine roots plus a misplaced intermediate (Contoso Issuing CA
    01); its CA store holds Contoso Issuing CA 02, which issued the client certificate. Under
    the default ClientAuthTrustMode=0 the client gets 403.16; ``--what-if trust-mode=2``
    accepts it.
    """
    pki = pki or PKI()
    contoso, misplaced, entries = _demo_pki(pki)
    issuing = contoso.intermediate("CN=Contoso Issuing CA 02,O=Contoso Ltd,C=US", path_length=0)
    client = issuing.client(
        "CN=alice,OU=Finance,O=Contoso Ltd,C=US", san=["email:alice@contoso.example"]
    )
    bundle = folder / "machine"
    bundle.mkdir(parents=True, exist_ok=True)
    (bundle / "Root.sst").write_bytes(sst_bundle([(i.x509, name) for i, name in entries]))
    (bundle / "CA.p7b").write_bytes(pkcs7_bundle([issuing]))
    client_pem = client.write_pem(folder / "client.pem")
    chain_pem = issuing.write_pem(folder / "chain.pem")
    key = client.write_key(folder / "client.key")
    return DemoMachine(bundle, client_pem, chain_pem, misplaced.sha1, key)


def run(argv: list[str] | None = None) -> int:
    folder = Path(tempfile.mkdtemp(prefix="certgate-demo-"))
    store = build_demo_store(folder)
    print(f"Demo: an IIS server's Trusted Root store, exported as {store}")
    print(f"$ certgate audit {store}\n")
    code = main(["audit", str(store), *(argv or [])])
    return 0 if code in (0, 1) else code  # finding the planted problem is the demo's success


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
