"""A good client's latency while hostile clients send an expensive chain: ``certgate serve``.

The hostile chain is issue 13's: an intermediate naming the trusted root as its issuer but
signed by the attacker's own key, with 1,000 permitted and 1,000 excluded DNS name
constraints, and a leaf with 1,200 DNS SANs (``certgate.testing.hostile``). Each hostile
client is a process that, in a loop, opens a new TLS 1.3 connection presenting that chain,
sends a GET and reads the 403.16. ``same chain``: every connection presents the same chain;
``fresh chains``: each connection a new leaf (pre-built, so the attacker's own signing is not
measured), which the verdict cache cannot answer.

The good client (one process) opens a new connection per request with a valid RSA-2048 chain,
sequentially, for ``SECONDS``; its p50/p99 latency (connect + handshake + request + answer) is
reported alone and under 4 and 16 hostile clients. Scenarios are interleaved, ``ROUNDS``
rounds, medians reported.

On a machine with two or more cores the gate runs alone on CPU 0 and every client on CPU 1,
hostile ones at the lowest priority (nice 19): remote attackers do not take the gate's CPU,
and the good client's own scheduling does not wait behind theirs, so what is measured is what
the gate does under the load they send. Each hostile client connects from its own loopback
address (127.0.0.10, .11, ...), the good client from 127.0.0.1, as distinct machines would.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL

from bench._servers import free_port, gate_command, identity, stop, wait_port, write_pki
from certgate.gate.client import ClientIdentity, client_context
from certgate.testing.hostile import name_constraint_attack

SECONDS = 6.0
ROUNDS = 3
FRESH_PER_ATTACKER = 25
SCENARIOS = (("alone", 0, False), ("4 same chain", 4, False), ("16 same chain", 16, False),
             ("4 fresh chains", 4, True), ("16 fresh chains", 16, True))  # fmt: skip


def _files(work: Path) -> None:
    pki, root = write_pki(work)
    attack = name_constraint_attack(pki, root, forged=True)
    attack.leaf.write_pem(work / "attack.pem", chain=True)
    attack.leaf.write_key(work / "attack.key")
    for n in range(16):  # fresh leaves per hostile process, same key, same forged intermediate
        names = tuple(f"dns:n{i}-{n}.p{i % 1000}.example" for i in range(1200))
        leaves = [
            pki.issue(f"victim {n}-{k}", issuer=attack.intermediate, key=attack.leaf.key, san=names)
            for k in range(FRESH_PER_ATTACKER)
        ]
        (work / f"fresh-{n}.pem").write_bytes(b"".join(leaf.pem for leaf in leaves))
    (work / "intermediate.pem").write_bytes(attack.intermediate.pem)


def _pin(cpu: int, nice: int = 0) -> None:
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {cpu})
    if nice:
        os.nice(nice)


def _request(context: SSL.Context, port: int, source: str = "127.0.0.1") -> bytes:
    """One request on a new connection: the answer's head (status line and headers)."""
    raw = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection = SSL.Connection(context, raw)
    connection.set_connect_state()
    connection.do_handshake()
    try:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        found = re.search(rb"(?i)content-length: *(\d+)", head)
        length = int(found.group(1)) if found else 0
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return head
    finally:
        raw.close()


def _attacker(
    work: str,
    port: int,
    index: int,
    fresh: bool,
    deadline: float,
    out: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    _pin(1, 19)
    folder = Path(work)
    if fresh:
        key = serialization.load_pem_private_key((folder / "attack.key").read_bytes(), None)
        inter = x509.load_pem_x509_certificate((folder / "intermediate.pem").read_bytes())
        leaves = x509.load_pem_x509_certificates((folder / f"fresh-{index}.pem").read_bytes())
        contexts = [client_context(ClientIdentity(leaf, key, (inter,)), "1.3") for leaf in leaves]
    else:
        attacker = identity(folder / "attack.pem", folder / "attack.key")
        contexts = [client_context(attacker, "1.3")]
    n = 0
    while time.monotonic() < deadline:
        try:
            _request(contexts[n % len(contexts)], port, f"127.0.0.{10 + index}")
        except (OSError, SSL.Error):
            time.sleep(0.01)
        n += 1
    out.put(n)


def _good(work: str, port: int, start: float, deadline: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    _pin(1)
    folder = Path(work)
    context = client_context(identity(folder / "client.pem", folder / "client.key"), "1.3")
    while time.monotonic() < start:
        time.sleep(0.01)
    samples: list[float] = []
    failures = 0
    while time.monotonic() < deadline:
        began = time.perf_counter()
        answer = _request(context, port)
        samples.append(time.perf_counter() - began)
        failures += not answer.startswith(b"HTTP/1.1 200")
    out.put((samples, failures))


Result = tuple[float, float, int, int, int]  # p50, p99, good requests, not 200, hostile requests


def _scenario(work: Path, port: int, attackers: int, fresh: bool) -> Result:
    queue: multiprocessing.Queue[tuple[list[float], int]] = multiprocessing.Queue()
    counts: multiprocessing.Queue[int] = multiprocessing.Queue()
    start = time.monotonic() + 1.0  # attackers get going first
    deadline = start + SECONDS
    hostile = [
        multiprocessing.Process(
            target=_attacker, args=(str(work), port, i, fresh, deadline, counts)
        )
        for i in range(attackers)
    ]
    for process in hostile:
        process.start()
    good = multiprocessing.Process(target=_good, args=(str(work), port, start, deadline, queue))
    good.start()
    samples, failures = queue.get(timeout=SECONDS + 120)
    sent = sum(counts.get(timeout=60) for _ in hostile)
    for process in (good, *hostile):
        process.join(30)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, len(ordered), failures, sent


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="certgate-bench-attack-"))
    try:
        _files(work)
        port = free_port()
        command = gate_command(work, port, "--workers", "1")
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if len(os.sched_getaffinity(0)) > 1:
                os.sched_setaffinity(server.pid, {0})
            wait_port(port, server)
            results: dict[str, list[Result]] = {}
            for _ in range(ROUNDS):
                for name, attackers, fresh in SCENARIOS:
                    results.setdefault(name, []).append(_scenario(work, port, attackers, fresh))
        finally:
            stop(server)
        _report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _report(results: dict[str, list[Result]]) -> None:
    print(f"good client: new TLS 1.3 connection per request, {SECONDS:.0f} s per scenario, "
          f"median of {ROUNDS} rounds")  # fmt: skip
    alone = statistics.median(r[1] for r in results["alone"])
    for name, rounds in results.items():
        p50 = statistics.median(r[0] for r in rounds) * 1000
        p99 = statistics.median(r[1] for r in rounds) * 1000
        count = statistics.median(r[2] for r in rounds)
        failed = sum(r[3] for r in rounds)
        hostile = statistics.median(r[4] for r in rounds) / (SECONDS + 1)
        ratio = p99 / (alone * 1000)
        print(f"{name:16} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms ({ratio:.2f}x alone)  "
              f"{count:.0f} good requests/round, {failed} not 200; "
              f"hostile {hostile:.0f} requests/s")  # fmt: skip


if __name__ == "__main__":
    main()
