"""Audit 10,000 certificates vs. the floor: parse each with cryptography, verify its self-signature.

The store mixes RSA-2048 and ECDSA P-256 keys, SHA-256 and SHA-1 signatures, and plants 1 %
intermediates. Both sides start from the same PEM file on disk.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from certgate.core.audit import audit
from certgate.core.stores import Machine, Store
from certgate.formats import load_file
from certgate.testing import PKI, KeyType, pem_bundle

COUNT = 10_000
OUT = Path(__file__).parent / "out"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def build_store(path: Path) -> None:
    pki = PKI(now=NOW)
    rsa_keys = [pki.key(KeyType.RSA2048) for _ in range(40)]
    ec_keys = [pki.key(KeyType.P256) for _ in range(20)]
    parent = pki.root("CN=Bench Parent CA")
    items = []
    for i in range(COUNT):
        key = ec_keys[i % len(ec_keys)] if i % 10 < 3 else rsa_keys[i % len(rsa_keys)]
        digest = "sha1" if i % 10 in (1, 5, 8) else "sha256"
        name = f"CN=Bench Root {i:05d},O=Bench Org {i % 97},C=US"
        if i % 100 == 99:
            items.append(parent.intermediate(name, key=key, hash=digest))
        else:
            items.append(pki.issue(name, issuer=None, ca=True, key=key, hash=digest, days=3650))
    path.write_bytes(pem_bundle(items))


def floor(path: Path) -> int:
    """Parse every certificate and verify its self-signature, nothing else."""
    valid = 0
    for cert in x509.load_pem_x509_certificates(path.read_bytes()):
        key = cert.public_key()
        digest = cert.signature_hash_algorithm
        assert digest is not None
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(digest))
            elif isinstance(key, rsa.RSAPublicKey):
                key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), digest)
            valid += 1
        except InvalidSignature:
            pass
    return valid


def certgate_audit(path: Path) -> int:
    loaded = load_file(path)
    report = audit(Machine((Store("Root", loaded.certificates),)), NOW)
    return sum(1 for f in report.findings if f.rule == "root::not-self-signed")


def best_of(func: Callable[[Path], int], path: Path, runs: int = 5) -> tuple[float, float, int]:
    times = []  # CPU time: fair on a shared machine, and both sides are single-threaded
    result = 0
    for _ in range(runs):
        start = time.process_time()
        result = func(path)
        times.append(time.process_time() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"audit-{COUNT}.pem"
    if not path.exists():
        print(f"building {COUNT} certificates (cached in {path}) ...")
        build_store(path)
    base_min, base_med, verified = best_of(floor, path)
    ours_min, ours_med, planted = best_of(certgate_audit, path)
    print(f"store: {COUNT} certificates, {path.stat().st_size / 1e6:.1f} MB PEM")
    print(
        f"floor (parse + self-signature): best {base_min:.3f}s  median {base_med:.3f}s  "
        f"({verified} self-signatures valid)"
    )
    print(
        f"certgate load + audit:          best {ours_min:.3f}s  median {ours_med:.3f}s  "
        f"({planted} root::not-self-signed found)"
    )
    print(f"ratio (best/best): {ours_min / base_min:.2f}x  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
