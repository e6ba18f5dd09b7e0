"""The demo's live part: the seed's IIS server as a real gate, before and after the fix.

Start the gate with the demo machine (an intermediate CA in Trusted Root, ClientAuthTrustMode
0), send a request with the sample client certificate (403.16, CERT_E_UNTRUSTEDROOT, with the
reason), apply the fix (move the intermediate Root -> CA, or trust mode 2), send again (200).
Ports come from the OS; both gates are always stopped. Takes about a second.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from rich.markup import escape

from certgate.inputs import Request, load
from certgate.core.changes import Change, MoveCertificate, SetTrustMode
from certgate.core.gate.policy import Policy
from certgate.core.stores import CA, ROOT, Machine
from certgate.demo import DemoMachine, SeedCase, build_demo_machine
from certgate.exitcode import ExitCode
from certgate.gate.client import ClientIdentity, Response, fetch
from certgate.gate.config import GateConfig
from certgate.gate.runner import running_gate
from certgate.report.console import out_console

__all__ = [
    "LIVE_STEPS",
    "LiveDemo",
    "LiveStep",
    "client_identity",
    "main",
    "run_live_demo",
    "run_seed_live",
]

FIXES = ("move", "trust-mode")


@dataclass(frozen=True)
class LiveStep:
    label: str
    status: int
    iis_status: str  # Certgate-Status, "200" when allowed
    hresult: str | None
    reason: str | None
    explain: str | None

    def describe(self) -> str:
        detail = (
            f" {self.hresult} {self.reason} (certgate explain {self.explain})"
            if self.reason
            else ""
        )
        return f"{self.label}: HTTP {self.status} [{self.iis_status}]{detail}"


@dataclass(frozen=True)
class LiveDemo:
    demo: DemoMachine
    fix: str  # what was changed, in --what-if syntax
    before: LiveStep
    after: LiveStep

    @property
    def reproduced_and_fixed(self) -> bool:
        return self.before.iis_status == "403.16" and self.after.status == 200


def client_identity(demo: DemoMachine) -> ClientIdentity:
    leaf = x509.load_pem_x509_certificate(demo.client.read_bytes())
    chain = tuple(x509.load_pem_x509_certificates(demo.chain.read_bytes()))
    key = serialization.load_pem_private_key(demo.key.read_bytes(), None)
    return ClientIdentity(leaf, key, chain)


def run_seed_live(case: SeedCase) -> int:
    """``make demo``'s live part on the doctor's seed case: the bundle's own machine judged by
    a real gate (403.16), then fix A applied (every misplaced intermediate Root -> CA): 200.
    The clock is the seed's, so the answer matches the diagnosis."""
    machine = load(Request(str(case.folder))).machine
    client = _identity(case.client, case.key)
    console = out_console()
    console.print("\n[bold]Live: the same server as a certgate gate[/]")
    before = _step("as collected", machine, client, case.at)
    fixed = machine
    for sha1 in case.misplaced:
        fixed = fixed.moving(sha1, ROOT, CA)
    after = _step(
        f"after fix A ({len(case.misplaced)} certificate(s) Root -> CA)", fixed, client, case.at
    )
    for step in (before, after):
        console.print(f"  {escape(step.describe())}")
    if before.iis_status == "403.16" and after.status == 200:
        console.print("[bold green]Reproduced live, and fixed by fix A.[/]")
        return ExitCode.OK
    console.print("[bold red]The live gate did not reproduce the diagnosis.[/]")
    return ExitCode.FINDINGS


def run_live_demo(folder: Path | None = None, fix: str = "move") -> LiveDemo:
    """Reproduce the seed's 403.16 on a live gate, apply ``fix`` (``move``: the intermediate
    Root -> CA; ``trust-mode``: ClientAuthTrustMode=2), and get 200."""
    if fix not in FIXES:
        raise ValueError(f"fix must be one of {FIXES}, not {fix!r}")
    target = folder or Path(tempfile.mkdtemp(prefix="certgate-live-"))
    demo = build_demo_machine(target)
    machine = load(Request(str(demo.folder))).machine
    client = client_identity(demo)
    before = _step("seed machine (ClientAuthTrustMode=0, intermediate in Root)", machine, client)
    fixed, change = _fixed(machine, demo, fix)
    after = _step(f"after {change}", fixed, client)
    return LiveDemo(demo, change, before, after)


def _fixed(machine: Machine, demo: DemoMachine, fix: str) -> tuple[Machine, str]:
    change: Change = (
        MoveCertificate(demo.misplaced_sha1, ROOT, CA, origin="live demo")
        if fix == "move"
        else SetTrustMode(2, origin="live demo")
    )
    return change.apply(machine), str(change)


def _step(
    label: str, machine: Machine, client: ClientIdentity, at: datetime | None = None
) -> LiveStep:
    config = GateConfig(Policy(engine="windows", machine=machine))

    def clock() -> datetime:
        return at if at is not None else datetime.now(UTC)

    with running_gate(config, grace=0.5, clock=clock) as gate:
        response = fetch(f"{gate.url}/Service.svc", client, timeout=10)
    return _summary(label, response)


def _identity(chain_pem: Path, key_pem: Path) -> ClientIdentity:
    leaf, *chain = x509.load_pem_x509_certificates(chain_pem.read_bytes())
    key = serialization.load_pem_private_key(key_pem.read_bytes(), None)
    return ClientIdentity(leaf, key, tuple(chain))


def _summary(label: str, response: Response) -> LiveStep:
    return LiveStep(
        label,
        response.status,
        response.header("certgate-status") or str(response.status),
        response.header("certgate-hresult"),
        response.header("certgate-reason"),
        response.header("certgate-explain"),
    )


_USAGE = f"""usage: python -m certgate.demo.live [{" | ".join(FIXES)}]

Reproduce the demo machine's 403.16 on a live gate, apply one fix (default: move, the
intermediate from Root to CA; trust-mode: ClientAuthTrustMode=2), and show the answer
before and after. Exit 0 when the fix turns 403.16 into 200, 1 when not, 2 on bad usage."""


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(_USAGE)
        return ExitCode.OK
    if len(args) > 1 or (args and args[0] not in FIXES):
        print(_USAGE.splitlines()[0], file=sys.stderr)
        print(f"error: the fix must be one of {', '.join(FIXES)}, not {' '.join(args)!r}",
              file=sys.stderr)  # fmt: skip
        return ExitCode.BAD_INPUT
    result = run_live_demo(fix=args[0] if args else "move")
    for step in (result.before, result.after):
        print(step.describe())
    return ExitCode.of(not result.reproduced_and_fixed)


# Live parts of the demo, run in order after the diagnosis is printed, each given the seed case.
# An exit code other than 0 ends the demo with that code.
LIVE_STEPS: list[Callable[[SeedCase], int]] = [run_seed_live]


if __name__ == "__main__":
    sys.exit(main())
