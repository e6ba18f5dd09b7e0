"""Verifications per second: certgate's rfc5280 engine (explained, and ``verify_fast``)
against ``cryptography``'s own client verifier, called directly in the same run.

Chains: root -> intermediate -> client leaf, RSA-2048 and ECDSA P-256. Every call verifies
both signatures again (no result caching on either side); certificates are parsed once, as a
server holding its trust store and receiving parsed peer certificates would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

from certgate.core.engines import VerifyRequest, verify, verify_fast
from certgate.core.stores import Machine
from certgate.core.stores import Store as CertStore
from certgate.testing import PKI, KeyType

SECONDS = 2.0


def rate(call: Callable[[], object]) -> float:
    call()
    count = 0
    start = time.perf_counter()
    deadline = start + SECONDS
    while time.perf_counter() < deadline:
        for _ in range(20):
            call()
        count += 20
    return count / (time.perf_counter() - start)


def scenario(key: KeyType) -> dict[str, float]:
    pki = PKI(now=datetime(2026, 6, 1, tzinfo=UTC))
    root = pki.root("Bench Root", key=key)
    inter = root.intermediate("Bench Issuing", key=key)
    leaf = inter.client("bench client", key=key)
    machine = Machine((CertStore("Root", (root.certificate,)),))
    cert_leaf, cert_inter = leaf.certificate, inter.certificate
    request = VerifyRequest(cert_leaf, (cert_inter,), machine, at=pki.now)
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store([root.x509]))
        .time(pki.now)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )
    assert verify(request, ["rfc5280"])["rfc5280"].accepted
    assert verify_fast(cert_leaf, (cert_inter,), machine, at=pki.now)
    return {
        "cryptography verifier": rate(lambda: verifier.verify(leaf.x509, [inter.x509])),
        "certgate verify_fast": rate(
            lambda: verify_fast(cert_leaf, (cert_inter,), machine, at=pki.now)
        ),
        "certgate rfc5280 explained": rate(lambda: verify(request, ["rfc5280"])),
    }


def main() -> None:
    for key, label in ((KeyType.RSA2048, "RSA-2048"), (KeyType.P256, "ECDSA P-256")):
        results = scenario(key)
        base = results["cryptography verifier"]
        print(f"{label} 3-certificate chain")
        for name, value in results.items():
            print(f"  {name:28} {value:9,.0f}/s   {base / value:4.2f}x the baseline's time")


if __name__ == "__main__":
    main()
