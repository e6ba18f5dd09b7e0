"""``certgate serve --workers 2`` as real processes on loopback: one port for both workers,
SIGHUP reloads the policy in every worker (a broken file keeps the old one), SIGTERM stops
them all, and workers never outlive a killed master."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from certgate.testing import PKI
from gate_support import curl, write_client


def _children(pid: int) -> set[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(part) for part in text.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _until(what: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.1)
    return False


@contextmanager
def _serve(policy: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    command = [sys.executable, "-m", "certgate", "serve", "--policy", str(policy),
               "--listen", "127.0.0.1:0", "--throwaway-cert", "--workers", "2"]  # fmt: skip
    with log.open("wb") as errors:
        process = subprocess.Popen(command, stderr=errors)
    try:
        assert _until(lambda: "listening on" in log.read_text() or process.poll() is not None)
        found = re.search(r"listening on (https://127\.0\.0\.1:\d+) \(2 workers", log.read_text())
        assert found, log.read_text()
        yield process, found.group(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_workers_share_the_port_reload_and_stop(tmp_path: Path) -> None:
    pki = PKI(now=datetime.now(UTC))  # the workers judge by the real clock
    trusted, other = pki.root("CN=Root"), pki.root("CN=Other Root")
    trusted.write_pem(tmp_path / "root.pem")
    other.write_pem(tmp_path / "other.pem")
    client = write_client(trusted.client("CN=alice"), tmp_path)
    policy, log = tmp_path / "gate.toml", tmp_path / "serve.err"
    policy.write_text('[trust.stores]\nRoot = ["root.pem"]\n')
    with _serve(policy, log) as (process, url):
        workers = _children(process.pid)
        assert len(workers) == 2
        assert {curl(url + "/", cert=client)[0] for _ in range(4)} == {200}

        def statuses() -> set[str]:
            return {curl(url + "/", cert=client)[1].get("certgate-status", "") for _ in range(4)}

        policy.write_text('[trust.stores]\nRoot = ["other.pem"]\n')  # alice's root is gone
        process.send_signal(signal.SIGHUP)
        assert _until(lambda: statuses() == {"403.16"}), log.read_text()
        assert "policy reloaded in 2 workers" in log.read_text()

        policy.write_text("[trust.stores\n")  # broken: every worker keeps the last good one
        process.send_signal(signal.SIGHUP)
        assert _until(lambda: "keeping the old one" in log.read_text())
        assert statuses() == {"403.16"}
        assert _children(process.pid) == workers  # nobody crashed or was replaced

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert not any(_alive(pid) for pid in workers)
    assert "Traceback" not in log.read_text()


def test_workers_stop_when_the_master_is_killed(tmp_path: Path) -> None:
    pki = PKI()
    pki.root("CN=Root").write_pem(tmp_path / "root.pem")
    policy = tmp_path / "gate.toml"
    policy.write_text('[trust.stores]\nRoot = ["root.pem"]\n')
    with _serve(policy, tmp_path / "serve.err") as (process, _):
        workers = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    assert _until(lambda: not any(_alive(pid) for pid in workers), 20)
