"""``certgate fleet doctor`` on a generated fleet: the fleet view, the GPO-fed certificate with
its server count, one GPO fix listing its servers, and the same JSON from a real
dask.distributed LocalCluster with several worker processes."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from certgate.cli import main
from certgate.fleet import LocalExecutor, bundle_paths
from certgate.testing_fleet import FLEET_AT, FleetServer, write_fleet

AT = FLEET_AT.isoformat()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[FleetServer]]:
    folder = tmp_path_factory.mktemp("fleet")
    return folder, write_fleet(folder, 50, gpo_share=0.1, log_bytes=3_000)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["fleet", "doctor", *args, "--at", AT])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def by(servers: list[FleetServer], scenario: str) -> list[str]:
    return sorted(s.name for s in servers if s.scenario == scenario)


def test_fleet_view_names_the_gpo_certificate_and_writes_one_gpo_fix(
    fleet: tuple[Path, list[FleetServer]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, servers = fleet
    fixes = tmp_path / "fixes"
    code, out, _ = run(capsys, str(folder), "--workers", "2", "--json", "--fix-dir", str(fixes))
    assert code == 1
    document = json.loads(out)
    assert document["schema"] == "certgate.fleet/1"
    gpo, healthy = by(servers, "seed-gpo"), by(servers, "healthy")
    assert len(gpo) == 5
    assert document["summary"] == {
        "servers": 50,
        "with_causes": 50 - len(healthy) - 1,
        "healthy": len(healthy),
        "unreadable": 1,
        "rule_failed": 0,
    }
    assert document["healthy"] == healthy
    (corrupt,) = document["unreadable"]
    assert corrupt["path"].endswith(by(servers, "corrupt")[0].lower())
    assert "not a certificate file" in corrupt["error"]
    fed = [c for c in document["certificates"] if c["physical"] == {"group-policy": len(gpo)}]
    assert len(fed) == 1 and fed[0]["server_names"] == gpo and fed[0]["servers"] == len(gpo)
    assert fed[0]["causes"] == ["cause::root-not-self-signed"]
    local = [c for c in document["certificates"] if "registry" in c["physical"]]
    assert local and local[0]["server_names"] == by(servers, "seed-local")
    entries = {e["server"]: e for e in document["servers"]}
    assert len(document["servers"]) == 50
    assert entries[gpo[0]]["causes"][0]["fixes"][0]["id"] == "gpo-move-to-intermediate"
    # one fix per cause/certificate set: exactly one GPO fix, for exactly the GPO-fed servers
    gpo_fixes = [f for f in document["fixes"] if f["fixes"][0]["id"] == "gpo-move-to-intermediate"]
    assert len(gpo_fixes) == 1 and gpo_fixes[0]["server_names"] == gpo
    (folder_of_fix,) = [p for p in fixes.iterdir() if p.name.endswith(gpo_fixes[0]["id"])]
    assert (folder_of_fix / "servers.txt").read_text().split() == gpo
    readme = (folder_of_fix / "README.md").read_text()
    assert fed[0]["sha1"] in readme and "group-policy" in readme
    script = folder_of_fix / "A-gpo-move-to-intermediate" / "gpo-move-root-to-ca.ps1"
    assert fed[0]["sha1"] in script.read_text("utf-8-sig")
    assert not list(folder_of_fix.glob("*/move-root-to-ca.ps1"))  # no local move for it
    assert not list(fixes.rglob("stores/*"))  # no server's own store files in a fleet fix


def test_text_view_and_html(
    fleet: tuple[Path, list[FleetServer]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    folder, servers = fleet
    page = tmp_path / "fleet.html"
    code, out, err = run(capsys, str(folder), "--workers", "1", "--html", str(page))
    assert code == 1
    gpo = by(servers, "seed-gpo")
    assert "Fleet: 50 server(s)" in out and "group-policy (5)" in out
    assert "Unreadable bundles" in out and "Healthy (" in out
    assert "local pool of 1 process(es)" in err
    html = page.read_text()
    assert html.count("<section id='server-") == 50
    assert f">{gpo[0]}</a>" in html and "class='gpo'" in html


def test_jsonl_streams_one_line_per_server(
    fleet: tuple[Path, list[FleetServer]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = fleet
    code, out, _ = run(capsys, str(folder), "--workers", "2", "--jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(lines) == 50
    assert {line["schema"] for line in lines} == {"certgate.fleet.server/1"}
    assert {line["status"] for line in lines} == {"causes-found", "no-cause-found", "unreadable"}


def test_inputs_globs_list_files_zips(
    fleet: tuple[Path, list[FleetServer]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, servers = fleet
    healthy = next(s for s in servers if s.scenario == "healthy")
    zipped = tmp_path / "one.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for file in sorted(healthy.path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(healthy.path).as_posix())
    listing = tmp_path / "servers.txt"
    listing.write_text(f"# two servers\n{servers[0].path}\n\n{zipped}\n")
    assert list(bundle_paths([str(listing)])) == [str(servers[0].path), str(zipped)]
    pattern = str(folder / "srv-0000*")
    assert len(list(bundle_paths([pattern]))) == 10
    assert list(bundle_paths([str(healthy.path), str(healthy.path)])) == [str(healthy.path)]
    code, out, _ = run(capsys, str(zipped), "--workers", "1", "--json")
    document = json.loads(out)
    assert code == 0 and document["summary"]["healthy"] == 1
    assert document["servers"][0]["format"] == "zip"
    code, _, err = run(capsys, str(tmp_path / "nope"))
    assert code == 2 and "no such file or folder" in err
    code, _, err = run(capsys, str(tmp_path / "nope-*"))
    assert code == 2 and "no file matches this pattern" in err


def test_only_unreadable_besides_healthy_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    servers = write_fleet(tmp_path, 3, scenarios=["healthy", "corrupt", "healthy"], log_bytes=500)
    code, out, _ = run(capsys, str(tmp_path), "--workers", "1", "--json")
    document = json.loads(out)
    assert code == 2 and document["summary"]["unreadable"] == 1
    assert document["summary"]["healthy"] == 2 and len(servers) == 3


def _boom(item: int) -> int:
    if item == 3:
        raise ValueError("three")
    return item * 2


def test_local_executor_streams_results_and_reports_a_dead_task() -> None:
    executor = LocalExecutor(2)
    try:
        outcomes = list(executor.run(_boom, iter(range(40))))
    finally:
        executor.close()
    assert sorted(o.item for o in outcomes) == list(range(40))
    failed = [o for o in outcomes if o.error]
    assert [(o.item, o.error) for o in failed] == [(3, "ValueError: three")]
    assert all(o.result == o.item * 2 for o in outcomes if not o.error)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def test_dask_local_cluster_gives_the_same_json(
    fleet: tuple[Path, list[FleetServer]],
    cluster: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _ = fleet
    code_local, local, _ = run(capsys, str(folder), "--workers", "2", "--json")
    code_dask, remote, err = run(capsys, str(folder), "--dask", cluster.scheduler_address, "--json")
    assert "Dask cluster at" in err and "(2 worker(s))" in err
    assert code_dask == code_local == 1
    assert json.loads(remote) == json.loads(local)


def test_dask_unreachable_scheduler_is_a_usage_error(
    fleet: tuple[Path, list[FleetServer]], capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    folder, _ = fleet
    code, _, err = run(capsys, str(folder), "--dask", "tcp://127.0.0.1:9", "--dask-timeout", "1")
    assert code == 2 and "cannot reach the Dask scheduler" in err
