"""Verify API per engine, Root stores of 1 / 1,000 / 10,000 certificates, against
``cryptography``'s own client verifier holding the same store, on the same chains.

Chain: root -> intermediate -> client leaf, RSA-2048 (the store's other roots are distinct
self-signed ECDSA roots, put after the real one). Every call verifies the signatures again
(no result caching on either side); certificates are parsed once and the store loaded once, as
a server holding its trust store and receiving parsed peer certificates would.

Measured as CPU time per call (``time.process_time``: the machine is shared, wall time is
not fair), contenders interleaved within each round, median of ``ROUNDS`` rounds. Usage:
``python -m bench verify`` (all sizes) or ``python -m bench.verify 10000``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

from certgate.core.engines import VerifyRequest, accepts, verify
from certgate.core.model import Certificate
from certgate.core.stores import Machine
from certgate.core.stores import Store as CertStore
from certgate.testing import PKI, KeyType

SIZES = (1, 1_000, 10_000)
ROUNDS = 3
SLICE = 0.4  # CPU seconds per contender per round
NOW = datetime(2026, 6, 1, tzinfo=UTC)
# name -> the goal: at most this many times cryptography's CPU time per call
GOALS = {
    "rfc5280 fast": 1.2,
    "rfc5280 explained": 2.0,
    "windows": 3.0,
    "openssl fast": 3.0,
    "openssl explained": 3.0,
}


def fillers(count: int) -> list[x509.Certificate]:
    """``count`` distinct self-signed roots (one key: only the names matter to the index)."""
    key = ec.generate_private_key(ec.SECP256R1())
    out = []
    for n in range(count):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Filler Root {n:05d}")])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(n + 1)
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        )
        out.append(builder.sign(key, hashes.SHA256()))
    return out


def per_call(call: Callable[[], object]) -> float:
    """CPU seconds per call over one slice."""
    call()
    count = 0
    start = time.process_time()
    while time.process_time() - start < SLICE:
        for _ in range(10):
            call()
        count += 10
    return (time.process_time() - start) / count


def contenders(size: int, filler: list[x509.Certificate]) -> dict[str, Callable[[], object]]:
    pki = PKI(now=NOW)
    root = pki.root("Bench Root", key=KeyType.RSA2048)
    inter = root.intermediate("Bench Issuing", key=KeyType.RSA2048)
    leaf = inter.client("bench client", key=KeyType.RSA2048)
    extra = filler[: size - 1]
    roots = (root.certificate, *(Certificate.from_cryptography(c) for c in extra))
    machine = Machine((CertStore("Root", roots),))
    request = VerifyRequest(leaf.certificate, (inter.certificate,), machine, at=NOW)
    ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.SubjectAlternativeName, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store([root.x509, *extra]))
        .time(NOW)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee)
        .build_client_verifier()
    )
    calls: dict[str, Callable[[], object]] = {
        "cryptography": lambda: verifier.verify(leaf.x509, [inter.x509]),
        "rfc5280 fast": lambda: accepts(request, "rfc5280"),
        "rfc5280 explained": lambda: verify(request, ["rfc5280"]),
        "windows": lambda: verify(request, ["windows"]),
        "openssl fast": lambda: accepts(request, "openssl"),
        "openssl explained": lambda: verify(request, ["openssl"]),
    }
    for name in ("rfc5280", "windows", "openssl"):
        verdict = verify(request, [name])[name]
        assert verdict.accepted, (name, verdict.message)
    assert accepts(request, "rfc5280") and accepts(request, "openssl")
    return calls


def run(sizes: tuple[int, ...]) -> list[tuple[int, str, float, float]]:
    filler = fillers(max(sizes) - 1)
    rows = []
    for size in sizes:
        calls = contenders(size, filler)
        rounds: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(ROUNDS):
            for name, call in calls.items():  # interleaved: every contender in every round
                rounds[name].append(per_call(call))
        base = statistics.median(rounds["cryptography"])
        for name, samples in rounds.items():
            median = statistics.median(samples)
            rows.append((size, name, median, median / base))
    return rows


def main(argv: list[str] | None = None) -> None:
    sizes = tuple(int(a) for a in argv) if argv else SIZES
    print(f"CPU time per verification, median of {ROUNDS} interleaved rounds")
    print(f"{'Root size':>9}  {'contender':18} {'us/call':>9} {'calls/s':>9} {'ratio':>6}  goal")
    for size, name, seconds, ratio in run(sizes):
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"<= {goal}x {'met' if ratio <= goal else 'MISSED'}"
        print(
            f"{size:>9,}  {name:18} {seconds * 1e6:9.1f} {1 / seconds:9,.0f} {ratio:5.2f}x  "
            f"{verdict}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
