"""sql/reports/*.sql: the DBA's reports, run by psql and by Python from the same file.

Every report runs through the real ``psql`` binary (``psql -X -v ON_ERROR_STOP=1 -v
name=value -f file``) and through the loader with the same parameters; the rows must be
the same, value for value, as the server's text. Then known answers on the small school
of tests/test_analytics.py, and the ``tracker report`` command.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from school import ANA, BEN, C1, C2, CY, DEE, FAY

import tracker
from tracker import analytics, sample, sync
from tracker.cli import main
from tracker.sqlfiles import sql

REPORTS_DIR = tracker.SQL_DIR / "reports"
REPORTS = sorted(p.stem for p in REPORTS_DIR.glob("*.sql"))

pytestmark = [
    pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not on PATH"),
    pytest.mark.pooler,  # runs through PgBouncer too (.ci/run)
]


def psql(url: str, report: str, **variables: Any) -> list[list[str]]:
    """The rows psql prints (CSV, header dropped) for ``sql/reports/<report>.sql``."""
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-d", url]
    for name, value in variables.items():
        args += ["-v", f"{name}={'' if value is None else value}"]
    args += ["-f", str(REPORTS_DIR / f"{report}.sql")]
    done = subprocess.run(args, capture_output=True, text=True, check=False,
                          env={**os.environ, "PGCLIENTENCODING": "UTF8"})
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    return rows[1:]


def python_text(conn: psycopg.Connection[Any], report: str, **params: Any) -> list[list[str]]:
    """The rows of the same statement through the loader, each value as the server's text."""
    cur = getattr(sql.reports, report)(conn, **params)
    result = cur.pgresult
    assert result is not None
    return [["" if (v := result.get_value(r, c)) is None else v.decode()
             for c in range(result.nfields)] for r in range(result.ntuples)]


@pytest.fixture
def sample_school(conn, tmp_path) -> dict[str, int]:
    """A synced sample school (edge cases included) with two syncs of history and the risk
    assessments the syncs stored; returns a course, one of its active students, a second
    course, an assignment of the first course and the first sync."""
    size = dict(students=40, courses=4, assignments_per_course=8, courses_per_student=2)
    first = sample.generate(tmp_path / "r0", **size)
    first_sync = sync.sync_bundle(conn, first.directory)
    later = sample.generate(tmp_path / "r1", revision=1, changed_fraction=0.2, **size)
    write_grade_changes(conn, later.directory)
    sync.sync_bundle(conn, later.directory)
    course_id, user_id = conn.execute(
        "SELECT e.course_id, e.user_id FROM canvas.enrollments AS e "
        "JOIN history.enrollment_grades AS h ON h.enrollment_id = e.id "
        "WHERE e.type = 'StudentEnrollment' AND e.enrollment_state = 'active' "
        "GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2 LIMIT 1").fetchone()
    other = conn.execute("SELECT max(id) FROM canvas.courses").fetchone()[0]  # the edge course
    assignment_id = conn.execute("SELECT min(assignment_id) FROM history.submission_scores "
                                 "WHERE course_id = %s", (course_id,)).fetchone()[0]
    conn.commit()
    return {"course_id": course_id, "user_id": user_id, "other_course_id": other,
            "assignment_id": assignment_id, "first_sync_id": first_sync.sync_id}


def write_grade_changes(conn: psycopg.Connection[Any], directory: Path) -> None:
    """Beside the bundle's kinds, the Grade Change Log of some stored submissions: a
    teacher's change, an autograder's, an anonymous one and a final-grade override."""
    found = conn.execute(
        "SELECT s.course_id, s.assignment_id, s.user_id FROM canvas.submissions AS s "
        "JOIN canvas.active_students AS e ON e.user_id = s.user_id AND e.course_id = s.course_id "
        "ORDER BY s.id LIMIT 4").fetchall()
    events = [
        {"id": f"gc-{n}", "created_at": f"2026-10-1{n}T08:00:00Z", "event_type": "grade_change",
         "grade_before": "7", "grade_after": "8", "excused_before": False, "excused_after": n == 2,
         "graded_anonymously": n == 3, "version_number": n,
         "links": {"course": course, "assignment": "override" if n == 4 else assignment,
                   "student": None if n == 3 else student, "grader": -5 if n == 1 else 1}}
        for n, (course, assignment, student) in enumerate(found, start=1)]
    (directory / "grade_changes.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_every_report_gives_psql_and_python_the_same_rows(conn, db_url, sample_school):
    s = sample_school
    seen_rows = set()
    for report in REPORTS:
        takes = getattr(sql.reports, report).params
        everything = dict.fromkeys(("course_id", "user_id", "assignment_id", "since_sync_id",
                                    "min_group"))
        choices = [
            everything,
            {**everything, "course_id": s["course_id"]},
            {**everything, "course_id": s["other_course_id"]},
            {**everything, "user_id": s["user_id"]},
            {**everything, "course_id": s["course_id"], "user_id": s["user_id"]},
            {**everything, "assignment_id": s["assignment_id"]},
            {**everything, "since_sync_id": s["first_sync_id"]},
        ]
        for choice in choices:
            params = {name: choice[name] for name in takes}
            by_psql = psql(db_url, report, **params)
            by_python = python_text(conn, report, **params)
            assert by_psql == by_python, (report, params)
            if by_python:
                seen_rows.add(report)
    assert seen_rows == set(REPORTS)  # every report found something to compare


def test_at_risk_and_grade_momentum_agree_on_every_students_trend(conn, sample_school):
    momentum = {(r["user_id"], r["course_id"]): (r["slope_per_week"], r["r2"], r["trend"],
                                                 r["points"])
                for r in analytics.run_report(conn, "grade_momentum").rows}
    risk = {(r["user_id"], r["course_id"]): (r["slope_per_week"], r["r2"], r["trend"],
                                             r["momentum_points"])
            for r in analytics.run_report(conn, "at_risk_students").rows}
    assert risk == momentum
    assert {trend for _, _, trend, _ in risk.values()} == {"steady", "declining", "improving"}


def test_after_each_sync_the_stored_risk_is_a_fresh_assessment(conn, sample_school):
    # What latest_risk reads back is what at_risk_students computes afresh, for every
    # student of every course: the syncs left nothing stale to append.
    assert analytics.record_risk_assessments(conn) == 0
    latest = {(r["user_id"], r["course_id"]): r
              for r in analytics.run_report(conn, "latest_risk").rows}
    fresh = {(r["user_id"], r["course_id"]): r
             for r in analytics.run_report(conn, "at_risk_students").rows}
    assert len(fresh) > 40 and latest.keys() == fresh.keys()
    shared = set(next(iter(latest.values()))) & set(next(iter(fresh.values())))
    assert {"risk_score", "reasons", "current_score", "slope_per_week", "due"} < shared
    assert ({k: {c: r[c] for c in shared} for k, r in latest.items()}
            == {k: {c: r[c] for c in shared} for k, r in fresh.items()})


def test_the_latest_course_snapshots_hold_the_course_statistics(conn, sample_school, monkeypatch):
    monkeypatch.setenv("TRACKER_MIN_GROUP", "1")  # the snapshots are not suppressed
    courses = [r["course_id"] for r in analytics.run_report(conn, "course_statistics").rows]
    assert analytics.record_course_snapshots(conn, None, courses) == 0  # the syncs took them
    for stats in analytics.course_statistics(conn):
        snapshot = analytics.course_snapshots(conn, stats.course_id)[-1]
        assert (snapshot.enrolled_students, snapshot.mean_score, snapshot.median_score,
                snapshot.missing_rate, snapshot.score_distribution) == (
            stats.enrolled, stats.mean_score, stats.median_score, stats.missing_rate,
            stats.score_distribution)


def test_the_at_risk_report_runs_as_the_dba_types_it(db_url, conn, sample_school):
    # The command of DESIGN.md, verbatim but for the course id and the database.
    done = subprocess.run(
        ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-v",
         f"course_id={sample_school['course_id']}", "-f",
         str(REPORTS_DIR / "at_risk_students.sql")],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "risk_score" in done.stdout and "category" in done.stdout


def test_an_unset_psql_variable_fails_loudly(db_url):
    done = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", db_url, "-f",
                           str(REPORTS_DIR / "missing_work.sql")],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "syntax error" in done.stderr


def test_every_report_header_names_its_psql_variables():
    for report in REPORTS:
        header = (REPORTS_DIR / f"{report}.sql").read_text().split("-- name:")[0]
        for param in getattr(sql.reports, report).params:
            assert f"-v {param}=" in header, (report, param)
        assert f"-f sql/reports/{report}.sql" in header, report


# -- known answers on the small school -----------------------------------------------------------


def rows(conn: psycopg.Connection[Any], report: str, **params: Any) -> list[dict[str, Any]]:
    return list(analytics.run_report(conn, report, **params).rows)


def test_missing_work_lists_missing_submissions_of_active_students_only(conn, synced_school):
    found = rows(conn, "missing_work")
    # Eve (inactive) and the test student also have missing work: left out.
    assert [(r["user_id"], r["course_id"], r["assignment"]) for r in found] == [
        (ANA, C1, "Assignment 105")]
    assert rows(conn, "missing_work", user_id=BEN) == []


def test_student_progress_history_shows_each_recorded_change(conn, synced_school, tmp_path):
    synced_school.find("enrollments", 1001)["grades"]["current_score"] = 58.5
    synced_school.sync(conn, tmp_path)
    history = rows(conn, "student_progress_history", user_id=ANA)
    assert [(r["course_id"], r["current_score"], r["change"]) for r in history] == [
        (C1, 62, None), (C1, 58.5, -3.5)]
    assert len(rows(conn, "student_progress_history", course_id=C2)) == 1  # Fay
    assert rows(conn, "student_progress_history", user_id=ANA, course_id=C2) == []


def test_latest_risk_shows_the_newest_assessment_per_student(conn, synced_school, tmp_path):
    # Each sync assesses the students of the courses it changed.
    assert [r["category"] for r in rows(conn, "latest_risk", user_id=BEN)] == ["low"]
    synced_school.find("enrollments", 1002)["grades"]["current_score"] = 40.0  # Ben slips
    synced_school.sync(conn, tmp_path)
    latest = rows(conn, "latest_risk", course_id=C1)
    assert [(r["user_id"], r["category"]) for r in latest] == [
        (ANA, "high"), (BEN, "medium"), (CY, "low"), (DEE, "low")]
    ben = latest[1]
    # 0.35 × min(1, (90 - 40) / 40) = 0.35
    assert (float(ben["risk_score"]), ben["model_version"]) == (0.35, "risk-v1")
    assert ben["reasons"] == ["current score 40.0%"]
    assert ben["sync_id"] == sync.list_runs(conn)[0].sync_id
    # The stored factors come out as the columns of the report that assesses afresh.
    fresh = next(r for r in rows(conn, "at_risk_students", course_id=C1) if r["user_id"] == BEN)
    shared = [c for c in ben if c in fresh]
    assert {"score_risk", "late_risk", "missing_ratio", "days_inactive", "trend", "due"} < set(shared)
    assert {c: ben[c] for c in shared} == {c: fresh[c] for c in shared}
    assert [r["user_id"] for r in rows(conn, "latest_risk", user_id=FAY)] == [FAY]
    # Ben slips further: his score's risk was already at its bound (0.35 × 1), so his
    # risk stays, but what the report shows of him must not lag behind.
    synced_school.find("enrollments", 1002)["grades"]["current_score"] = 38.0
    slipped = synced_school.sync(conn, tmp_path)
    ben = next(r for r in rows(conn, "latest_risk", course_id=C1) if r["user_id"] == BEN)
    assert (float(ben["risk_score"]), ben["sync_id"]) == (0.35, slipped.sync_id)
    assert (ben["current_score"], ben["reasons"]) == (38, ["current score 38.0%"])
    # An enrollment layer 0 marks missing leaves the report, as everywhere else.
    conn.execute("UPDATE lifecycle.objects SET status = 'missing', missing_since = now(), "
                 "missing_since_sync_id = first_seen_sync_id "
                 "WHERE kind = 'enrollment' AND id = 1002")
    assert [r["user_id"] for r in rows(conn, "latest_risk", course_id=C1)] == [ANA, CY, DEE]


def test_grade_momentum_report_carries_the_recent_points(conn, synced_school):
    (ana,) = rows(conn, "grade_momentum", course_id=C1, user_id=ANA)
    assert (ana["points"], float(ana["slope_per_week"]), ana["trend"]) == (4, -10.0, "declining")
    assert [p["percent"] for p in ana["recent"]] == [90.0, 80.0, 70.0, 60.0]


# -- the command ---------------------------------------------------------------------------------


def tracker_cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), prog_name="tracker")


def test_tracker_report_prints_rows_and_exits_1_on_findings(synced_school, conn, db_url, monkeypatch):
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    at_risk = tracker_cli("report", "at_risk_students", "--course", str(C1), "--format", "json")
    assert at_risk.exit_code == 1, at_risk.output  # Ana is at high risk
    found = json.loads(at_risk.output)
    assert [r["user_id"] for r in found] == [ANA, BEN, CY, DEE]
    assert found[0]["reasons"][0] == "current score 62.0%"

    monkeypatch.setenv("TRACKER_MIN_GROUP", "1")  # the tiny school's courses are small
    stats = tracker_cli("report", "course_statistics", "--format", "csv")
    assert stats.exit_code == 0, stats.output
    table = list(csv.DictReader(io.StringIO(stats.output)))
    assert [(r["course_id"], r["enrolled"]) for r in table] == [(str(C1), "4"), (str(C2), "1")]
    assert json.loads(table[0]["score_distribution"])["none"] == 1

    none = tracker_cli("report", "missing_work", "--student", str(BEN))
    assert none.exit_code == 0 and "(none)" in none.output
    # a script reading CSV gets the header even when no row matches
    header = tracker_cli("report", "missing_work", "--student", str(BEN), "--format", "csv")
    lines = header.output.splitlines()
    assert header.exit_code == 0 and len(lines) == 1 and lines[0].startswith("user_id,")


def test_tracker_report_refuses_bad_input_with_exit_2(synced_school, conn, db_url, monkeypatch):
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert tracker_cli("report", "no_such_report").exit_code == 2
    assert tracker_cli("report", "course_statistics", "--student", "3").exit_code == 2
    assert tracker_cli("report", "missing_work", "--course", "x").exit_code == 2
    assert tracker_cli("report", "missing_work", "--format", "xml").exit_code == 2


def test_predicted_final_lists_every_active_student_by_psql_and_by_the_command(
        synced_school, conn, db_url, monkeypatch):
    # Known answers (tests/test_analytics.py): Fay 74.75 in [66.75, 82.75] by the formula;
    # course 1: Ana 56.17, Cy 64.29, Ben 75, Dee 80, lowest first.
    conn.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    fay = tracker_cli("report", "predicted_final", "--course", str(C2), "--format", "json")
    assert fay.exit_code == 0, fay.output
    (row,) = json.loads(fay.output)
    assert {k: row[k] for k in ("user_id", "course_id", "predicted_score", "low", "high",
                                "method", "calibration_week")} == {
        "user_id": FAY, "course_id": C2, "predicted_score": 74.75, "low": 66.75,
        "high": 82.75, "method": "weighted-projection-v1", "calibration_week": None}
    algebra = tracker_cli("report", "predicted_final", "--course", str(C1), "--format", "csv")
    table = list(csv.DictReader(io.StringIO(algebra.output)))
    assert [(int(r["user_id"]), r["predicted_score"]) for r in table] == [
        (ANA, "56.17"), (CY, "64.29"), (BEN, "75.0"), (DEE, "80.0")]
    # The DBA's file gives the same rows, every course at once too.
    assert psql(db_url, "predicted_final", course_id=C1) == python_text(
        conn, "predicted_final", course_id=C1)
    everyone = psql(db_url, "predicted_final", course_id=None)
    assert sorted(int(r[0]) for r in everyone) == sorted([ANA, BEN, CY, DEE, FAY])
    # Calibrated, the same report says so.
    conn.execute("INSERT INTO history.projection_calibrations "
                 "(as_of_week, alpha, quantile, n, courses) VALUES (3, 0.05, 2, 40, 2)")
    conn.commit()
    (row,) = json.loads(tracker_cli("report", "predicted_final", "--course", str(C2),
                                    "--format", "json").output)
    # 74.75 ± 2 × √(0.5 × 10)
    assert (row["method"], row["calibration_week"], row["low"], row["high"]) == (
        "conformal", 3, 70.28, 79.22)
    assert tracker_cli("report", "predicted_final", "--student", str(FAY)).exit_code == 2


def test_report_files_hold_one_named_statement_each():
    for report in REPORTS:
        assert list(sql.file(Path("reports") / f"{report}.sql")) == [report]


def test_the_commands_help_names_every_report_and_the_reports_each_option_applies_to():
    text = " ".join(tracker_cli("report", "--help").output.split())
    assert all(f" {name} " in text for name in analytics.REPORTS)
    for option, param in (("--student", "user_id"), ("--assignment", "assignment_id"),
                          ("--since-sync", "since_sync_id")):
        listed = re.split(rf"{option} (?:applies )?to ", text, maxsplit=1)[1]
        named = set(re.split(r"[;.]", listed)[0].replace(" and ", ", ").split(", "))
        assert named == {n for n, takes in analytics.REPORTS.items() if param in takes}, option
    assert "Exit codes: 0 ok, 1 findings" in text and "2 bad input" in text
