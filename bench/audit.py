"""Audit 10,000 certificates vs. the floor: parse each with cryptography, verify its self-signature.

The store mixes RSA-2048 and ECDSA P-256 keys, SHA-256 and SHA-1 signatures, and plants 1 %
intermediates. Both sides start from the same PEM file on disk, each a whole process (start-up
included), interleaved, medians of 3 rounds; CPU time (user + system) is the compared figure,
the machine being shared. The floor's process imports only ``cryptography`` (certgate's test
helpers, used to build the store, are imported by the other modes only).
"""

from __future__ import annotations

import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

COUNT = 10_000
OUT = Path(__file__).parent / "out"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def build_store(path: Path, count: int = COUNT) -> None:
    from certgate.testing import PKI, KeyType, pem_bundle  # not in the floor's process

    pki = PKI(now=NOW)
    rsa_keys = [pki.key(KeyType.RSA2048) for _ in range(40)]
    ec_keys = [pki.key(KeyType.P256) for _ in range(20)]
    parent = pki.root("CN=Bench Parent CA")
    items = []
    for i in range(count):
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


def compare(path: Path, count: int, rounds: int) -> None:
    """Whole processes, interleaved, medians: the floor, ``certgate audit --json`` and the
    console report (summarised), on the same file."""
    from bench._servers import timed  # not in the floor's process

    at = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
    certgate = [sys.executable, "-m", "certgate", "audit", str(path), "--at", at]
    commands = {
        "floor (parse + self-signature)": [
            sys.executable,
            "-m",
            "bench.audit",
            "--floor",
            str(path),
        ],
        "certgate audit --json": [*certgate, "--json", "--fail-on", "never"],
        "certgate audit (console)": [*certgate, "--fail-on", "never"],
    }
    runs: dict[str, list[tuple[float, float, int, bytes]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            runs[name].append(timed(argv))
    print(f"{count:,} certificates, {path.stat().st_size / 1e6:.1f} MB PEM; medians of {rounds}")
    base = statistics.median(r[1] for r in runs["floor (parse + self-signature)"])
    for name, results in runs.items():
        wall = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        rss = max(r[2] for r in results)
        print(
            f"  {name:32} wall {wall:6.2f} s  CPU {cpu:6.2f} s ({cpu / base:4.2f}x the floor)  "
            f"peak RSS {rss / 2**20:6.0f} MiB"
        )


def main(argv: list[str] | None = None) -> None:
    """``python -m bench audit`` (10,000); ``python -m bench.audit 100000 [rounds]``."""
    args = argv or []
    if args[:1] == ["--floor"]:
        print(floor(Path(args[1])))
        return
    count = int(args[0]) if args else COUNT
    rounds = int(args[1]) if len(args) > 1 else 3
    OUT.mkdir(exist_ok=True)
    path = OUT / f"audit-{count}.pem"
    if not path.exists():
        print(f"building {count} certificates (cached in {path}) ...")
        build_store(path, count)
    compare(path, count, rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
