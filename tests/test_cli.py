"""The command line's guards, shared by every command: ids, counts, output files, the
database URL, the statement timeout and errors the server raises. Bad input is a clear
message and an exit code, never a traceback; nothing is written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from bundles import (
    ALGEBRA,
    BIOLOGY,
    live_institution,
    serve_institution,
    tiny_institution,
    write_bundle,
)
from canvas_server import CanvasServer
from command_line import tracker  # tests/ is on sys.path (rootdir conftest, no package)

pytestmark = pytest.mark.pooler  # runs through PgBouncer too (.ci/run)

TOO_BIG = "9" * 20  # over PostgreSQL's bigint


@pytest.mark.parametrize("args", [
    ["report", "at_risk_students", "--course", TOO_BIG],
    ["report", "at_risk_students", "--course", "-5"],
    ["notes", "show", TOO_BIG],
    ["notes", "list", "--before", TOO_BIG],
    ["notes", "list", "--limit", "-1"],
    ["sync", "undo", TOO_BIG, "--yes"],
    ["sync", "list", "--limit", "-1"],
    ["sync", "--bundle", ".", "--course", "0"],
    ["curricula", "add", "web_dev", TOO_BIG],
    ["lifecycle", "restore", TOO_BIG],
    ["lifecycle", "cleanups", "--limit", "-3"],
    ["check", "--examples", TOO_BIG],
    ["tags", "suggest", "user:1", "--limit", "-1"],
])
def test_an_id_or_count_out_of_range_is_a_usage_error_naming_the_option(migrated_db, args):
    result = tracker(*args)
    assert result.exit_code == 2, result.output
    assert "Invalid value for" in result.output and "is not in the range" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("subject", ["course:" + TOO_BIG, "course:-5", "planet:3", TOO_BIG])
def test_an_object_that_cannot_exist_is_refused_before_the_database(migrated_db, subject):
    result = tracker("lifecycle", "impact", subject)
    assert result.exit_code == 2, result.output
    assert f"error: {subject!r} does not name an object" in result.output


@pytest.mark.parametrize("command", [["notes", "export"], ["tags", "export"]])
def test_an_output_file_that_cannot_be_written_is_a_usage_error(migrated_db, tmp_path, command):
    out = tmp_path / "no" / "such" / "folder.csv"
    result = tracker(*command, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--out': cannot write {out}: No such file" in result.output


@pytest.mark.parametrize("url", ["not a url", "host=/nowhere port=abc"])
def test_a_database_url_libpq_cannot_read_is_a_configuration_error(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    result = tracker("sync", "list")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: cannot connect to ")
    assert "Check that the server runs and the URL (DATABASE_URL) is right." in result.output


@pytest.mark.direct("sends a session setting in the startup packet (options)")
def test_a_statement_timeout_must_be_a_duration_not_more_options(migrated_db, monkeypatch):
    monkeypatch.setenv("TRACKER_STATEMENT_TIMEOUT", "30s -c default_transaction_read_only=on")
    result = tracker("notes", "add", "user:1", "hello")
    assert result.exit_code == 2, result.output
    assert "TRACKER_STATEMENT_TIMEOUT='30s -c default_transaction_read_only=on' is not a " \
           "duration" in result.output
    monkeypatch.setenv("TRACKER_STATEMENT_TIMEOUT", "30s")
    assert tracker("sync", "list").exit_code == 0


@pytest.mark.direct("sends a session setting in the startup packet (options)")
def test_an_error_the_server_raises_is_a_message_and_exit_1(db_url, monkeypatch):
    # A read-only session: the server refuses a write tracker did not expect it to.
    monkeypatch.setenv("DATABASE_URL", db_url + (
        "&" if "?" in db_url else "?") + "options=-c%20default_transaction_read_only%3Don")
    result = tracker("curricula", "create", "web_dev")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: the database refused (25006): ")
    assert "read-only transaction" in result.output and "Traceback" not in result.output


@pytest.mark.direct("TRACKER_STATEMENT_TIMEOUT is not sent through a transaction pooler")
def test_a_sync_the_server_stops_is_one_line_naming_the_statement_and_exit_1(
        migrated_db, monkeypatch, tmp_path: Path):
    path = write_bundle(tmp_path / "bundle", tiny_institution())
    monkeypatch.setenv("TRACKER_STATEMENT_TIMEOUT", "300ms")
    with psycopg.connect(migrated_db) as blocker:  # a reader holding the submissions
        blocker.execute("LOCK TABLE canvas.submissions IN SHARE MODE")
        result = tracker("sync", "--bundle", str(path))
    assert result.exit_code == 1, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: the sync of courses {ALGEBRA}, {BIOLOGY} failed in "
                           "canvas.update_submissions (sql/canvas/write.sql:"), line
    assert "canceling statement due to statement timeout. Nothing of it was kept" in line


def test_the_demo_names_its_own_options(tmp_path: Path):
    result = tracker("demo", "--courses", "2")
    assert result.exit_code == 2
    assert "Invalid value for '--courses': 2 is not in the range 4<=x<=10000" in result.output


@pytest.mark.parametrize(("args", "says"), [
    (["--bundle", ".", "--account", "1"], "--account and --term choose courses of a live Canvas"),
    (["--canvas-url", "http://canvas.test", "--course", "1", "--account", "2"],
     "name courses with --course or an account with --account, not both"),
    (["--canvas-url", "http://canvas.test", "--term", "3"], "--term needs --account"),
    (["--bundle", ".", "--resume"], "--resume continues an interrupted fetch from --canvas-url"),
    (["--canvas-url", "http://canvas.test", "--account", "1", "--concurrency", "0"],
     "Invalid value for '--concurrency': 0 is not in the range 1<=x<=32"),
])
def test_sync_options_that_do_not_go_together_are_a_usage_error(args, says):
    result = tracker("sync", *args)
    assert result.exit_code == 2 and says in result.output, result.output


def test_a_live_sync_reports_its_fetch_and_never_prints_the_token(migrated_db, monkeypatch):
    token = "7~CliLiveSecretToken"
    data = live_institution()
    monkeypatch.setenv("CANVAS_API_TOKEN", token)
    with CanvasServer(token) as server:
        serve_institution(server, data)
        result = tracker("-v", "sync", "--canvas-url", server.base_url, "--course",
                         str(ALGEBRA), "--course", str(BIOLOGY), "--concurrency", "3", "--json")
        listed = tracker("sync", "list", "--format", "json")
        table = tracker("sync", "--canvas-url", server.base_url, "--course", str(ALGEBRA),
                        "--incremental")

    assert result.exit_code == 0, result.output
    fetch = json.loads(result.stdout)["fetch"]
    assert fetch["courses"] == 2 and 1 <= fetch["max_in_flight"] <= 3
    assert fetch["requests"] >= 2 * 6 and fetch["throttled"] == 0
    assert fetch["concurrency"] == 3
    assert table.exit_code == 0, table.output
    assert "fetched 1 course(s) in" in table.stdout and "1 since their last live sync" in table.stdout
    assert [run["kind"] for run in json.loads(listed.stdout)] == ["full"]
    for output in (result.output, listed.output, table.output):
        assert token not in output


def test_a_live_sync_interrupted_mid_fetch_resumes_with_only_the_rest(
    migrated_db, tmp_path, monkeypatch
):
    token = "7~CliResumeSecretToken"
    data = live_institution()
    monkeypatch.setenv("CANVAS_API_TOKEN", token)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # where the fetch waits
    late = f"/api/v1/courses/{BIOLOGY}/students/submissions"  # one worker: the last list
    with CanvasServer(token) as server:
        serve_institution(server, data)
        server.slow(late, 2.0)
        args = ["sync", "--canvas-url", server.base_url, "--course", str(ALGEBRA),
                "--course", str(BIOLOGY), "--concurrency", "1"]
        # Ctrl-C as on a terminal: a shell's background job (CI) starts with SIGINT ignored.
        killed = subprocess.Popen([sys.executable, "-c", "from tracker.cli import main; main()",
                                   *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=os.environ.copy(),
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 30
        while late not in server.answering:
            assert time.monotonic() < deadline and killed.poll() is None, killed.communicate()
            time.sleep(0.05)
        killed.send_signal(signal.SIGINT)
        _, err = killed.communicate(timeout=30)
        assert killed.returncode != 0
        assert "1 of 2 courses were fetched" in err and "--resume" in err
        assert token not in err
        runs = tracker("sync", "list", "--format", "json")
        assert json.loads(runs.stdout) == []  # nothing reached the database

        server.slow(late, 0.0)
        server.hits.clear()
        resumed = tracker(*args, "--resume", "--json")
        asked = {h.path for h in server.hits}

    assert resumed.exit_code == 0, resumed.output
    assert not any(p.startswith(f"/api/v1/courses/{ALGEBRA}") for p in asked)
    assert late in asked
    report = json.loads(resumed.stdout)
    assert report["fetch"]["resumed"] == 1 and report["fetch"]["courses"] == 2
    assert report["counts"]["submissions"]["inserted"] == len(data["submissions"])


@pytest.mark.parametrize("args", [["lifecycle", "approve", "course:1"], ["check", "--fix"],
                                  ["notes", "add", "user:1", "hi"]])
def test_who_makes_a_change_cannot_be_empty(migrated_db, args):
    result = tracker(*args, "--by", "  ")
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--by': say who makes the change" in result.output


def test_the_demo_runs_the_main_loop_end_to_end(migrated_db):
    # README's first command: migrate, sync a school, change grades, sync, report.
    result = tracker("demo", "--students", "40", "--courses", "4")
    assert result.exit_code == 0, result.output
    out = result.output
    for step in ("1. a sample school: ", "2. a week later: ", "3. whose course grade moved",
                 "4. who is at risk", "5. ", "6. is the risk answer right? On the past term's"):
        assert step in out, out
    assert "predicted final score" in out or "no prediction:" in out
    assert "risk-v1 AUC 0." in out and "current score alone AUC 0." in out
