"""Helpers for the gate tests: client identities from the test PKI, policies, curl."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from certgate.core.gate.policy import Policy
from certgate.core.stores import CA, ROOT, Machine
from certgate.gate.backends import Backend
from certgate.gate.client import ClientIdentity
from certgate.gate.config import GateConfig, LogSettings, parse_policy
from certgate.gate.runner import RunningGate, running_gate
from certgate.testing import PKI, Issued


def identity(issued: Issued) -> ClientIdentity:
    """The certificate, its key and the intermediates a client sends with it."""
    chain = tuple(c.x509 for c in issued.chain()[1:])
    return ClientIdentity(issued.x509, issued.key, chain)


def write_client(issued: Issued, folder: Path, name: str = "client") -> tuple[Path, Path]:
    cert = issued.write_pem(folder / f"{name}.pem", chain=True)
    return cert, issued.write_key(folder / f"{name}.key")


def machine(roots: list[Issued], cas: list[Issued] = ()) -> Machine:  # type: ignore[assignment]
    return (
        Machine()
        .adding(ROOT, [r.certificate for r in roots])
        .adding(CA, [c.certificate for c in cas])
    )


def config(document: dict[str, Any], base: Path, machine: Machine | None = None) -> GateConfig:
    parsed = parse_policy(document, base=base)
    if machine is None:
        return parsed
    settings = parsed.policy.machine  # the file's trust settings, these stores
    merged = machine.with_schannel(settings.schannel).with_bindings(settings.bindings)
    policy: Policy = parsed.policy.with_machine(merged)
    return GateConfig(policy, parsed.logs, parsed.crl_files)


@contextmanager
def gate(cfg: GateConfig, now: datetime, backend: Backend | None = None) -> Iterator[RunningGate]:
    with running_gate(cfg, backend=backend, clock=lambda: now, grace=1.0) as running:
        yield running


def curl(
    url: str,
    *args: str,
    cert: tuple[Path, Path] | None = None,
    version: str | None = None,
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) as curl saw them; the server certificate is not checked."""
    command = ["curl", "-sk", "--max-time", "10", "-D", "-", url, *args]
    if cert is not None:
        command += ["--cert", str(cert[0]), "--key", str(cert[1])]
    if version is not None:
        command += [f"--tlsv{version}", "--tls-max", version]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    head, _, body = done.stdout.partition("\n\n")  # text mode: CRLF is already \n
    lines = head.split("\n")
    if not lines[0].startswith("HTTP/"):
        raise AssertionError(f"curl got no response: exit {done.returncode} {done.stderr}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


__all__ = ["PKI", "LogSettings", "config", "curl", "gate", "identity", "machine", "write_client"]
