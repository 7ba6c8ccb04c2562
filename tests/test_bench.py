"""bench: the harness runs end to end at the smoke scale and reports sound figures.

Correctness only: the run finishes at both shapes (many small courses, few large ones),
the JSON holds every measurement with its runs and each sync's slowest statements, the
floor and the peers load every submission, and an unchanged re-sync writes no row in
layers 0–2; each step reports its CPU (client and server), WAL and the sizes it left.
No assertion here is about time.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tracker
from bench import data, server
from bench.cli import main  # the editable install of the checkout provides bench/
from bench.data import cache_key
from bench.scales import SCALES, SHAPES
from tracker import bundle

LAYERS = ("lifecycle", "canvas", "history")

MEASUREMENTS = {
    "floor.full_rows", "floor.typed_columns", "tracker.first_sync", "tracker.resync_unchanged",
    "tracker.resync_changed", "tracker.undo", "tracker.first_sync_double",
    "peer.orm_merge.first_load", "peer.orm_merge.resync_changed",
    "peer.orm_bulk_insert.first_load", "peer.cd2_upsert.first_load",
    "peer.cd2_upsert.resync_changed", "peer.dap_merge.first_load",
    "peer.dap_merge.resync_changed",
}


#: The steps of a sync whose slowest statements are reported.
SYNC_STEPS = ("tracker.first_sync", "tracker.resync_unchanged", "tracker.resync_changed",
              "tracker.undo")


@pytest.fixture(scope="module")
def smoke_run(pg: Any, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[dict[str, Any], str]]:
    """One smoke run of both shapes on the test server: its JSON and what it printed."""
    pytest.importorskip("sqlalchemy", reason="the peers need: pip install -e '.[bench]'")
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    result = CliRunner().invoke(main, [
        "--scale", "smoke", "--shape", "both", "--repeat", "1", "--database-url", pg.admin_url,
        "--cache-dir", str(tmp / "cache"), "--json", str(out), "--peer-rows", "300",
        "--query-runs", "1", "--memory-check", "--markdown"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    yield json.loads(out.read_text()), result.output


@pytest.fixture(scope="module")
def everything(smoke_run: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """The smoke run's JSON: what the shapes share, and ``runs``, one a shape."""
    return smoke_run[0]


@pytest.fixture(params=SHAPES)
def smoke(request: pytest.FixtureRequest, everything: dict[str, Any]) -> dict[str, Any]:
    """The smoke run's results at one shape (each test runs at both)."""
    return {run["shape"]: run for run in everything["runs"]}[request.param]


def by_key(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["key"]: m for m in results["measurements"]}


def test_every_measurement_is_reported_with_its_runs_and_ratios(smoke: dict[str, Any]) -> None:
    measurements = by_key(smoke)
    assert set(measurements) == MEASUREMENTS
    for key, m in measurements.items():
        assert m["runs"] == len(m["seconds"]) == 1
        assert m["median_seconds"] > 0 and m["rows"] > 0 and m["peak_mb"] > 0
        on_floor_data = key != "tracker.first_sync_double"  # another bundle: no ratio
        assert (m["ratio_to_floor"] is not None) == on_floor_data, key
        assert (m["ratio_to_floor_typed"] is not None) == on_floor_data, key
    assert measurements["floor.full_rows"]["ratio_to_floor"] == 1.0
    assert measurements["floor.typed_columns"]["ratio_to_floor_typed"] == 1.0


def test_the_json_records_the_machine_the_scale_and_the_command(
        everything: dict[str, Any], smoke: dict[str, Any]) -> None:
    assert everything["format"] == 3
    assert {"cores", "memory_gb", "postgresql", "python", "commit"} <= set(everything["machine"])
    assert everything["machine"]["postgresql"].startswith("PostgreSQL ")
    assert smoke["scale"]["name"] == "smoke"
    assert smoke["scale"]["shape"] == smoke["shape"]
    assert smoke["bundle"]["records"]["submissions"] > 0


def test_both_shapes_hold_the_same_submissions_in_courses_of_other_sizes(
        everything: dict[str, Any]) -> None:
    wide, tall = everything["runs"]
    assert (wide["shape"], tall["shape"]) == SHAPES
    assert wide["bundle"]["records"]["submissions"] == tall["bundle"]["records"]["submissions"]
    assert wide["bundle"]["records"]["courses"] > tall["bundle"]["records"]["courses"]
    assert (tall["scale"]["students"] // tall["scale"]["courses"]
            > wide["scale"]["students"] * wide["scale"]["courses_per_student"]
            // wide["scale"]["courses"])


@pytest.mark.parametrize("name", list(SCALES))
def test_a_tall_scale_has_the_wide_ones_submissions_and_a_bundle_of_its_own(name: str) -> None:
    wide, tall = SCALES[name], SCALES[name].shaped("tall")
    assert tall.submissions == wide.submissions
    assert tall.courses < wide.courses and tall.courses_per_student == 1
    assert cache_key(tall.generator_args) != cache_key(wide.generator_args)
    assert (wide.shaped("wide"), tall.shaped("tall")) == (wide, tall)
    with pytest.raises(ValueError, match="shaped already"):
        tall.shaped("wide")


def test_each_sync_step_names_its_slowest_statements(smoke: dict[str, Any]) -> None:
    measurements = by_key(smoke)
    for key in SYNC_STEPS:
        statements = measurements[key]["statements"]
        assert 0 < len(statements) <= 5, key
        assert all(s["name"].count(".") == 1 and s["ms"] >= 0 for s in statements), statements
        assert [s["ms"] for s in statements] == sorted((s["ms"] for s in statements),
                                                       reverse=True)
    assert all(not m["statements"] for m in measurements.values() if m["group"] != "tracker")


def test_the_tables_show_each_shapes_slowest_statements_and_the_shapes_side_by_side(
        smoke_run: tuple[dict[str, Any], str]) -> None:
    results, output = smoke_run
    for run in results["runs"]:
        title = f"smoke, {run['shape']}: the slowest statements of each step"
        assert title in output
        slowest = by_key(run)["tracker.first_sync"]["statements"][0]
        assert f"| first full sync | {slowest['name']} |" in output  # the Markdown table
    assert "smoke, the shapes side by side: targets" in output


def test_an_unchanged_resync_writes_nothing_in_layers_0_to_2(smoke: dict[str, Any]) -> None:
    unchanged = by_key(smoke)["tracker.resync_unchanged"]
    for layer in LAYERS:
        assert unchanged["changes"][layer] == {"inserted": 0, "updated": 0, "deleted": 0}, layer
    assert unchanged["written_layers_0_2"] == 0
    assert unchanged["table_changes"]["tracker.sync_runs"][0] == 1
    assert unchanged["info"]["changed"] == 0


def test_the_changed_resync_appends_the_changed_scores_and_grades(smoke: dict[str, Any]) -> None:
    changed = by_key(smoke)["tracker.resync_changed"]["table_changes"]
    bundle = smoke["bundle"]
    assert changed["history.submission_scores"][0] == bundle["revision_1_changed_submissions"] > 0
    assert changed["history.enrollment_grades"][0] == bundle["revision_1_changed_enrollments"]


def test_the_floor_loads_every_submission_the_first_sync_stored(smoke: dict[str, Any]) -> None:
    measurements = by_key(smoke)
    submissions = smoke["bundle"]["records"]["submissions"]
    assert measurements["floor.full_rows"]["table_changes"]["canvas.submissions"] == [
        submissions, 0, 0]
    assert measurements["floor.typed_columns"]["table_changes"]["bench.submissions_typed"] == [
        submissions, 0, 0]
    first = measurements["tracker.first_sync"]["table_changes"]["canvas.submissions"]
    assert first == [submissions, 0, 0]


def test_sampled_peers_are_marked_and_extrapolated(smoke: dict[str, Any]) -> None:
    submissions = smoke["bundle"]["records"]["submissions"]
    for key, m in by_key(smoke).items():
        if m["group"] != "peer":
            continue
        assert m["extrapolated"] and m["sample_rows"] == 300, key
        assert m["rows"] == submissions
        scale = submissions / 300
        # both are rounded to 0.1 ms in the JSON: the measured one's rounding, scaled
        assert m["seconds"][0] == pytest.approx(m["measured_seconds"][0] * scale,
                                                rel=1e-3, abs=0.5e-4 * scale + 0.5e-4)
    for peer in ("cd2_upsert", "dap_merge"):
        changed = by_key(smoke)[f"peer.{peer}.resync_changed"]["table_changes"]
        assert changed["canvas.submissions"] == [0, 300, 0], peer  # no change detection
        assert by_key(smoke)[f"peer.{peer}.first_load"]["table_changes"][
            "canvas.submissions"] == [300, 0, 0], peer
    assert any("extrapolated" in note for note in smoke["notes"])


def test_targets_are_checked(smoke: dict[str, Any]) -> None:
    names = {t["name"]: t for t in smoke["targets"]}
    assert names["re-sync unchanged writes nothing in layers 0–2"]["met"] is True
    assert names["peak memory flat when the bundle doubles"]["met"] in (True, False)
    assert all(t["met"] in (True, False, None) for t in smoke["targets"])
    for name in ("each query builder, p95", "at-risk students of one course, p95",
                 "at-risk students of every course, as the last sync assessed them, p95",
                 "at-risk students of every course, assessed afresh, p95"):
        assert names[name]["met"] in (True, False), name  # measured, whatever the machine


def _reads_its_servers_proc(pg: Any) -> bool:
    """Whether the bench can see the test server's backends in this machine's /proc."""
    return (Path("/proc/self/stat").is_file() and server.is_local(pg.admin_url)
            and pg.name != "testcontainers (Docker)")


def test_every_step_reports_its_cpu_and_wal(smoke: dict[str, Any], pg: Any) -> None:
    for key, m in by_key(smoke).items():
        assert m["client_cpu_seconds"] >= 0 and m["wal_bytes"] >= 0, key
        assert m["client_busy"] == pytest.approx(m["client_cpu_seconds"]
                                                 / m["median_seconds"], abs=1e-3), key
        if _reads_its_servers_proc(pg):
            assert m["server_cpu_seconds"] >= 0, key
        else:
            assert m["server_cpu_seconds"] is None or m["server_cpu_seconds"] >= 0, key
    measurements = by_key(smoke)
    for key in ("tracker.first_sync", "floor.full_rows", "floor.typed_columns",
                "peer.dap_merge.first_load", "peer.cd2_upsert.first_load"):
        assert measurements[key]["wal_bytes"] > 0, key  # loading rows is logged
    first = measurements["tracker.first_sync"]
    assert first["wal_bytes"] > measurements["tracker.resync_unchanged"]["wal_bytes"]
    assert "client_cpu_seconds" not in first["info"]  # said once, beside the server's


def test_every_step_reports_the_sizes_it_left(smoke: dict[str, Any]) -> None:
    submissions = smoke["bundle"]["records"]["submissions"]
    for key, m in by_key(smoke).items():
        sizes = m["sizes"]
        for schema in ("canvas", "history", "lifecycle", "tracker"):
            assert sizes[schema][0] > 0 and sizes[schema][1] > 0, (key, schema)
        tables = [sizes[t] for t in sizes if t.startswith("canvas.")]
        rounding = len(tables) if m["extrapolated"] else 0  # each extrapolated on its own
        assert sum(t[0] for t in tables) == pytest.approx(sizes["canvas"][0], abs=rounding)
        assert sum(t[1] for t in tables) == pytest.approx(sizes["canvas"][1], abs=rounding)
    measurements = by_key(smoke)
    synced = measurements["tracker.first_sync"]["sizes"]["canvas.submissions"]
    floor = measurements["floor.full_rows"]["sizes"]["canvas.submissions"]
    assert synced[0] >= submissions * 100 and floor[0] >= submissions * 100  # raw included
    typed = measurements["floor.typed_columns"]["sizes"]["bench.submissions_typed"]
    assert 0 < typed[0] < floor[0]


def test_the_cost_tables_show_cpu_wal_and_sizes(smoke_run: tuple[dict[str, Any], str]) -> None:
    results, output = smoke_run
    for run in results["runs"]:
        for title in ("what each step cost beyond its time", "sizes after each step"):
            assert f"**smoke, {run['shape']}: {title}" in output  # the Markdown tables
    assert "| method | client CPU s | server CPU s | client busy | WAL | WAL a row |" in output
    assert "| DAP-style COPY and merge: first load (~ from 300 rows) |" in output
    first = by_key(results["runs"][0])["tracker.first_sync"]
    assert f"| tracker: first full sync | {first['client_cpu_seconds']:,.2f} |" in output


def test_the_cost_targets_are_checked(smoke: dict[str, Any], pg: Any) -> None:
    names = {t["name"]: t for t in smoke["targets"]}
    for name in ("re-sync unchanged: WAL", "re-sync, 1% changed: WAL",
                 "first full sync: the client busy"):
        assert names[name]["met"] in (True, False), name  # measured, whatever the outcome
    reported = names["client and server CPU reported for every step"]
    assert reported["met"] is (True if _reads_its_servers_proc(pg) else reported["met"])


def test_a_backends_cpu_is_read_only_from_its_own_proc_entry() -> None:
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime ")) if Path("/proc/stat").is_file() else 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    line = ("4242 (postgres) S 1 4242 4242 0 -1 4194368 481 0 2 0 " + f"{3 * ticks} {ticks} "
            + "0 0 20 0 1 0 " + f"{100 * ticks}" + " 224448512 3935")
    if Path("/proc/stat").is_file():
        assert server.cpu_of_stat(line, boot + 100) == 4.0  # utime 3 s + stime 1 s
        assert server.cpu_of_stat(line, boot + 200) is None  # another process of that pid
    assert server.cpu_of_stat(line.replace("(postgres)", "(python3)"), boot + 100) is None
    assert server.backend_cpu_seconds(os.getpid(), boot) is None  # not PostgreSQL
    assert not server.is_local("postgresql://u@db.example.com/x")
    assert server.is_local("postgresql://u@127.0.0.1:5432/x")
    assert server.is_local("postgresql:///x?host=/var/run/postgresql")


def test_a_cached_bundle_holds_no_file_a_sync_would_warn_of(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The bench's own summary of a bundle lies beside the bundle's folder, not in it."""
    args = {"students": 6, "courses": 2, "assignments_per_course": 2, "courses_per_student": 1}
    with caplog.at_level(logging.WARNING, logger="tracker.bundle"):
        made = data.sample_bundle(tmp_path, args, revision=0)
        cached = data.sample_bundle(tmp_path, args, revision=0)
        files = bundle.find_files(made.path)
    assert made.generated_seconds is not None and cached.generated_seconds is None
    assert (cached.path, cached.counts) == (made.path, made.counts)
    assert files and not [r for r in caplog.records if "not a bundle file" in r.getMessage()]
    assert sorted(p.name for p in made.path.parent.iterdir()) == ["revision-0",
                                                                  "revision-0.json"]


def test_queries_are_timed_once_cold_then_warm(smoke: dict[str, Any]) -> None:
    timings = {q["name"]: q for q in smoke["queries"]}
    everyone, one = timings["at_risk_students (everyone)"], timings["at_risk_students"]
    assert everyone["rows"] > one["rows"] > 0
    # the syncs stored an assessment of every student the report assesses afresh
    assert timings["latest_risk (everyone)"]["rows"] == everyone["rows"]
    assert timings["student_card"]["rows"] > 0  # the card of an active student has a course
    assert timings["course_statistics"]["rows"] > 0  # its min_group is known
    for q in timings.values():
        assert q["runs"] == 1 and q["first_ms"] > 0 and 0 < q["p50_ms"] <= q["p95_ms"], q


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="Linux's /proc")
def test_a_step_reports_its_own_peak_memory_not_its_parents() -> None:
    ballast = bytearray(300 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched, so resident
    done = subprocess.run([sys.executable, "-c", "from bench.child import own_peak_kb; "
                           "print(own_peak_kb())"], capture_output=True, text=True, check=True,
                          cwd=tracker.ROOT)
    assert 0 < int(done.stdout) < 100 * 1024  # a bare interpreter, not 300 MB
    del ballast


def test_tracker_bench_hands_its_arguments_to_the_benchmark() -> None:
    from tracker.cli import main as tracker_main

    result = CliRunner().invoke(tracker_main, ["bench", "--help"])
    assert result.exit_code == 0, result.output
    assert "--scale" in result.output and "tracker bench" in result.output


def test_tracker_bench_says_how_to_install_the_benchmark_when_it_is_not(monkeypatch) -> None:
    from tracker.cli import bench
    from tracker.cli import main as tracker_main

    monkeypatch.setattr(bench, "entry_points", lambda **_: [])
    result = CliRunner().invoke(tracker_main, ["bench", "--help"])
    assert result.exit_code == 2
    assert "pip install -e '.[bench]'" in result.output


def test_an_unknown_scale_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--scale", "enormous", "--json", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert "enormous" in result.output


# -- the live step -------------------------------------------------------------------------------

LIVE_RUNS = ("live.full", "live.incremental_unchanged", "live.incremental_changed")


@pytest.fixture(scope="module")
def live_run(pg: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of the live step alone (``--live``), both shapes at smoke, no delay."""
    tmp = tmp_path_factory.mktemp("bench-live")
    out = tmp / "results.json"
    result = CliRunner().invoke(main, [
        "--live", "--scale", "smoke", "--shape", "both", "--live-delay", "0",
        "--database-url", pg.admin_url, "--cache-dir", str(tmp / "cache"), "--json", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "live syncs from the Canvas-like server (0 ms a request)" in result.output
    return json.loads(out.read_text())


@pytest.mark.parametrize("shape", SHAPES)
def test_the_live_step_alone_runs_its_three_syncs_and_counts_the_servers_requests(
        live_run: dict[str, Any], shape: str) -> None:
    results = {run["shape"]: run for run in live_run["runs"]}[shape]
    measurements = by_key(results)
    assert set(measurements) == set(LIVE_RUNS)  # nothing but the live step
    courses = results["bundle"]["records"]["courses"]
    for key in LIVE_RUNS:
        info = measurements[key]["info"]
        assert measurements[key]["group"] == "live" and measurements[key]["peak_mb"] > 0
        assert info["requests"] == sum(info["endpoints"].values()) > 0
        assert info["endpoints"]["courses/:id/students/submissions"] >= courses
        assert info["max_in_flight"] >= 1 and info["throttled"] == 0
        assert info["delay"] == 0
    first = measurements["live.full"]["table_changes"]["canvas.submissions"]
    assert first == [results["bundle"]["records"]["submissions"], 0, 0]
    assert measurements["live.incremental_unchanged"]["written_layers_0_2"] == 0
    changed = measurements["live.incremental_changed"]
    assert changed["info"]["score_mismatches"] == 0
    assert (changed["table_changes"]["history.submission_scores"][0]
            == results["bundle"]["revision_1_changed_submissions"])


def test_the_live_step_checks_the_live_sync_issues_targets(live_run: dict[str, Any]) -> None:
    for results in live_run["runs"]:
        targets = {t["name"]: t for t in results["targets"]}
        assert len(targets) == 7  # the live step's only
        assert targets["live incremental sync after revision 1: every regraded score lands"][
            "met"] is True
        assert targets["live full sync, throttled answers"]["met"] is True
        # no delay: there is no ceiling to be faster than
        assert targets["live full sync, speed-up over one request at a time"]["met"] is None
