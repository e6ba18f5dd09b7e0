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
from certgate.testing.fleet import FLEET_AT, FleetServer, write_fleet
from test_json_schemas import validate

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
        "symptoms_unexplained": 0,
        "incomplete": 0,
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


def _doctor(capsys: pytest.CaptureFixture[str], bundle: Path) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", str(bundle), "--json", "--at", AT])
    return code, json.loads(capsys.readouterr().out)


def test_unexplained_failures_and_unread_logs_are_never_healthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each server's status is the doctor's own verdict on its bundle: 403.16 rows no cause
    explains are a finding (exit 1), a log that could not be read makes it incomplete; only
    the clean server is healthy."""
    scenarios = ["unexplained", "incomplete", "healthy"]
    servers = write_fleet(tmp_path, 3, scenarios=scenarios, log_bytes=800)
    code, out, _ = run(capsys, str(tmp_path), "--workers", "1", "--json")
    document = json.loads(out)
    validate(document)
    assert code == 1 and document["verdict"] == "symptoms-unexplained"
    unexplained, incomplete, healthy = (by(servers, s) for s in scenarios)
    assert document["healthy"] == healthy
    assert document["symptoms_unexplained"] == unexplained
    assert [i["server"] for i in document["incomplete"]] == incomplete
    assert document["summary"] == {
        "servers": 3,
        "with_causes": 0,
        "healthy": 1,
        "unreadable": 0,
        "rule_failed": 0,
        "symptoms_unexplained": 1,
        "incomplete": 1,
    }
    entries = {e["server"]: e for e in document["servers"]}
    bad = entries[unexplained[0]]
    assert (bad["status"], bad["verdict"], bad["exit_code"]) == ("symptoms-unexplained",) * 2 + (1,)
    (label,) = bad["unexplained"]
    assert "403.16" in label and "KB 2802568" in bad["unexplained_likely"][label][0]
    partial = entries[incomplete[0]]
    assert (partial["status"], partial["exit_code"]) == ("incomplete", 0)
    (unread,) = partial["unread"]
    assert "u_ex260602.log.gz" in unread and document["incomplete"][0]["unread"] == [unread]
    # one source of truth: the fleet says per server what certgate doctor says on its bundle
    for server in servers:
        single_code, single = _doctor(capsys, server.path)
        entry = entries[server.name]
        assert (entry["verdict"], entry["exit_code"]) == (single["verdict"], single_code)
        assert entry["unexplained"] == [s["label"] for s in single["unexplained"]]
        assert len(entry["unread"]) == len(single["unread"])
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run(capsys, str(tmp_path), "--workers", "1")
    assert code == 1 and "1 with failures no cause explains, 1 incomplete, 1 healthy" in out
    assert "no all-clear" in out and "u_ex260602.log.gz" in out


def test_an_incomplete_server_makes_the_fleet_incomplete_not_healthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    servers = write_fleet(tmp_path, 2, scenarios=["incomplete", "healthy"], log_bytes=500)
    code, out, _ = run(capsys, str(tmp_path), "--workers", "1", "--json")
    document = json.loads(out)
    validate(document)
    assert code == 0  # as certgate doctor on that bundle: what was not read is listed
    assert document["verdict"] == "incomplete" and document["healthy"] == by(servers, "healthy")
    assert document["summary"]["incomplete"] == 1 and document["summary"]["healthy"] == 1
    page = tmp_path / "fleet.html"
    assert run(capsys, str(tmp_path), "--workers", "1", "--html", str(page))[0] == 0
    assert "Incomplete (evidence not read)" in page.read_text()


def test_only_unreadable_is_exit_2_and_never_an_all_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_fleet(tmp_path, 1, scenarios=["corrupt"], log_bytes=500)
    code, out, _ = run(capsys, str(tmp_path), "--workers", "1", "--json")
    document = json.loads(out)
    assert code == 2 and document["verdict"] == "incomplete" and document["healthy"] == []


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
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
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
    code, _, err = run(capsys, str(folder), "--dask", "tcp://127.0.0.1:9", "--workers", "2")
    assert code == 2 and "--workers sizes the local pool: not with --dask" in err


def logs(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["fleet", "logs", *args, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {}, captured.err


def test_fleet_logs_merges_per_server_per_code_and_timeline(
    fleet: tuple[Path, list[FleetServer]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, servers = fleet
    failing = sorted(by(servers, "seed-local") + by(servers, "seed-gpo"))
    code, document, _ = logs(capsys, str(folder), "--workers", "2")
    assert code == 1 and document["schema"] == "certgate.fleet-logs/1"
    assert document["summary"]["servers"] == 49  # the corrupt bundle has no logs
    noisy = sorted(s["server"] for s in document["servers"] if s["events"])
    assert noisy == failing
    per_server = {s["server"]: s for s in document["servers"]}
    substatus = next(c for c in document["codes"] if c["name"] == "403.16")
    assert substatus["servers"] == len(failing)
    assert substatus["events"] == sum(per_server[n]["events"] for n in failing)
    assert substatus["first"]["server"] in failing
    assert sum(b["count"] for b in document["timeline"]["buckets"]) == document["summary"]["events"]


def test_fleet_logs_server_folders_and_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from certgate.testing.logs import iis_header, iis_line

    for server, status in (("IIS01", 403), ("IIS02", 200)):
        logs_dir = tmp_path / "share" / server / "W3SVC1"
        logs_dir.mkdir(parents=True)
        lines = [iis_header()] + [
            iis_line(sc_status=status, sc_substatus=7 if status == 403 else 0) for _ in range(3)
        ]
        (logs_dir / "u_ex240305.log").write_text("".join(lines))
    (tmp_path / "share" / "IIS02" / "junk.log").write_bytes(b"\x00\x01 nothing here")
    code, document, _ = logs(capsys, str(tmp_path / "share"), "--workers", "1")
    assert code == 1
    assert [(s["server"], s["events"]) for s in document["servers"]] == [("IIS01", 3), ("IIS02", 0)]
    (refused,) = document["refused"]
    assert refused["server"] == "IIS02" and refused["path"].endswith("junk.log")
    code, _, err = logs(capsys, str(tmp_path / "share" / "IIS02" / "junk.log"))
    assert code == 2 and "nothing could be read" in err


def test_fleet_logs_on_dask_gives_the_same_json(
    fleet: tuple[Path, list[FleetServer]], cluster: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = fleet
    _, local, _ = logs(capsys, str(folder), "--workers", "2")
    _, remote, _ = logs(capsys, str(folder), "--dask", cluster.scheduler_address)
    assert remote == local


@pytest.fixture(scope="module")
def probe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    from certgate.testing import PKI
    from servers import s_server

    folder = tmp_path_factory.mktemp("fleet-probe")
    pki = PKI()
    root = pki.root("CN=Fleet Probe Root")
    server = root.server("localhost")
    alice = root.client("alice")
    alice.write_pem(folder / "alice.pem")
    alice.write_key(folder / "alice.key")
    root.write_pem(folder / "root.pem")
    options = ("-Verify", "1", "-CAfile", str(folder / "root.pem"))
    with s_server(
        folder, server.write_pem(folder / "srv.pem"), server.write_key(folder / "srv.key"), *options
    ) as port:
        yield folder, port


def _probe_lines(out: str) -> list[tuple[int, str, str | None]]:
    lines = [json.loads(line) for line in out.splitlines()]
    return sorted(
        (d["target"]["port"], d["requirement"], (d.get("error") or {}).get("code")) for d in lines
    )


def test_probe_targets_on_the_executor_match_the_single_process_run(
    probe_server: tuple[Path, int], cluster: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from servers import free_ports

    folder, port = probe_server
    (closed,) = free_ports(1)
    targets = folder / "targets.txt"
    targets.write_text(f"localhost:{port}\n127.0.0.1:{closed}\n127.0.0.1:{port} sni=localhost\n")
    base = ["probe", "-f", str(targets), "--tls", "1.3", "--concurrency", "2"]
    assert main(base) == 0
    single = _probe_lines(capsys.readouterr().out)
    assert main([*base, "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert _probe_lines(captured.out) == single
    assert "on local pool of 2 process(es)" in captured.err and "1 unreachable" in captured.err
    assert main([*base, "--dask", cluster.scheduler_address]) == 0
    assert _probe_lines(capsys.readouterr().out) == single
    keyed = [*base, "--cert", str(folder / "alice.pem"), "--key", str(folder / "alice.key")]
    assert main([*keyed, "--workers", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert main([*keyed, "--dask", cluster.scheduler_address]) == 2
    assert "use a tls:// scheduler address" in capsys.readouterr().err


def test_demo_generates_and_diagnoses_fifty_bundles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixes = tmp_path / "fixes"
    code = main(["fleet", "doctor", "--demo", "--workers", "2", "--json", "--fix-dir", str(fixes)])
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == 1 and document["summary"]["servers"] == 50
    assert "Demo: 50 bundles written to" in captured.err
    fed = [c for c in document["certificates"] if "group-policy" in c["physical"]]
    assert len(fed) == 1 and fed[0]["servers"] == 5
    assert len(list(fixes.glob("*/A-gpo-move-to-intermediate"))) == 1
    assert main(["fleet", "doctor", "--demo", str(tmp_path)]) == 2
    assert main(["fleet", "doctor"]) == 2
    assert "or --demo" in capsys.readouterr().err


def test_bundles_at_http_urls_are_read_where_they_lie(
    fleet: tuple[Path, list[FleetServer]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import functools
    import http.server
    import threading

    _, servers = fleet
    gpo = next(s for s in servers if s.scenario == "seed-gpo")
    share = tmp_path / "share"
    share.mkdir()
    with zipfile.ZipFile(share / "web01.zip", "w") as archive:
        for file in sorted(gpo.path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(gpo.path).as_posix())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(share))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        code, out, _ = run(
            capsys, f"{base}/web01.zip", f"{base}/missing.zip", "--workers", "1", "--json"
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    document = json.loads(out)
    assert code == 1
    entries = {e["path"]: e for e in document["servers"]}
    found = entries[f"{base}/web01.zip"]
    assert found["server"] == gpo.name and found["status"] == "causes-found"
    assert "certgate-fetch-" not in json.dumps(found)  # the URL is named, not the temporary file
    (missing,) = document["unreadable"]
    assert missing["server"] == "missing" and "HTTP 404" in missing["error"]


def test_progress_bar_on_a_terminal_counts_and_estimates(
    fleet: tuple[Path, list[FleetServer]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from rich.console import Console

    import certgate.cli.fleet as fleet_cli

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=200)
    monkeypatch.setattr(fleet_cli, "err_console", lambda: terminal)
    folder, _ = fleet
    code, _, _ = run(capsys, str(folder / "srv-0000*"), "--workers", "2", "--jsonl")
    drawn = screen.getvalue()
    assert code in (0, 1)
    assert "diagnosing" in drawn and "10/10" in drawn and "ETA" in drawn
    assert "no-cause-found" in drawn  # counts per status
